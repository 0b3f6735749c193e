"""One cell-id scheme for the three notebooks.

Every cell id is lowercase kebab-case and names what the cell holds, never its position (no part of it
is a bare number, so inserting a cell renames nothing); ids are unique across the three notebooks, so an
id alone says where a cell is. Within a section the cells share a stem: prose ends in `-md` (in the
differentiation notebook `-question` / `-derivation`), a check cell ends in `-check`. The modules
notebook's and the main notebook's ids start with `modules-` and `main-`; the differentiation notebook's
are the exercise names the grader matches (`ex1-answer`, ...).
"""
import re

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = {"HW3_Modules.ipynb": "modules-", "HW3_main.ipynb": "main-", "HW3_differentiation.ipynb": ""}
ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def cells(name):
    return nbformat.read(str(ROOT / name), as_version=4).cells


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ids_are_kebab_case_names_not_positions(name):
    for cell in cells(name):
        cell_id = cell.get("id", "")
        assert ID.fullmatch(cell_id), f"{name}: cell id {cell_id!r} is not lowercase kebab-case"
        assert cell_id.startswith(NOTEBOOKS[name]), f"{name}: cell id {cell_id!r} lacks the prefix {NOTEBOOKS[name]!r}"
        assert not any(part.isdigit() for part in cell_id.split("-")), (
            f"{name}: cell id {cell_id!r} holds a position; name the cell after what it holds")


def test_ids_are_unique_across_the_notebooks():
    seen = {}
    for name in NOTEBOOKS:
        for cell in cells(name):
            assert cell.id not in seen, f"cell id {cell.id!r} is in {seen.get(cell.id)} and {name}"
            seen[cell.id] = name


def test_modules_checks_sit_under_their_module():
    nb = cells("HW3_Modules.ipynb")
    for i, cell in enumerate(nb):
        match = re.fullmatch(r'check\("(\w+)"\)', cell.source.strip())
        if match:
            target = match.group(1).lower().replace("_", "-")
            assert cell.id == f"modules-{target}-check", cell.id
            assert "selfcheck" in cell.metadata.get("tags", []), f"{cell.id} is not tagged selfcheck"
            defined = nb[i - 1].source
            assert re.search(rf"^(class|def) {match.group(1)}\b", defined, flags=re.M), (
                f"{cell.id}: the cell above it does not define {match.group(1)}")


def test_every_module_has_its_check_cell():
    from grader import selfcheck as C   # the targets of check() are what the grader checks
    sources = {cell.source.strip() for cell in cells("HW3_Modules.ipynb")}
    missing = [t for t in C.TARGETS if f'check("{t}")' not in sources]
    assert not missing, f"HW3_Modules.ipynb has no check cell for {missing}"
