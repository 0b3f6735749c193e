"""A parsed answer evaluated on numbers, and compared with the reference in the layouts the question allows.

The expression (SymPy, over the question's MatrixSymbols) is walked node by node with numpy arrays, every value 2-D
(a column vector is (N, 1)), so a product in the wrong order or a sum of different shapes is an error, not a
broadcast. Nodes the walk does not know (an unknown letter, a matrix power, an inverse, a function) raise
:class:`~grader.parts.derivations.latex.NotRead`: the answer goes to review.

Shapes: the dimension letters get distinct sizes (N=4, M=3, R=2), so B and B^T, or a row and a column, can never be
confused by a square shape. Two draws of random inputs; values compared with a relative tolerance of 1e-9.
"""
import numpy as np

from grader.parts.derivations.latex import NotRead

SIZES = {"N": 4, "M": 3, "R": 2}
SQUARE = {"N": 4, "M": 4, "R": 4}   # the template's own shapes are square (A, B in R^{NxN}; x, c in R^N)


class ShapeMismatch(NotRead):
    """A product or sum of shapes that do not fit."""
DRAWS = 2
TOLERANCE = 1e-9


def _times(left, right):
    """Scalar times anything, or a matrix product with shapes that agree (raises NotRead when they do not)."""
    if isinstance(left, float) or isinstance(right, float):
        return left * right
    if left.shape[1] != right.shape[0]:
        if left.shape == (1, 1) or right.shape == (1, 1):   # a 1x1 product (x^T x) acts as a scalar
            return left * right
        raise ShapeMismatch(f"a product of shapes {left.shape} and {right.shape} does not exist")
    return left @ right


def _plus(left, right):
    if isinstance(left, float) and isinstance(right, float):
        return left + right
    if isinstance(left, float) or isinstance(right, float) or left.shape != right.shape:
        raise ShapeMismatch("a sum of terms of different shapes")
    return left + right


def value(expression, arrays):
    """`expression` evaluated with `arrays` ({letter: 2-D array}); floats for scalars. Raises NotRead."""
    import sympy   # loaded already by the parser that made `expression` (kept out of the grader's start-up)

    e = expression
    if isinstance(e, sympy.MatrixSymbol):
        return arrays[e.name]
    if e.is_Number:
        if not e.is_real:
            raise NotRead("the answer has a complex number")
        return float(e)
    if isinstance(e, sympy.Transpose):
        inner = value(e.arg, arrays)
        return inner if isinstance(inner, float) else inner.T
    if isinstance(e, sympy.Trace):
        inner = value(e.arg, arrays)
        if isinstance(inner, float) or inner.shape[0] != inner.shape[1]:
            raise ShapeMismatch("the trace of a matrix that is not square")
        return float(np.trace(inner))
    if isinstance(e, (sympy.MatMul, sympy.Mul)):
        result = 1.0
        for factor in e.args:                 # MatMul keeps the written order; scalars commute
            result = _times(result, value(factor, arrays))
        return result
    if isinstance(e, (sympy.MatAdd, sympy.Add)):
        terms = [value(term, arrays) for term in e.args]
        total = terms[0]
        for term in terms[1:]:
            total = _plus(total, term)
        return total
    if isinstance(e, sympy.Pow) and e.exp.is_Number:
        base = value(e.base, arrays)
        if isinstance(base, float):
            return base ** float(e.exp)
        raise NotRead("a power of a matrix")
    if isinstance(e, sympy.Symbol):
        raise NotRead(f"the letter {e.name} is not one of the question's")
    raise NotRead(f"the answer uses {type(e).__name__}, which the automatic check does not evaluate")


def random_arrays(shapes, rng, sizes=None):
    """{letter: a random 2-D array} for `shapes` ({letter: (dimension name or 1, ...)}) with `sizes` (SIZES)."""
    sizes = sizes or SIZES
    return {name: rng.standard_normal(tuple(sizes.get(str(d), d) for d in shape)) for name, shape in shapes.items()}


def compare(expression, question_item, seed, sizes=None):
    """How the answer's value relates to the reference: "equal" (in a layout the question accepts), "transposed"
    (the other layout of a matrix derivative, which the text does not settle: a TA decides), or "different".
    Also the fingerprint of its values (for grouping equal answers). `sizes`: the dimensions (SIZES, distinct;
    SQUARE for the template's square shapes). Raises NotRead (ShapeMismatch) when it cannot be evaluated."""
    rng = np.random.default_rng(seed)
    verdicts, fingerprint = set(), []
    for _ in range(DRAWS):
        arrays = random_arrays(question_item.shapes, rng, sizes)
        for name, definition in question_item.defined.items():     # F = AS in the chain-rule part
            arrays[name] = definition(arrays)
        got = value(expression, arrays)
        got = np.array([[got]]) if isinstance(got, float) else got
        expected = question_item.reference(arrays)
        fingerprint.append((got.shape, tuple(np.round(got.ravel(), 6))))
        verdicts.add(_relation(got, expected, question_item.vector))
    if verdicts == {"equal"}:
        return "equal", tuple(fingerprint)
    if verdicts == {"transposed"}:
        return "transposed", tuple(fingerprint)
    return "different", tuple(fingerprint)


def _close(got, expected):
    scale = max(1.0, float(np.max(np.abs(expected))))
    return got.shape == expected.shape and float(np.max(np.abs(got - expected))) <= TOLERANCE * scale


def _relation(got, expected, vector):
    """A derivative by a vector may be a column or a row (both layouts occur in the course: dy = (dy/dx) dx or the
    gradient); by a matrix, the shape of the matrix is the gradient, the transpose a layout a TA decides."""
    if _close(got, expected):
        return "equal"
    if _close(got, expected.T):
        return "equal" if vector else "transposed"
    return "different"
