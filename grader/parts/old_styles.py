"""A cell stopped by a matplotlib style name that matplotlib has since removed, run again with the name it has now.

``plt.style.use('seaborn')``, ``'seaborn-whitegrid'``, ``'seaborn-darkgrid'``...: matplotlib shipped these styles until
3.5, renamed them ``seaborn-v0_8-*`` in 3.6 (its API changes: "The 'seaborn' styles ... have been renamed") and
removed the old names in 3.8, so the line that set a plot's look now raises ``OSError: 'seaborn' is not a valid package
style`` and stops the cell, often the imports cell: every cell after it fails. That is the grader's matplotlib, not
the student's work. So such a cell is run again with each removed name written as matplotlib names it now, with a
note (grader/parts/graded.py, as for a package the grader lacks: grader/parts/missing_imports.py). Any other style
error stands.
"""
import re

STYLE_ERROR = re.compile(r"^'(?P<name>seaborn(?:-[a-z]+)*)' is not a valid package style")
STYLE_NAME = r"(['\"]){}\1"
NOTE = ("removed the style {style!r} in 3.8 (it is 'seaborn-v0_8' + what followed 'seaborn' since 3.6); the cell was "
        "run again with that name")


def removed_style(ename, evalue):
    """The removed seaborn style name of a cell's OSError ('seaborn-whitegrid'), else None."""
    found = STYLE_ERROR.match(str(evalue).strip()) if ename == "OSError" else None
    return found.group("name") if found and not found.group("name").startswith("seaborn-v0_8") else None


def renamed(source, name):
    """(source, changed): `source` with the quoted style `name` written as matplotlib names it since 3.6."""
    new = "seaborn-v0_8" + name[len("seaborn"):]
    changed = re.sub(STYLE_NAME.format(re.escape(name)), lambda m: f"{m.group(1)}{new}{m.group(1)}", source)
    return changed, changed != source
