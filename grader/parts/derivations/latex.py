"""A student's LaTeX answer -> a SymPy matrix expression, or a reason why it is not read with confidence.

Parsing is SymPy's own LaTeX parser (``sympy.parsing.latex``, the Lark grammar: ``LarkLaTeXParser``), through its
documented hook, a subclass of its transformer (``TransformToSymPyExpr``) that makes the question's letters
``MatrixSymbol``s of their shapes, so products keep their order and ``^T`` is a transpose. SymPy's own symbols are
commutative: ``x c^T`` would come back as ``c**T*x`` and lose the order that decides the answer.

Before the parser sees it, :func:`normalise` rewrites what students write and the grammar does not take:
``^\\top``, ``^{\\intercal}``, ``^{\\mathsf T}``, ``'`` and Unicode's ``ᵀ`` as ``^{T}`` (its minus sign and product dots
as ``-`` and ``\\cdot``); ``\\mathrm{tr}``, ``\\operatorname{tr}``, ``tr`` as ``\\trace``; ``\\mathbf{x}``,
``\\boldsymbol``, ``\\vec`` dropped; ``\\left``/``\\right``, ``\\big``, spacing and trailing punctuation removed; and
an explicit ``\\cdot`` between juxtaposed factors (``2A^T(AS-X)`` -> ``2 \\cdot A^{T} \\cdot (A \\cdot S - X)``: the
grammar takes a juxtaposition only after a single letter or number).

Anything the normaliser or the parser does not take raises :class:`NotRead` with a reason a TA can read; the caller
sends that answer to review, never to 0.
"""
import functools
import re



MAX_ANSWER = 400    # characters: the course's answers are short; the Earley parse of a long text is slow (cubic)
# SymPy computes a power, factorial or binomial of exact numbers as it builds it, in the grader's process, where no
# cell limit applies: 9^{9^{9}} (nine characters) is a number of 370 million digits, minutes of one core and more
# memory than a worker has. The parse refuses an exact number past these bounds before SymPy is asked to build it;
# a derivative's constants (2, 1/2, -1) are far below them.
MAX_EXACT_BITS = 4096     # bits of an exact power's result, estimated as bits of the base times the exponent
MAX_COMBINATORIAL = 1000  # the largest number whose factorial or binomial coefficients the parse builds


class NotRead(Exception):
    """The answer could not be read with confidence (the message says why, for the TA)."""


# constructs whose meaning the numeric judge cannot take: a TA reads them
_UNSUPPORTED = (r"\begin", r"\dots", r"\ldots", r"\cdots", r"\vdots", r"\ddots", r"\sum", r"\prod", r"\delta",
                r"\otimes", r"\odot", r"\circ", r"\oplus", r"\partial", r"\operatorname{diag", r"\mathrm{diag",
                r"\int", r"\lim", r"\|", r"\lVert", r"|", r"\text", r"\mathbb", r"\in", r"\forall",
                r"\Rightarrow", r"\to", r"\approx", r"\neq", r"\leq", r"\geq", "<", ">", r"\nabla")

_TRANSPOSE = re.compile(r"\^\s*(?:\{\s*(?:\\top|\\intercal|\\mathsf\s*\{?T\}?|\\mathrm\s*\{?T\}?|\\mathbf\s*\{?T\}?"
                        r"|\\text\s*\{?T\}?|\\textsf\s*\{?T\}?|T|t)\s*\}|\\top|\\intercal|T|t)")
_TRACE = re.compile(r"\\(?:mathrm|operatorname|text|textrm|mathit|mathbf|rm)\s*\{\s*[Tt]r(?:ace)?\s*\}|\\[Tt]r\b"
                    r"|\\trace\b|(?<![a-zA-Z\\])[Tt]r(?![a-zA-Z])")
_STYLE = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec|bar|mathit|mathrm|mathsf|mathnormal|overline|overrightarrow|textbf)"
                    r"\s*\{\s*([A-Za-z])\s*\}")
_STYLE_BARE = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec|mathit|mathsf)\s+([A-Za-z])")
_NOISE = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|displaystyle"
                    r"|textstyle|limits|nolimits)(?![a-zA-Z])|\\[,;:! ]|\\quad|\\qquad|~")
_TOKEN = re.compile(r"\\[a-zA-Z]+|\d+(?:\.\d+)?|[A-Za-z]|\S")
# a token after which a factor may end, and one with which a factor may start (a juxtaposition between them)
_STARTS = re.compile(r"[A-Za-z]|\d|\(|\\frac|\\dfrac|\\tfrac|\\trace|\\sqrt")


# Unicode that students type or paste for the LaTeX commands (a phone, a word processor, text written without $...$):
# the minus sign, the product dots and cross, the superscript T of a transpose, a superscript 2
UNICODE = str.maketrans({"\u2212": "-", "\u2013": "-", "\u00b7": r" \cdot ", "\u22c5": r" \cdot ", "\u00d7": r" \cdot ",
                         "\u1d40": "^{T}", "\u1d57": "^{T}", "\u22a4": "^{T}", "\u00b2": "^{2}"})


def normalise(tex):
    """The answer's LaTeX in the form the grammar reads: see the module's docstring. Raises NotRead."""
    s = tex.strip().translate(UNICODE)
    s = re.sub(r"\\(?:dfrac|tfrac)", r"\\frac", s)
    s = _NOISE.sub(" ", s)
    s = s.replace(r"\lbrack", "[").replace(r"\rbrack", "]").replace(r"\{", "(").replace(r"\}", ")")
    s = _STYLE.sub(r" \1 ", s)
    s = _STYLE_BARE.sub(r"\1", s)
    s = _TRACE.sub(r" \\trace ", s)
    s = re.sub(r"(?<=[A-Za-z)\]}])\s*'", "^{T}", s)          # prime as transpose: A', (AS - X)'
    s = _TRANSPOSE.sub("^{T}", s)
    s = re.sub(r"\\(?:times|ast)(?![a-zA-Z])|\*", r" \\cdot ", s)
    s = re.sub(r"[.,;:]+\s*$", "", s).strip()
    if not s:
        raise NotRead("the answer is empty")
    if len(s) > MAX_ANSWER:
        raise NotRead(f"the answer is longer than {MAX_ANSWER} characters: a TA reads it")
    for construct in _UNSUPPORTED:
        if construct in s:
            raise NotRead(f"the answer uses {construct.strip(chr(92)) or construct}, which the automatic check does "
                          "not read")
    if "_" in s:
        raise NotRead("the answer has indices (subscripts): a TA reads it")
    s = s.replace("[", "(").replace("]", ")")
    return _explicit_products(s)


def _explicit_products(s):
    """Inserts `\\cdot` between juxtaposed factors; the arguments of `\\frac` and superscripts are left alone."""
    out = []
    closes_factor = []       # per open brace: whether its `}` ends a factor (all but \frac's first argument)
    fractions = []           # per \frac being read: [brace depth where it stands, arguments still to come]
    previous_ends_factor = False
    for token in _TOKEN.findall(s):
        starts = bool(_STARTS.fullmatch(token))
        if previous_ends_factor and starts:
            out.append(r"\cdot")
        out.append(token)
        previous_ends_factor = False
        if token == "{":
            first_of_frac = False
            if fractions and fractions[-1][0] == len(closes_factor):
                first_of_frac = fractions[-1][1] == 2
                fractions[-1][1] -= 1
                if fractions[-1][1] == 0:
                    fractions.pop()
            closes_factor.append(not first_of_frac)
        elif token == "}":
            previous_ends_factor = closes_factor.pop() if closes_factor else False
        elif token == r"\frac":
            fractions.append([len(closes_factor), 2])
        elif re.fullmatch(r"[A-Za-z]|\d+(?:\.\d+)?|\)", token):
            previous_ends_factor = True
    return " ".join(out)


_PARSER = None


def _parser():
    """The Lark parser with SymPy's transformer, the question's letters as MatrixSymbols (set per parse by `_parse`).
    SymPy is imported here, not with the module: it costs seconds, and only a course differentiation notebook needs it."""
    global _PARSER
    if _PARSER is None:          # building the Earley parser takes ~0.3 s: once per process
        import sympy
        from sympy.parsing.latex.lark import LarkLaTeXParser
        from sympy.parsing.latex.lark.transformer import TransformToSymPyExpr

        class _MatrixTransformer(TransformToSymPyExpr):
            matrices = {}

            def SYMBOL(self, token):   # noqa: N802 (the grammar's token name)
                return self.matrices.get(str(token)) or sympy.Symbol(str(token))

            def adjacent_expressions(self, tokens):
                left, right = tokens[0], tokens[1]
                if getattr(left, "is_Matrix", False) or getattr(right, "is_Matrix", False):
                    return sympy.MatMul(left, right)
                return super().adjacent_expressions(tokens)

            def superscript(self, tokens):
                _refuse_huge_power(tokens[0], tokens[2] if len(tokens) == 3 else tokens[-2])
                return super().superscript(tokens)

            def factorial(self, tokens):
                _refuse_huge_argument("factorial", tokens[0])
                return super().factorial(tokens)

            def binomial(self, tokens):
                _refuse_huge_argument("binomial coefficient", tokens[1])
                _refuse_huge_argument("binomial coefficient", tokens[2])
                return super().binomial(tokens)

        _PARSER = LarkLaTeXParser(transformer=_MatrixTransformer)
    return _PARSER


def _refuse_huge_power(base, exponent):
    """Raises NotRead when base^exponent is an exact number SymPy would compute past MAX_EXACT_BITS."""
    if not (getattr(base, "is_Rational", False) and getattr(exponent, "is_Number", False)):
        return            # a letter, a matrix or a float: SymPy keeps the power as it is, or computes it cheaply
    bits = max(abs(int(base.p)).bit_length(), abs(int(base.q)).bit_length(), 1)
    if bits * abs(float(exponent)) > MAX_EXACT_BITS:
        raise NotRead("the answer holds a power of numbers too large to compute")


def _refuse_huge_argument(what, value):
    """Raises NotRead when `value` is a number above MAX_COMBINATORIAL (its factorial or binomial is too large)."""
    if getattr(value, "is_Number", False) and abs(float(value)) > MAX_COMBINATORIAL:
        raise NotRead(f"the answer holds a {what} of a number too large to compute")


def read(tex, shapes):
    """`tex` (one side of an equation) as a SymPy expression over MatrixSymbols of `shapes` ({letter: (rows,
    cols)}, each a dimension name or an int). Not thread-safe (one parser per process, its letters set per call).
    Raises NotRead with the reason."""
    result = _parse(normalise(tex), tuple(sorted(shapes.items())))
    if isinstance(result, NotRead):
        raise NotRead(str(result))   # a fresh exception: the cached one keeps no traceback
    return result


@functools.lru_cache(maxsize=4096)
def _parse(normal, shapes):
    """The parse of a normalised answer (or the NotRead to raise), cached: a class writes the same answers, and
    one Earley parse takes 0.05-0.4 s."""
    import sympy   # already loaded by _parser()

    parser = _parser()
    parser.transformer.matrices = {
        name: sympy.MatrixSymbol(name, *(sympy.Symbol(d) if isinstance(d, str) else d for d in shape))
        for name, shape in shapes}
    try:
        expression = parser.doparse(normal)
    except Exception as error:    # lark's UnexpectedInput, VisitError around SymPy's ShapeError, ...: all "not read"
        if isinstance(getattr(error, "orig_exc", None), NotRead):   # the transformer's own refusal, with its reason
            return NotRead(str(error.orig_exc))
        return NotRead(f"the answer could not be parsed ({type(error).__name__})")
    if not isinstance(expression, sympy.Basic) or isinstance(expression, (sympy.logic.boolalg.Boolean, sympy.Eq)):
        return NotRead("the answer could not be read as one expression")
    return expression
