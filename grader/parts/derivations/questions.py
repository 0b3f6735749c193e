"""The course's differentiation questions (the same text in every course version since 2017), with references.

Source: the course template `homework_differentiation.ipynb` of yandexdataschool/Practical_DL (2017:
`homeworks/homework01_from_scratch/`, 2018-21: `homework01/`): "## ex. 1" y = x^T x, dy/dx; "## ex. 2" y = tr(AB),
dy/dA; "## ex. 3" y = x^T A c, dy/dx and dy/dA; "## ex. 4" J = ||X - AS||_2^2 (||.||_F later), dJ/dS, "### First
approach" through the trace, "### Second approach" (optional, a book's derivation), "### Third approach" the chain
rule with F = AS: dJ/dF, dF/dS (NM x RM), dJ/dS. The template gives A, B, x, c square or of one size N; the judge
evaluates with distinct sizes (N=4, M=3, R=2) so that a transposed answer cannot pass by a square shape.

Every reference below is the gradient (the shape of the variable); the derivative by a vector may also be written
as a row (the other layout, which the text does not exclude). The kit's own notebook (`HW3_differentiation.ipynb`,
with answer functions) is graded by `grader/differentiation.py`, not here.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class Item:
    """One derivative asked for: d numerator / d denominator."""
    numerator: str                      # "y", "J", "F"
    denominator: str                    # "x", "A", "S", "F"
    shapes: dict                        # letter -> (rows, cols), dimension names or 1
    reference: Optional[Callable]       # arrays -> the gradient (2-D); None: only a TA can judge it
    reference_tex: str                  # shown beside the answers on the review page
    vector: bool = False                # a derivative by a vector: a row or a column are both accepted
    defined: dict = field(default_factory=dict)   # letters that stand for an expression (F = AS)

    @property
    def label(self):
        return f"d{self.numerator}/d{self.denominator}"


@dataclass(frozen=True)
class Question:
    id: str                  # ex1, ex2, ex3, ex4, ex4c (the case's naming)
    title: str               # for the report and the review page
    statement_tex: str
    items: tuple
    points: int = 3
    functions: dict = field(default_factory=dict)   # numerator -> the ways its function is written out


X_VEC = {"x": ("N", 1)}
TRACE = {"A": ("N", "M"), "B": ("M", "N")}
BILINEAR = {"x": ("N", 1), "A": ("N", "M"), "c": ("M", 1)}
FACTOR = {"X": ("N", "M"), "A": ("N", "R"), "S": ("R", "M")}
CHAIN = dict(FACTOR, F=("N", "M"))


def _product(arrays):
    return arrays["A"] @ arrays["S"]


def _grad_s(a):
    return 2 * a["A"].T @ (a["A"] @ a["S"] - a["X"])


QUESTIONS = (
    Question("ex1", "ex. 1: dy/dx for y = xᵀx", r"y = x^T x, \quad x \in \mathbb{R}^N",
             (Item("y", "x", X_VEC, lambda a: 2 * a["x"], r"2x \;\; (\text{or the row } 2x^T)", vector=True),),
             functions={"y": ("x^Tx", "(x^Tx)")}),
    Question("ex2", "ex. 2: dy/dA for y = tr(AB)", r"y = \operatorname{tr}(AB)",
             (Item("y", "A", TRACE, lambda a: a["B"].T, r"B^T"),),
             functions={"y": ("tr(AB)", "(tr(AB))")}),
    Question("ex3", "ex. 3: dy/dx and dy/dA for y = xᵀAc", r"y = x^T A c",
             (Item("y", "x", BILINEAR, lambda a: a["A"] @ a["c"], r"Ac \;\; (\text{or the row } c^T A^T)",
                   vector=True),
              Item("y", "A", BILINEAR, lambda a: a["x"] @ a["c"].T, r"x c^T")),
             functions={"y": ("x^TAc", "(x^TAc)")}),
    Question("ex4", "ex. 4: dJ/dS for J = ‖X − AS‖² (through the trace)",
             r"J = \lVert X - AS \rVert_F^2",
             (Item("J", "S", FACTOR, _grad_s, r"2A^T(AS - X)"),),
             functions={"J": ("|X-AS|^2", "(|X-AS|^2)")}),
    Question("ex4c", "ex. 4, chain rule: dJ/dF, dF/dS, dJ/dS (F = AS)", r"J = \lVert X - F \rVert_F^2,\; F = AS",
             (Item("J", "F", CHAIN, lambda a: 2 * (a["F"] - a["X"]), r"2(F - X)", defined={"F": _product}),
              Item("F", "S", CHAIN, None, r"\frac{\partial F_{ij}}{\partial S_{kl}} = A_{ik}\delta_{jl}"
                   r"\;\; (NM \times RM:\ I_M \otimes A)", defined={"F": _product}),
              Item("J", "S", CHAIN, _grad_s, r"2A^T(F - X) = 2A^T(AS - X)", defined={"F": _product}))),
)

BY_ID = {question.id: question for question in QUESTIONS}
