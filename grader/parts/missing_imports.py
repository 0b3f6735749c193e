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
"""
import re

MISSING = re.compile(r"^No module named '(?P<name>[\w.]+)'")
IMPORT_LINE = re.compile(r"^import[ \t]+(?P<items>[\w. \t,]+?)[ \t]*(?:#.*)?$", re.MULTILINE)
FROM_LINE = re.compile(r"^from[ \t]+(?P<module>[\w.]+)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#]*?)[ \t]*(?:#[^\n]*)?$",
                       re.MULTILINE)
STAND_IN = "__hw3_missing_package"
# Defined in the cell that is run again (the kernel's namespace, one name): the stand-in of a missing package.
STAND_IN_SOURCE = (
    f"class {STAND_IN}:\n"
    "    def __init__(self, name):\n"
    "        self._name = name\n"
    "    def __getattr__(self, attribute):\n"
    "        raise ModuleNotFoundError(f\"No module named '{self._name}' where the notebook is graded (the homework \"\n"
    "                                  f\"asks for numpy only); this code uses it\")\n"
    "    def __call__(self, *args, **kwargs):\n"
    "        self.__getattr__('__call__')\n")


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
                         + [f"{name} = {STAND_IN}({package!r})" for name in bound])

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
        return "; ".join(f"{name} = {STAND_IN}({package!r})" for name in names) or "pass"

    source = IMPORT_LINE.sub(plain, source)
    source = FROM_LINE.sub(from_, source)
    if not changed:
        return source, False
    first, _, rest = source.partition("\n")
    if first.lstrip().startswith("%%"):   # a cell magic (%%time, %%capture) stays the cell's first line
        return f"{first}\n{STAND_IN_SOURCE}{rest}", True
    return STAND_IN_SOURCE + source, True
