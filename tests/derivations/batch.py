"""A class of 30 students' course differentiation notebooks, as the review tests and the browser test use it.

Each student answers the course's five questions in LaTeX (right, wrong, in the other layout, in index notation,
with a slip); the reports are what the grader's JSON holds for the differentiation notebook (one check per question,
a `review` object where a TA decides)."""
from grader.parts.derivations.checks import checks_of
from grader.parts.derivations.judge import judge
from grader.review.marks import rescore

EX1 = [r"2x", r"2x^T", r"2 x_i", r"2x_i", r"x", r"2\cdot x", r"\sum_k 2x_k e_k"]
EX2 = [r"B^T", r"B", r"B^{\top}", r"\sum_j B_{ji}"]
EX3 = [(r"Ac", r"xc^T"), (r"c^TA^T", r"cx^T"), (r"Ac", r"x_i c_j"), (r"A^Tx", r"xc^T")]
EX4 = [r"2A^T(AS - X)", r"-2A^TX + 2A^TAS", r"A^T(AS-X)", r"-2\sum_i A_{ik}(X - AS)_{ij}"]
CHAIN = [(r"2(F - X)", r"I \otimes A", r"2A^T(F - X)"), (r"F - X", r"A_{ik}\delta_{jl}", r"A^T(F-X)"),
         (r"-2(X - F)", r"I_M \otimes A", r"2A^T(AS - X)")]


def cells_for(student):
    """The (type, source, id) cells of student number `student` (0..29)."""
    ex3, chain = EX3[student % len(EX3)], CHAIN[student % len(CHAIN)]
    md = [
        "# Homework 1: Differentiation",
        "## ex. 1", f"$$\\frac{{dy}}{{dx}} = {EX1[student % len(EX1)]}$$",
        "## ex. 2", f"Ответ: $\\frac{{\\partial y}}{{\\partial A}} = {EX2[student % len(EX2)]}$",
        "## ex. 3", f"$$\\frac{{dy}}{{dx}} = {ex3[0]}$$\n\n$$\\frac{{dy}}{{dA}} = {ex3[1]}$$",
        "## ex. 4", f"$$\\frac{{dJ}}{{dS}} = {EX4[student % len(EX4)]}$$",
        "### Third approach",
        f"$$\\frac{{dJ}}{{dF}} = {chain[0]}$$ $$\\frac{{dF}}{{dS}} = {chain[1]}$$ $$\\frac{{dJ}}{{dS}} = {chain[2]}$$",
    ]
    return [("markdown", text, None) for text in md]


def reports(students=30):
    """The differentiation part of each student's report (key 1000 + number), scored without what awaits review."""
    out = []
    for student in range(students):
        _, verdicts = judge(cells_for(student))
        out.append(rescore({"submission": f"student{student:02d}", "key": str(1000 + student), "version": "2018-21",
                            "checks": checks_of(verdicts), "errors": [], "notes": []}))
    return out
