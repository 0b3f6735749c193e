"""The course template's own cells (yandexdataschool/Practical_DL `homework_differentiation.ipynb`, 2017 at
`homeworks/homework01_from_scratch/` @ 5ee9708, 2018-21 at `homework01/` @ 6330ec5; the two differ only in the
title), and the version of a differentiation notebook.

A cell whose text (whitespace collapsed) is one of these is the template's, not the student's work: a question whose
region holds only such cells (and empty ones) has no answer. Any other cell counts as work, so a template text we do
not know (a later wording) can only send a question to review, never to 0.

In the intake, below the parts that judge the answers (grader/parts/derivations/, course.py), because the intake too
reads a notebook's version off these cells: to find the differentiation notebook by its text (by_content.py).
"""
import re

from grader.selfcheck.versions import INDENT

KIT_IDS = frozenset({"helpers", "helpers-intro", "ex1-question", "ex1-answer", "ex1-check", "ex4-setup"})
# An answer function of the kit's (its name is no course's), defined or bound to a lambda (a copy without cell ids)
_KIT_ANSWER = re.compile(r"^" + INDENT + r"(?:def\s+(?:grad_xTx|grad_trAB_wrt_A|grad_xAc_wrt_x|grad_J_wrt_S_trace)\s*\(|"
                         r"(?:grad_xTx|grad_trAB_wrt_A|grad_xAc_wrt_x|grad_J_wrt_S_trace)\s*=\s*lambda\b)", re.M)
TITLES = {"2017": "# Home work 3: Differentiation", "2018-21": "# Homework 1: Differentiation"}

_CELLS = (
    "## ex. 1",
    "$$ \ny = x^Tx, \\quad x \\in \\mathbb{R}^N \n$$",
    "$$\n\\frac{dy}{dx} = \n$$",
    "## ex. 2",
    "$$ y = tr(AB) \\quad A,B \\in \\mathbb{R}^{N \\times N} $$",
    "$$\n\\frac{dy}{dA} =\n$$",
    "## ex. 3",
    "$$ \ny = x^TAc , \\quad A\\in \\mathbb{R}^{N \\times N}, x\\in \\mathbb{R}^{N}, c\\in \\mathbb{R}^{N} \n$$",
    "$$\n\\frac{dy}{dx} =\n$$",
    "$$\n\\frac{dy}{dA} =\n$$",
    "Hint for the latter (one of the ways): use *ex. 2* result and the fact \n$$\ntr(ABC) = tr (CAB)\n$$",
    "## ex. 4",
    "Classic matrix factorization example. Given matrix $X$ you need to find $A$, $S$ to approximate $X$. This can be "
    "done by simple gradient descent iteratively alternating $A$ and $S$ updates.\n$$\nJ = || X - AS ||_2^2  , "
    "\\quad A\\in \\mathbb{R}^{N \\times R} , \\quad S\\in \\mathbb{R}^{R \\times M}\n$$\n$$\n\\frac{dJ}{dS} = ? \n$$",
    "### First approach\nUsing ex.2 and the fact:\n$$\n|| X ||_2^2 = tr(XX^T) \n$$ \nit is easy to derive gradients "
    "(you can find it in one of the refs).",
    "### Second approach\nYou can use *slightly different techniques* if they suits you. Take a look at this "
    "derivation:\n<img src=\"grad.png\">\n(excerpt from [Handbook of blind source separation, Jutten, page 517]"
    "(https://books.google.ru/books?id=PTbj03bYH6kC&printsec=frontcover&dq=Handbook+of+Blind+Source+Separation&hl=en"
    "&sa=X&ved=0ahUKEwi-q_apiJDLAhULvXIKHVXJDWcQ6AEIHDAA#v=onepage&q=Handbook%20of%20Blind%20Source%20Separation&f="
    "false), open for better picture).",
    "### Third approach\nAnd finally we can use chain rule! **YOUR TURN** to do it.\nlet $ F = AS $ \n\n**Find**\n$$\n"
    "\\frac{dJ}{dF} =  \n$$ \nand \n$$\n\\frac{dF}{dS} =  \n$$ \n(the shape should be $ NM \\times RM )$.\n\nNow it is "
    "easy do get desired gradients:\n$$\n\\frac{dJ}{dS} =  \n$$",
)


def collapse(text):
    """Whitespace collapsed, for comparing a cell with the template's."""
    return " ".join(text.split())


SOURCES = frozenset(collapse(cell) for cell in _CELLS)
# the ||.||_2 -> ||.||_F edit of later years
SOURCES = SOURCES | frozenset(source.replace("||_2", "||_F") for source in SOURCES)


def cells_of(nb):
    """A notebook's (type, source, id) triples, what :func:`version` reads."""
    return [(c.get("cell_type", ""), c.get("source", ""), c.get("id")) for c in nb.get("cells", [])]


def version(cells):
    """The differentiation notebook's version from its text: "kit" (this kit's notebook: answer functions in
    cells with `-answer` ids), "2017", "2018-21", "course" (the course's questions without a known title), or None
    (neither). `cells` are (type, source, id) triples."""
    for kind, source, cell_id in cells:
        # any cell: an answer cell turned into markdown (a field case) still makes the notebook the kit's
        if _KIT_ANSWER.search(source) or str(cell_id or "") in KIT_IDS:
            return "kit"
    for kind, source, _ in cells:
        if kind == "markdown":
            first = collapse(source.splitlines()[0]) if source.strip() else ""
            for name, title in TITLES.items():
                if first.startswith(title):
                    return name
    return None
