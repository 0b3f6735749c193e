"""Real-looking answers to the course's differentiation questions, as students type them, with the truth.

(question id, item index, the answer's LaTeX (the right side of `\\frac{d.}{d.} = ...`), right?). Right answers come
in both layouts (a column gradient or a row derivative, for derivatives by a vector), with `^T`, `^\\top`,
`^{\\intercal}`, `'`, `\\cdot`, `\\left( \\right)`, `\\mathbf`, expanded and factored; wrong ones are the slips the
course sees (a lost factor 2, a sign, a missing transpose, the wrong order, the function itself, the other
variable). The judge must never pass a wrong one and never fail a right one; the share it decides alone is
measured by tests/test_derivations.py.
"""
RIGHT, WRONG = True, False

ANSWERS = [
    # ex1: dy/dx, y = x^T x  ->  2x (column) or 2x^T (row)
    ("ex1", 0, r"2x", RIGHT), ("ex1", 0, r"2x^T", RIGHT), ("ex1", 0, r"2 x^{T}", RIGHT),
    ("ex1", 0, r"2x^\top", RIGHT), ("ex1", 0, r"2 \cdot x", RIGHT), ("ex1", 0, r"2\mathbf{x}", RIGHT),
    ("ex1", 0, r"x + x", RIGHT), ("ex1", 0, r"x^T + x^T", RIGHT), ("ex1", 0, r"2 \cdot x^{\intercal}", RIGHT),
    ("ex1", 0, r"(2x)^T", RIGHT), ("ex1", 0, r"x^T \cdot 2", RIGHT), ("ex1", 0, r"2\vec{x}", RIGHT),
    ("ex1", 0, r"2\bar{x}", RIGHT), ("ex1", 0, r"2*x", RIGHT), ("ex1", 0, r"2 \times x^T", RIGHT),
    ("ex1", 0, r"\begin{pmatrix} 2x_1 \\ \vdots \\ 2x_N \end{pmatrix}", RIGHT),
    ("ex1", 0, r"2 x_i", RIGHT),
    ("ex1", 0, r"x", WRONG), ("ex1", 0, r"x^T", WRONG), ("ex1", 0, r"2x^Tx", WRONG), ("ex1", 0, r"x^Tx", WRONG),
    ("ex1", 0, r"-2x", WRONG), ("ex1", 0, r"4x", WRONG), ("ex1", 0, r"\frac{1}{2}x", WRONG),
    # ex2: dy/dA, y = tr(AB)  ->  B^T
    ("ex2", 0, r"B^T", RIGHT), ("ex2", 0, r"B^{\top}", RIGHT), ("ex2", 0, r"B'", RIGHT),
    ("ex2", 0, r"\mathbf{B}^T", RIGHT), ("ex2", 0, r"\left(B\right)^T", RIGHT), ("ex2", 0, r"B^{\mathsf{T}}", RIGHT),
    ("ex2", 0, r"B", RIGHT),   # the numerator layout: the transposed gradient, which a TA decides
    ("ex2", 0, r"\sum_i B_{ji}", RIGHT),
    ("ex2", 0, r"A^T", WRONG), ("ex2", 0, r"A", WRONG), ("ex2", 0, r"2B^T", WRONG), ("ex2", 0, r"AB", WRONG),
    ("ex2", 0, r"-B^T", WRONG), ("ex2", 0, r"\mathrm{tr}(B)", WRONG),
    # ex3: dy/dx, y = x^T A c  ->  Ac (column) or c^T A^T (row)
    ("ex3", 0, r"Ac", RIGHT), ("ex3", 0, r"A c", RIGHT), ("ex3", 0, r"A \cdot c", RIGHT),
    ("ex3", 0, r"c^TA^T", RIGHT), ("ex3", 0, r"c^{\top} A^{\top}", RIGHT), ("ex3", 0, r"(Ac)^T", RIGHT),
    ("ex3", 0, r"\left(A c\right)^{T}", RIGHT), ("ex3", 0, r"\mathbf{A}\mathbf{c}", RIGHT),
    ("ex3", 0, r"A^Tx", WRONG), ("ex3", 0, r"cA", WRONG), ("ex3", 0, r"A^Tc", WRONG), ("ex3", 0, r"x^TA", WRONG),
    ("ex3", 0, r"2Ac", WRONG), ("ex3", 0, r"c^T A", WRONG),
    # ex3: dy/dA  ->  x c^T
    ("ex3", 1, r"xc^T", RIGHT), ("ex3", 1, r"x c^{\top}", RIGHT), ("ex3", 1, r"x \cdot c^T", RIGHT),
    ("ex3", 1, r"(cx^T)^T", RIGHT), ("ex3", 1, r"\mathbf{x}\mathbf{c}^\top", RIGHT),
    ("ex3", 1, r"cx^T", RIGHT),   # the numerator layout: to a TA
    ("ex3", 1, r"x^Tc", WRONG), ("ex3", 1, r"c^Tx", WRONG), ("ex3", 1, r"xc", WRONG), ("ex3", 1, r"x^T A c", WRONG),
    ("ex3", 1, r"-xc^T", WRONG), ("ex3", 1, r"2xc^T", WRONG),
    # ex4: dJ/dS, J = ||X - AS||^2  ->  2A^T(AS - X)
    ("ex4", 0, r"2A^T(AS - X)", RIGHT), ("ex4", 0, r"-2A^T(X - AS)", RIGHT), ("ex4", 0, r"2A^TAS - 2A^TX", RIGHT),
    ("ex4", 0, r"-2A^T X + 2A^T A S", RIGHT), ("ex4", 0, r"2 A^{T} \left( A S - X \right)", RIGHT),
    ("ex4", 0, r"2 \cdot A^\top \cdot (A \cdot S - X)", RIGHT), ("ex4", 0, r"-2A^\top(X-AS)", RIGHT),
    ("ex4", 0, r"2(A^TAS - A^TX)", RIGHT), ("ex4", 0, r"2A'(AS-X)", RIGHT),
    ("ex4", 0, r"2\left[A^T A S - A^T X\right]", RIGHT), ("ex4", 0, r"-2(X^TA)^T + 2A^TAS", RIGHT),
    ("ex4", 0, r"2 A^T A S - 2 A^T X", RIGHT), ("ex4", 0, r"2*A^T*(A*S - X)", RIGHT), ("ex4", 0, r"(2A^TAS - 2A^TX)", RIGHT),
    ("ex4", 0, r"-2 \sum_i A_{ik}(X_{ij} - (AS)_{ij})", RIGHT),
    ("ex4", 0, r"A^T(AS - X)", WRONG), ("ex4", 0, r"2A^T(X - AS)", WRONG), ("ex4", 0, r"2A(AS - X)", WRONG),
    ("ex4", 0, r"2(AS - X)A^T", WRONG), ("ex4", 0, r"2A^TAS + 2A^TX", WRONG), ("ex4", 0, r"-2A^TX", WRONG),
    ("ex4", 0, r"2A^TA S", WRONG), ("ex4", 0, r"2(AS-X)^TA", WRONG), ("ex4", 0, r"2 A^T X - 2 A^T A S", WRONG),
    # ex4c: dJ/dF  ->  2(F - X) = -2(X - AS)
    ("ex4c", 0, r"2(F - X)", RIGHT), ("ex4c", 0, r"-2(X - F)", RIGHT), ("ex4c", 0, r"2(AS - X)", RIGHT),
    ("ex4c", 0, r"2F - 2X", RIGHT), ("ex4c", 0, r"-2(X-AS)", RIGHT),
    ("ex4c", 0, r"F - X", WRONG), ("ex4c", 0, r"2(X - F)", WRONG), ("ex4c", 0, r"X - F", WRONG),
    ("ex4c", 0, r"-2X", WRONG),
    # ex4c: dJ/dS  ->  2A^T(F - X)
    ("ex4c", 2, r"2A^T(F - X)", RIGHT), ("ex4c", 2, r"A^T \cdot 2(F - X)", RIGHT), ("ex4c", 2, r"-2A^T(X-F)", RIGHT),
    ("ex4c", 2, r"2A^T(AS - X)", RIGHT),
    ("ex4c", 2, r"A^T(F - X)", WRONG), ("ex4c", 2, r"2(F - X)A^T", WRONG), ("ex4c", 2, r"2A(F - X)", WRONG),
    ("ex4c", 2, r"2A^T(X - F)", WRONG),
]

# The same answers as they appear in a notebook: the left side written in the ways students write it.
PREFIXES = [r"\frac{d{n}}{d{d}} = ", r"\frac{\partial {n}}{\partial {d}} = ", r"\dfrac{d{n}}{d{d}} = ",
            r"\frac{d {n}}{d {d}} = \ldots = ", r"\nabla_{d} {n} = "]
