"""Flags code that a framework or a derivation has no reason to contain: file reads, code run from strings, escapes.

The judges compare values, so a submission that fetched a solution at run time (the kit's reference
notebook can be found on disk: the kernel runs the kit's own Python, ``sys.executable``) would score.
It cannot hide that it reads files, runs strings as code or reaches for the operating system, so
those are listed here. A finding takes no points (a false alarm must not cost a student); it goes into
the report's ``errors`` and the feedback, for a TA to read the cell it names.

Scanned: the code cells of HW3_Modules.ipynb and HW3_differentiation.ipynb (HW3_main.ipynb loads data
and the modules, legitimately). The students' ``from grader.selfcheck import check`` and
``%matplotlib`` are allowed.
"""
import re

from grader.submission import code_cells, first_line

SCANNED = ("HW3_Modules.ipynb", "HW3_differentiation.ipynb")
OUTSIDE = r"os|sys|subprocess|glob|shutil|pathlib|socket|ctypes|pickle|marshal|builtins|inspect|gc|io|runpy|zipfile|urllib|requests|nbformat|nbclient|json"

PATTERNS = [
    (re.compile(r"\bopen\s*\(|\.read_(?:text|bytes)\s*\(|\bnp\.(?:load|fromfile|loadtxt|genfromtxt)\s*\("), "reads a file"),
    (re.compile(r"\b(?:exec|eval|compile)\s*\("), "runs code from a string"),
    (re.compile(rf"^\s*(?:import\s+(?:{OUTSIDE})\b|from\s+(?:{OUTSIDE})\b)", re.M), "imports a module that reaches outside numpy"),
    (re.compile(r"__import__|\bimportlib\b|__builtins__|\bglobals\s*\(\s*\)\s*\[|\bsetattr\s*\(\s*np\b"), "imports or patches by name"),
    (re.compile(r"\.ipynb\b"), "names a notebook file"),
    (re.compile(r"^\s*(?:%(?!matplotlib\b)\w+|!)", re.M), "runs an IPython magic or a shell command"),
    (re.compile(r"\bget_ipython\s*\("), "drives the kernel"),
    (re.compile(r"\bgrader\.(?!selfcheck\b)\w+|\bfrom\s+grader\s+import\s+(?!check\b)"), "uses the grader's internals"),
]


def findings(nb, name):
    """One message per suspicious code cell of notebook `nb` (called `name`)."""
    messages = []
    for index, cell in code_cells(nb):
        hits = []
        for pattern, what in PATTERNS:
            match = pattern.search(cell.source)
            if match:
                hits.append(f"{what} (`{match.group(0).strip()}`)")
        if hits:
            messages.append(f"integrity: {name} cell {index} (`{first_line(cell.source)}`) " + "; ".join(hits)
                            + ". A framework needs none of this: flagged for a TA to read (no points taken).")
    return messages


def scan(prepared):
    """The findings of every scanned notebook of a prepared submission."""
    return [message for name in SCANNED if name in prepared.notebooks
            for message in findings(prepared.notebooks[name], name)]
