"""A code cell as the kernel runs it: its syntax tree (:func:`parse_cell`), and a line of that tree in the cell as the
student wrote it (:func:`source_line`), for the integrity scans' findings (grader/parts/integrity.py, numeric_scan.py).
"""
import ast
import re
import warnings
from functools import lru_cache

from IPython.core.inputtransformer2 import TransformerManager

_transformer = TransformerManager()
_NEWLINE = re.compile(r"\r\n|\r|\n")    # where Python's tokenizer ends a line
# Code the scans parse, in the grader's own process and outside any time limit: a cell of 6 MB (a list literal) took
# the integrity scan 67 s and 2 GB, so one of 60 MB would take the grader's memory. Far above honest code: the kit's
# longest cell is 7,300 characters, its modules notebook 38,000. A cell or notebook past them is itself a finding.
MAX_CELL_CHARS = 100_000
MAX_NOTEBOOK_CHARS = 1_000_000


@lru_cache(maxsize=64)   # the numeric scan (grader/parts/numeric_scan.py) reads the same cells: parsed once
def _parsed(source):
    """(the tree or None, whether the parser gave up on the code's nesting rather than on its syntax)."""
    if too_large(source):
        return None, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(_transformer.transform_cell(source)), False
    except (RecursionError, MemoryError):   # nested deeper than the parser goes from the grader's call depth
        return None, True
    except Exception:  # noqa: BLE001  (IPython and ast raise several kinds; such a cell runs nothing)
        return None, False


def parse_cell(source):
    """The syntax tree of a cell as the kernel would run it (magics and shell lines turned into Python),
    or None if it does not parse (such a cell runs nothing, unless :func:`too_deep`). Shared: never modify the tree."""
    return _parsed(source)[0]


def too_deep(source):
    """Whether the cell's code is nested too deep for the grader's parser: how deep the parser goes depends on the
    depth it is called from, so the kernel may well have run such a cell (the scans cannot read it: a finding)."""
    return _parsed(source)[1]


def too_large(source):
    """Whether the cell holds more code than the scans parse (MAX_CELL_CHARS): its tree is not read (a finding)."""
    return len(source) > MAX_CELL_CHARS


def within_budget(cells):
    """([(index, cell)] the scans read, index of the first cell left unread or None): `cells` (code_cells' pairs) up
    to MAX_NOTEBOOK_CHARS of code in all, a cell too large to parse counted at MAX_CELL_CHARS."""
    total = 0
    for at, (index, cell) in enumerate(cells):
        total += min(len(cell.source), MAX_CELL_CHARS)
        if total > MAX_NOTEBOOK_CHARS:
            return cells[:at], index
    return cells, None


def source_line(source, line):
    """(its number in the cell as written, its text) of line `line` of the cell's syntax tree (parse_cell).

    IPython drops the blank lines at the top of a cell before it is parsed, and Python counts lines at \\n, \\r\\n
    and \\r only, where str.splitlines also splits at \\f, \\x1c, U+2028...: counted the tree's way in the text
    as written, so that blank lines on top or U+2028 in a comment cannot make a finding quote another (a blank)
    line to the TA than the one it is about."""
    kept = source.splitlines(keepends=True)
    lead = next((i for i, text in enumerate(kept) if text and not text.isspace()), 0)   # IPython's leading_empty_lines
    number = line + len(_NEWLINE.findall("".join(kept[:lead])))
    lines = _NEWLINE.split(source)
    return number, (lines[number - 1].strip() if 0 < number <= len(lines) else "")
