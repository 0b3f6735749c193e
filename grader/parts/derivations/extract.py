"""Where a student's answers are: the question regions of a course differentiation notebook and, in each, the
equations that give a derivative asked for.

A region runs from a question's heading to the next one: "## ex. 1" ... "## ex. 4" in the template (also "Ex 1",
"Exercise 1", "Задание 1", "Упражнение 1", "Task 1"), and ex4's "### Third approach" (or a heading naming the chain
rule, "цепное правило") starts the chain-rule part ex4c. The cells a student added or edited in between belong to
the region.

In a region, math is read where students write it: `$...$`, `$$...$$`, `\\[...\\]`, `\\(...\\)` and
`\\begin{equation|align|gather|multline}` in markdown cells (rows of an aligned block that start with `=` continue
the row above), and plain text in code and raw cells (`dy/dx = 2x`, `# dJ/dS = 2*A.T @ (A@S - X)`). An equation
gives an item's answer when one of its sides is that derivative (`\\frac{dy}{dx}`, `\\frac{\\partial y}{\\partial
x}`, `dy/dx`, `\\nabla_x y`, `\\frac{d}{dx} y`); the answer is the chain's last side. Everything here is text
processing only: nothing of the notebook is run.
"""
import re
from dataclasses import dataclass

from grader.parts.derivations import spans

HEADING = re.compile(r"^\s*(?:#+\s*)?(?:\*\*)?\s*(?:ex(?:ercise)?|задани[еяй]|упражнени[еяй]|task|задача|problem)"
                     r"\.?\s*(?:№\s*)?([1-4])(?![0-9])", re.IGNORECASE)
MAX_CELL = 100_000       # characters of a cell read (a pasted data dump must not stall the batch)
CHAIN_HEADING = re.compile(r"third\s+approach|chain[\s-]+rule|трет|цепн", re.IGNORECASE)

# Math delimiters, as the regular expressions $$(.+?)$$ | \[(.+?)\] | \begin{env}.+?\end{env} (display) and
# $(.+?)$ | \((.+?)\) (inline, after the display math is taken out) find them; read by spans.find in linear time.
_DISPLAY_OPEN = re.compile(r"\$\$|\\\[|\\begin\{(equation|align(?:ed)?|gather(?:ed)?|multline|eqnarray)\*?\}")
_INLINE_OPEN = re.compile(r"(?<![\\$])\$(?!\$)|\\\(")
_CLOSING = {"$$": re.compile(r"\$\$"), "\\[": re.compile(r"\\\]"), "$": re.compile(r"(?<!\\)\$"),
            "\\(": re.compile(r"\\\)")}
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{(?:equation|align|aligned|alignat|gather|gathered|multline|split|"
                          r"eqnarray|array)\*?\}(?:\{[^}]*\})?")
_MATRIX_OPEN = re.compile(r"\\begin\{([pbvBV]?matrix|smallmatrix|cases)\}")   # to its \end (spans.find)


@dataclass
class Region:
    question: str                 # ex1 ... ex4c
    cells: list                   # [(cell index, cell type, source)]


@dataclass
class Candidate:
    """One equation that gives an item's answer: `answer` is its last side, `equation` the whole, for the TA."""
    cell: int
    answer: str
    equation: str


def _first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def regions(cells):
    """[Region] in notebook order; cells are (type, source) pairs. A question met twice keeps both parts (a
    student who repeats the heading to continue). Empty when no heading is found."""
    found, current = [], None
    for index, (kind, source) in enumerate(cells):
        source = source[:MAX_CELL]
        line = _first_line(source) if kind == "markdown" else ""
        match = HEADING.match(line) if len(line) < 120 else None
        question = None
        if match:
            question = "ex4c" if match.group(1) == "4" and CHAIN_HEADING.search(line) else f"ex{match.group(1)}"
        elif current is not None and current.question in ("ex4", "ex4c") and kind == "markdown" \
                and line.startswith("#") and CHAIN_HEADING.search(line):
            question = "ex4c"
        elif current is not None and current.question == "ex4" and kind == "markdown" \
                and CHAIN_HEADING.search(source) and re.search(r"\\frac\s*\{\s*d\s*J\s*\}\s*\{\s*d\s*F", source):
            question = "ex4c"        # the template's chain-rule cell: heading and prompts in one cell
        if question is not None and (current is None or question != current.question):
            current = Region(question, [])
            found.append(current)
        if current is not None:
            current.cells.append((index, kind, source))
    return found


def math_rows(kind, source):
    """The rows of math in one cell, each an equation or expression as written (LaTeX or plain text)."""
    if kind != "markdown":   # code or raw: comments' marks dropped; LaTeX typed into a comment is read as LaTeX
        source = "\n".join(line.strip().lstrip("#").strip() for line in source.splitlines())
        if not _CODE_MATH.search(source):
            return _text_rows(source)
    bodies, rest = _math(source)
    rows = [row for math in bodies for row in _split_rows(math)]
    rows += [line for line in _text_rows(rest) if "/" in line or "nabla" in line]
    return rows


def _math(source):
    """(the math of a markdown text in order: display first, then inline; the text left once it is taken out). An
    environment is kept whole (its rows are split later), the other delimiters give their body."""
    display = spans.find(source, _DISPLAY_OPEN, _closing)
    bodies = [source[span[0]:span[1]] if span[2].group(1) else spans.body(source, span) for span in display]
    rest = spans.replace(source, display, lambda span: " ")
    inline = spans.find(rest, _INLINE_OPEN, _closing)
    bodies += [spans.body(rest, span) for span in inline]
    return bodies, spans.replace(rest, inline, lambda span: " ")


def _closing(opening):
    """(kind, closing pattern) of a math opening (spans.find): an environment's \\end of its own name."""
    environment = opening.group(1) if opening.re is _DISPLAY_OPEN else None
    if environment:
        return environment, re.compile(r"\\end\{" + environment + r"\*?\}")
    return opening.group(0), _CLOSING[opening.group(0)]


def _take_matrices(math):
    """(`math` with each matrix replaced by a placeholder @k@, {placeholder: the matrix's text})."""
    kept = {}

    def keep(span):
        kept[f"@{len(kept)}@"] = math[span[0]:span[1]]
        return f"@{len(kept) - 1}@"

    matrices = spans.find(math, _MATRIX_OPEN, lambda opening: (opening.group(1), re.compile(
        r"\\end\{" + re.escape(opening.group(1)) + r"\}")), least=0)
    return spans.replace(math, matrices, keep), kept


def _split_rows(math):
    """An aligned block's rows; a row that starts with `=` continues the row above. Matrices stay whole."""
    body, kept = _take_matrices(math)
    body = _ENVIRONMENT.sub(" ", body).replace("&", " ")
    rows = []
    for row in re.split(r"\\\\(?:\[[^\]]*\])?|\\newline", body):
        row = row.strip()
        if not row:
            continue
        if rows and (row.startswith("=") or rows[-1].rstrip().endswith("=")):
            rows[-1] += " " + row
        else:
            rows.append(row)
    for token, matrix in kept.items():
        rows = [row.replace(token, matrix) for row in rows]
    return rows


def _text_rows(source):
    """Plain text (a code or raw cell, or markdown outside math), line by line, Python spelling turned into the
    LaTeX the reader takes: `x.T` -> `x^T`, `@` -> a product, `np.dot` and other calls are left (not read)."""
    rows = []
    for line in source.splitlines():
        line = _ANSWER_WORD.sub("", line.strip().lstrip("#").strip())
        if "=" not in line or line.startswith(("import ", "from ", "def ", "return ", "print(")):
            continue
        line = re.sub(r"\.T\b", "^T", line).replace("@", "*").replace("**", "^")
        rows.append(line)
    return rows


_CODE_MATH = re.compile(r"\$|\\\[|\\begin\{")
# A word that opens a line of plain text before its equation ("# Answer: dy/dx = 2x", "Ответ: dy/dx = 2x")
_ANSWER_WORD = re.compile(r"^(?:answer|ответ|solution|решение|result|результат|итог)\w*\s*[:.)-]\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+|\\[,;:! ]|\\left|\\right|\\displaystyle")


def label_of(side):
    """(numerator, denominator) when `side` is a derivative written as a whole (`\\frac{dJ}{dS}`, `dJ/dS`,
    `\\frac{\\partial J}{\\partial S}`, `\\nabla_S J`, `\\frac{d}{dS} J`), else None."""
    s = _SPACE.sub("", side)
    s = re.sub(r"\\(?:partial|mathrm\{d\}|text\{d\}|operatorname\{d\}|mathrm\{\\partial\})", "d", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|mathit)\{([A-Za-z])\}", r"\1", s)
    s = s.rstrip(":")
    for pattern in (r"\\frac\{d([A-Za-z])\}\{d([A-Za-z])\}", r"\\fracd([A-Za-z])d([A-Za-z])",
                    r"\(?d([A-Za-z])\)?/\(?d([A-Za-z])\)?", r"\\frac\{d\}\{d(?P<d>[A-Za-z])\}\(?(?P<n>[A-Za-z])\)?",
                    r"\\nabla_\{?(?P<d>[A-Za-z])\}?(?P<n>[A-Za-z])",
                    r"\\frac\{d(?P<n>.{2,})\}\{d(?P<d>[A-Za-z])\}"):
        match = re.fullmatch(pattern, s)
        if match:
            if match.groupdict():
                numerator = match.group("n")
                return (function_text(numerator) if len(numerator) > 1 else numerator), match.group("d")
            return match.group(1), match.group(2)
    return None


def function_text(tex):
    """A written-out function in one spelling, to compare with the question's (`\\operatorname{tr}(A B)` and
    `tr(AB)` alike; `x^\\top x` and `x^Tx` alike; norms with `|`)."""
    s = _SPACE.sub("", tex)
    s = re.sub(r"\\(?:operatorname|mathrm|text|textrm)\{([Tt]r)\}|\\[Tt]r(?![a-zA-Z])", "tr", s)
    s = re.sub(r"\^\{?(?:\\top|\\intercal|T)\}?", "^T", s)
    s = re.sub(r"\\[lr]Vert|\\\||\\[lr]vert", "|", s).replace("||", "|")
    s = re.sub(r"_\{?[2F]\}?", "", s)
    return s.replace("{", "").replace("}", "").replace("[", "(").replace("]", ")")


def _sides(row):
    """The sides of an equation chain, split at `=` outside braces and parentheses."""
    sides, depth, start = [], 0, 0
    for i, char in enumerate(row):
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "=" and depth == 0 and row[i - 1:i] not in ("<", ">", "!", "\\"):
            sides.append(row[start:i])
            start = i + 1
    sides.append(row[start:])
    return [side.strip() for side in sides]


_CLAUSE = re.compile(r"\\(?:Rightarrow|Longrightarrow|implies|therefore|iff|Leftrightarrow)(?![a-zA-Z])"
                     r"|\\q?quad(?![a-zA-Z])|;|,\s|\\text\{\s*(?:and|и|где|where|then|so|тогда|значит)\s*\}")


def _clauses(row):
    """A row cut where a new statement starts (`\\Rightarrow`, `\\quad`, `;`, `, `, `\\text{and}`), outside braces
    and parentheses: `dy = 2x^T dx \\Rightarrow \\frac{dy}{dx} = 2x^T` holds two equations."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(row):
        char = row[i]
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif depth == 0:
            match = _CLAUSE.match(row, i)
            if match:
                pieces.append(row[start:i])
                start = i = match.end()
                continue
        i += 1
    pieces.append(row[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def candidates(region, item, expression_numerator=()):
    """[Candidate] for `item` (numerator, denominator) in `region`, in notebook order. A side that is the label
    followed by an empty side or `?` (the template's prompt) gives none. A derivative of the question's function
    written out (`\\frac{\\partial (x^T x)}{\\partial x}`) counts as the item's too when its text (function_text) is
    one of `expression_numerator`."""
    found = []
    for index, kind, source in region.cells:
        for row in math_rows(kind, source):
            for clause in _clauses(row):
                sides = _sides(clause)
                for side in sides[:-1]:
                    label = label_of(side)
                    if label == item or (label and label[1] == item[1] and label[0] in expression_numerator):
                        answer = sides[-1].strip().rstrip(" .,;")
                        if answer and answer.strip(" .?") and label_of(answer) is None:
                            found.append(Candidate(index, answer, clause.strip()))
                        break
    return found


def has_work(region, template_sources):
    """Whether the region holds anything of the student's: a cell that is neither empty nor the template's own,
    or an image (a photographed derivation)."""
    for _, _kind, source in region.cells:
        text = " ".join(source.split())
        if text and text not in template_sources:
            return True
    return False
