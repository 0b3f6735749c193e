"""A cell that stops at an import of a package the grader's environment does not have, run again without it.

Students run their notebooks where other packages are installed (Colab has torch, tensorflow, tqdm...): an
``import torch`` left at the top of the modules notebook's imports cell, to compare a gradient once, stops that cell
at its first line. Everything after it in the cell (``import numpy as np``) never runs, and every module then fails
with ``NameError: np``: a framework written in numpy, as the homework asks, scores almost nothing for a package it
does not use. That is the grader's environment, not the student's work.

So a cell whose error is ``ModuleNotFoundError`` is run again with each top-level import of that package (a line at
the cell's left margin: ``import torch``, ``import torch.nn as nn``, ``import numpy as np, torch``, ``from torch import
nn, optim``, parenthesised names over several lines) replaced by names bound to a stand-in. The stand-in raises
``ModuleNotFoundError`` naming the package the moment code uses it: a module written with torch still fails, where
it uses torch, with a message that says so; code that never uses it is graded as written. A note names the cell and
the package. An import indented inside a block, or one that fails for another reason, is left alone: the cell's
error stands.

A package that only draws or styles plots (:data:`PLOTS_ONLY`: ``import seaborn as sns`` then ``sns.set()`` in the
main notebook's imports cell) gets a quiet stand-in instead: every attribute and call gives the stand-in back, so
its calls do nothing. Raising there stopped the imports cell at ``sns.set()`` and every cell after it failed (a
correct kit main notebook lost 10 of 217 points and had 42 problems for a plot style). It cannot change a score:
the main notebook's figures are recomputed from its model (grader/parts/main_evidence.py), the modules' from probes.
"""
import re

MISSING = re.compile(r"^No module named '(?P<name>[\w.]+)'")
IMPORT_LINE = re.compile(r"^import[ \t]+(?P<items>[\w. \t,]+?)[ \t]*(?:#.*)?$", re.MULTILINE)
FROM_LINE = re.compile(r"^from[ \t]+(?P<module>[\w.]+)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#]*?)[ \t]*(?:#[^\n]*)?$",
                       re.MULTILINE)
STAND_IN = "__hw3_missing_package"
PLOTS_ONLY = frozenset({"seaborn", "plotly", "livelossplot", "jupyterthemes"})   # packages that only draw or style
# Defined in the cell that is run again (the kernel's namespace, one name): the stand-in of a missing package; a quiet
# one (plots only) gives itself back for every public attribute, call and `with` (private names: AttributeError, as
# IPython's display looks for _repr_html_ and the like).
STAND_IN_SOURCE = (
    f"class {STAND_IN}:\n"
    "    def __init__(self, name, quiet=False):\n"
    "        self._name, self._quiet = name, quiet\n"
    "    def __getattr__(self, attribute):\n"
    "        if self._quiet:\n"
    "            if attribute.startswith('_'):\n"
    "                raise AttributeError(attribute)\n"
    "            return self\n"
    "        raise ModuleNotFoundError(f\"No module named '{self._name}' where the notebook is graded (the homework \"\n"
    "                                  f\"asks for numpy only); this code uses it\")\n"
    "    def __call__(self, *args, **kwargs):\n"
    "        return self if self._quiet else self.__getattr__('__call__')\n"
    "    def __enter__(self):\n"
    "        return self.__call__()\n"
    "    def __exit__(self, *exc):\n"
    "        return False\n"
    "    def __iter__(self):\n"
    "        return iter(()) if self._quiet else self.__getattr__('__iter__')\n")


def consequence(package):
    """What the re-run means for code that uses `package`, for the note."""
    if package in PLOTS_ONLY:
        return f"{package} only draws or styles plots: its calls did nothing"
    return f"code that uses {package} fails where it uses it"


def missing_package(ename, evalue):
    """The top-level package of a ModuleNotFoundError ('torch' for "No module named 'torch.nn'"), else None."""
    found = MISSING.match(evalue.strip()) if ename == "ModuleNotFoundError" else None
    return found.group("name").split(".")[0] if found else None


def _of(module, package):
    return module == package or module.startswith(package + ".")


def without_imports(source, package):
    """(source, changed): `source` with every top-level import of `package` replaced by names bound to the stand-in."""
    changed = False

    def plain(found):
        nonlocal changed
        kept, bound = [], []
        for item in found.group("items").split(","):
            words = item.split()
            if not words:
                continue
            if _of(words[0], package):
                # `import a.b` binds `a`; `import a.b as c` binds `c`
                bound.append(words[2] if len(words) == 3 and words[1] == "as" else words[0].split(".")[0])
            else:
                kept.append(" ".join(words))
        if not bound:
            return found.group(0)
        changed = True
        return "; ".join(([f"import {', '.join(kept)}"] if kept else [])
                         + [f"{name} = {STAND_IN}({package!r}, {package in PLOTS_ONLY})" for name in bound])

    def from_(found):
        nonlocal changed
        if not _of(found.group("module"), package):
            return found.group(0)
        names = []
        for item in found.group("names").strip("()").replace("\\\n", " ").split(","):
            words = item.split()
            if words and words[0] != "*":
                names.append(words[2] if len(words) == 3 and words[1] == "as" else words[0])
        changed = True
        return "; ".join(f"{name} = {STAND_IN}({package!r}, {package in PLOTS_ONLY})" for name in names) or "pass"

    source = IMPORT_LINE.sub(plain, source)
    source = FROM_LINE.sub(from_, source)
    if not changed:
        return source, False
    first, _, rest = source.partition("\n")
    if first.lstrip().startswith("%%"):   # a cell magic (%%time, %%capture) stays the cell's first line
        return f"{first}\n{STAND_IN_SOURCE}{rest}", True
    return STAND_IN_SOURCE + source, True
