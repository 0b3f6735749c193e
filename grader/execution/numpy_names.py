"""numpy's names that a submission's own numpy had and the grader's numpy (2.x) no longer has, given back in its kernel.

Submissions are written against the numpy of their year: the 2017 template's students ran numpy 1.13, the 2019-21
ones 1.16-1.21, and their code says ``x.astype(np.float)``, ``np.asfarray(input)``, ``np.NaN``, ``np.product(shape)``.
numpy 1.24 removed the aliases of builtins (``np.float``, ``np.int``, ``np.object``...; NumPy 1.20 release notes,
"Using the aliases of builtin types like np.int is deprecated"), numpy 2.0 many more (NEP 52, "Python API cleanup for
NumPy 2.0", its table of removed members and their replacements). Run as written with the grader's numpy, a correct
module raises AttributeError and scores 0: the grader's environment, not the student's work.

``SOURCE`` runs once in every kernel the grader starts (grader/execution/kernel.py's set-up, before the notebook's first
cell): each removed name that numpy does not have is set to what it meant then (the replacement NEP 52 names). Only
names numpy lacks are set: a name numpy still has is never touched, and the values are numpy's own functions and
types, so the behaviour is the old one. The grader's own process (the judges, the reference) is not changed.
"""

# name -> the expression (in terms of numpy as `np` and builtins) that the name meant before its removal
REMOVED = {
    "float": "float", "int": "int", "object": "object", "complex": "complex", "str": "str", "unicode": "str",
    "long": "int", "bool": "bool",
    "float_": "np.float64", "complex_": "np.complex128", "cfloat": "np.complex128", "longfloat": "np.longdouble",
    "singlecomplex": "np.complex64", "clongfloat": "np.clongdouble", "longcomplex": "np.clongdouble",
    "string_": "np.bytes_", "unicode_": "np.str_", "int0": "np.intp", "uint0": "np.uintp", "bool8": "np.bool_",
    "object0": "np.object_",
    "NaN": "np.nan", "NAN": "np.nan", "Inf": "np.inf", "Infinity": "np.inf", "infty": "np.inf", "PINF": "np.inf",
    "NINF": "-np.inf", "PZERO": "0.0", "NZERO": "-0.0",
    "product": "np.prod", "cumproduct": "np.cumprod", "alltrue": "np.all", "sometrue": "np.any", "round_": "np.round",
    "trapz": "np.trapezoid", "mat": "np.asmatrix", "asscalar": "lambda a: a.item()", "rank": "np.ndim",
    "msort": "lambda a: np.sort(a, axis=0)",
    "asfarray": "lambda a, dtype=np.float64: np.asarray(a, dtype=dtype if np.issubdtype(dtype, np.inexact) "
                "else np.float64)",
    "in1d": "lambda ar1, ar2, assume_unique=False, invert=False: np.isin(np.ravel(ar1), ar2, "
            "assume_unique=assume_unique, invert=invert)",
}

SOURCE = "def __hw3_numpy_names():\n    import numpy as np\n    removed = {\n" + "".join(
    f"        {name!r}: lambda: {value},\n" for name, value in REMOVED.items()) + """    }
    for name, value in removed.items():
        if name not in np.__dict__:
            try:
                setattr(np, name, value())
            except AttributeError:   # a replacement this numpy lacks too (np.trapezoid before 2.0)
                pass
__hw3_numpy_names()
del __hw3_numpy_names
"""
