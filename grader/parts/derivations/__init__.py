r"""The course's differentiation notebook (`homework_differentiation.ipynb`, answered in LaTeX), judged where it is
safe and sent to a TA's review where it is not.

    extract   where the answers are (question regions, equations labelled with a derivative)
    latex     an answer's LaTeX -> a SymPy matrix expression (SymPy's Lark LaTeX parser), or why not
    evaluate  the expression on random matrices, compared with the reference in the accepted layouts
    questions the course's questions and their references
    (grader/intake/templates.py: the course template's own cells, and a notebook's version)
    judge     the verdicts: pass / fail / review per question, with the keys that group equal answers

Entry point: :func:`judge_notebook`.

Why SymPy's Lark parser (`parse_latex(..., backend="lark")`, through its transformer hook) and not latex2sympy2:
measured on 24 real-looking answers before this was written, latex2sympy2 1.9.1 parsed 20 but read every
transpose away (`x c^T` -> `c*x`, `(Ac)^T` -> `A*c`, `B^T` -> `B`: commutative symbols, so `c^T A^T` equals `Ac` and
`B` equals `B^T`, which would pass wrong answers), pins antlr4-python3-runtime 4.7.2 (SymPy's own ANTLR backend
needs 4.11) and has had no release since 2023. SymPy's Lark grammar parsed 12 of 24 as is, also commutatively,
but its transformer is a documented extension point: with the question's letters as MatrixSymbols the products
keep their order and `^T` is a transpose; with the normaliser in front (explicit products, `\top`, `\operatorname{tr}`)
it reads the whole answer set of tests/derivations/answers.py but the index notation, sums and matrices written
out, which go to review. SymPy is maintained by its project and already a dependency of the scientific stack.
"""
from grader.parts.derivations.images import cell_images
from grader.parts.derivations.judge import QuestionVerdict, judge


def judge_notebook(nb):
    """(version, [QuestionVerdict]) for a notebook (an nbformat node or a dict with `cells`)."""
    cells, images = [], {}
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        cells.append((cell.get("cell_type", ""), source if isinstance(source, str) else "", cell.get("id")))
        found = cell_images(cell)
        if found:
            images[index] = found
    return judge(cells, images)


__all__ = ["QuestionVerdict", "judge", "judge_notebook"]
