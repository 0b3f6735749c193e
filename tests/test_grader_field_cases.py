"""The grader on the field cases of ../shared/cases/field/ (notebooks as TAs receive them), with the verdicts of
../shared/cases/README.md, graded once in a batch through the command line as an instructor would (--fast,
--jobs 2), plus the one case with a main notebook graded in full.

The cases stand for kinds: a scratch cell ending in quit()/exit()/sys.exit()/input(), an endless loop in a
helper, a crash of the kernel, a copied cell tag, a Colab export, a foreign kernelspec, a failing cell of the
main notebook. A missing case folder fails the test (it is never skipped): the verdicts are the point.
The last test builds its own kind (an import of a package the grader's environment lacks) from the reference.
"""
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_CASES
from corpus import MODULES, mutate, reference, write
from grader import selfcheck as C



CASES = SHARED_CASES / "field"
TIMEOUT = 5          # seconds per cell and per module's checks: the endless loop costs 2 x TIMEOUT
REPEATED = ("quit-in-scratch-cell", "segfault-strided")   # graded three times each: the same score every time
FAST_CASES = ("quit-in-scratch-cell", "input-and-exit", "endless-loop-helper", "copied-tag-metadata",
              "segfault-strided", "colab-export", "kernelspec-conda")


def case(name):
    path = CASES / name
    assert path.is_dir(), f"field case {name} not found at {path} (the repository's ../shared/cases/field/)"
    return path


def module_totals(result):
    totals = {}
    for check in result["checks"]:
        if check["target"] in C.TARGETS:
            got, top = totals.get(check["target"], (0, 0))
            totals[check["target"]] = (got + check["points"], top + check["max_points"])
    return totals


def module_score(result):
    return sum(got for got, _ in module_totals(result).values()), sum(top for _, top in module_totals(result).values())


def grade(paths, *options, timeout=900):
    """Grades `paths` with `python -m grader ... --json`; returns (reports in order, seconds, stdout)."""
    out = ROOT / "build" / "test" / "field-cases"   # apart from make run's results in build/
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"grades-{time.monotonic_ns()}.json"
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, paths), "--json", str(report), *options],
                         cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(report.read_text()), time.perf_counter() - start, run.stdout


@pytest.fixture(scope="module")
def fast():
    """{case: [report, ...]}: every fast case once, the REPEATED ones three times, in one batch."""
    names = [name for name in FAST_CASES for _ in range(3 if name in REPEATED else 1)]
    reports, seconds, stdout = grade([case(n) for n in names], "--fast", "--jobs", "2", "--timeout", str(TIMEOUT))
    print(f"\n{len(names)} field submissions graded in {seconds:.0f} s\n{stdout}")
    by_case = Graded()
    for name, report in zip(names, reports):
        by_case.setdefault(name, []).append(report)
    for line in stdout.splitlines():   # "[3/9] <path> [kit]: 171 / 207, 1 problems (6 s)"
        found = re.match(r"\[\d+/\d+\] (.*?)(?: \[[^]]*\])?: .* \((\d+) s\)$", line)
        if found:
            by_case.seconds[Path(found.group(1)).name] = int(found.group(2))
    return by_case


class Graded(dict):
    """{case: [report, ...]} with .seconds = {case: seconds of its (last) grading}."""

    def __init__(self):
        super().__init__()
        self.seconds = {}


def test_quit_in_a_scratch_cell_costs_nothing_and_is_named_the_same_every_run(fast):
    runs = fast["quit-in-scratch-cell"]
    assert [module_score(r) for r in runs] == [(171, 171)] * 3
    assert len({json.dumps(r["checks"]) for r in runs}) == 1   # byte-identical verdicts
    for r in runs:
        named = [e for e in r["errors"] if "quit()" in e]
        assert named and "cell 48" in named[0], r["errors"]


def test_input_and_sys_exit_cells_are_named_and_cost_nothing(fast):
    [result] = fast["input-and-exit"]
    assert module_score(result) == (171, 171)
    errors = " ".join(result["errors"])
    assert "cell 31" in errors and "input(" in errors and "StdinNotImplementedError" in errors, result["errors"]
    assert "cell 44" in errors and "SystemExit" in errors, result["errors"]


def test_an_endless_loop_in_a_helper_costs_only_the_modules_that_use_it(fast):
    [result] = fast["endless-loop-helper"]
    totals = module_totals(result)
    assert {t for t, (got, top) in totals.items() if got < top} == {"Conv2d", "MaxPool2d"}
    message = " ".join(c["message"] for c in result["checks"] if c["target"] == "Conv2d")
    assert "did not finish" in message, message
    # one limit per module: two modules hang, each once, whatever the number of their checks
    assert fast.seconds["endless-loop-helper"] < 60 + 2 * 5 * TIMEOUT, fast.seconds


def test_a_copied_selfcheck_tag_never_hides_code(fast):
    [result] = fast["copied-tag-metadata"]
    assert module_totals(result)["Conv2d"] == (11, 11)
    assert module_score(result) == (171, 171)


def test_a_segfault_costs_its_module_and_the_score_is_the_same_every_run(fast):
    runs = fast["segfault-strided"]
    for result in runs:
        totals = module_totals(result)
        assert {t for t, (got, top) in totals.items() if got < top} == {"MaxPool2d"}
        assert totals["MaxPool2d"] == (0, 7)
        assert all("kernel died" in c["message"] for c in result["checks"]
                   if c["target"] == "MaxPool2d" and c["max_points"]), result["checks"]
    assert len({json.dumps(r["checks"]) for r in runs}) == 1   # byte-identical verdicts


@pytest.mark.parametrize("name", ["colab-export", "kernelspec-conda"])
def test_colab_export_and_foreign_kernelspec_get_full_marks(fast, name):
    [result] = fast[name]
    assert result["score"] == result["max_score"] == 207, [
        (c["target"], c["name"], c["message"]) for c in result["checks"] if not c["passed"]]


def test_colab_export_lists_its_failing_cells(fast):
    [result] = fast["colab-export"]
    assert any("google.colab" in e or "ModuleNotFoundError" in e for e in result["errors"]), result["errors"]


def test_main_notebook_with_one_bad_cell_loses_only_running_to_the_end():
    [result], seconds, _ = grade([case("main-one-bad-cell")], "--timeout", "60")
    main = {c["name"]: c for c in result["checks"] if c["target"] == "main notebook"}
    assert sum(c["points"] for c in main.values()) >= 6, main
    assert not main["runs to the end without error"]["passed"]
    assert "NameError" in main["runs to the end without error"]["message"]
    assert all(c["passed"] for name, c in main.items() if name != "runs to the end without error"), main
    assert module_score(result) == (171, 171)
    diff = [c for c in result["checks"] if c["target"] == "differentiation"]
    assert all(c["passed"] for c in diff), [c for c in diff if not c["passed"]]
    assert any("NameError" in e and "comparision" in e for e in result["errors"]), result["errors"]


def imports_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code" and "import numpy as np" in c.source)


def torch_unused():
    """`import torch` left at the top of the imports cell (Colab has it; the grader does not)."""
    nb = reference()
    imports_cell(nb).source = "%%time\nimport torch\nimport torch.nn.functional as F, os\n" + imports_cell(nb).source
    return nb


def torch_used():
    """Linear's forward goes through torch, imported in Linear's cell."""
    nb = mutate(reference(), "Linear", "self.output = input @ W.T", "self.output = torch.from_numpy(input).numpy() @ W.T")
    cell_defining_linear = next(c for c in nb.cells if c.cell_type == "code" and "class Linear(" in c.source)
    cell_defining_linear.source = "from torch import (tensor,\n                   nn as tnn)\nimport torch\n" + \
        cell_defining_linear.source
    return nb


def seaborn_styled():
    """seaborn and plotly imported and called at the top of the imports cell (neither is installed here)."""
    nb = reference()
    imports_cell(nb).source = ("import seaborn as sns\nfrom plotly import express as px\nsns.set()\n"
                               "sns.set_style('whitegrid')\npalette = list(sns.color_palette('husl', 8))\n"
                               "with sns.axes_style('white'):\n    sns.heatmap([[1, 2]], annot=True).set_title('x')\n"
                               + imports_cell(nb).source)
    return nb


def removed_styles():
    """plt.style.use of the seaborn style names matplotlib 3.8 removed, at the top of the imports cell."""
    nb = reference()
    imports_cell(nb).source = ("import matplotlib.pyplot as plt\nplt.style.use('seaborn-whitegrid')\n"
                               "plt.style.use([\"seaborn\", 'ggplot'])\n" + imports_cell(nb).source)
    return nb


def unknown_style():
    nb = reference()
    imports_cell(nb).source += "\nimport matplotlib.pyplot as plt\nplt.style.use('my-own-style')\n"
    return nb


def tabs_in_elu():
    """(the notebook, the line of ELU's cell made to start with a tab among lines indented by spaces)."""
    nb = reference()
    elu = next(c for c in nb.cells if c.cell_type == "code" and "class ELU(" in c.source)
    lines = elu.source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("        ") and "return" in line)
    lines[at] = "\t" + lines[at][8:]
    elu.source = "\n".join(lines)
    return nb, at


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{folder: report}: the kinds the tests below build from the reference, graded in one run (--fast)."""
    tmp = tmp_path_factory.mktemp("built")
    notebooks = {"unused": torch_unused(), "used": torch_used(), "seaborn": seaborn_styled(),
                 "styled": removed_styles(), "own": unknown_style(), "tabs": tabs_in_elu()[0]}
    folders = [write(tmp / name, {MODULES: nb}) for name, nb in notebooks.items()]
    reports, _, _ = grade(folders, "--fast", "--timeout", str(TIMEOUT * 4))
    return dict(zip(notebooks, reports))


def test_an_import_of_a_package_the_grader_lacks_costs_only_the_code_that_uses_it(built):
    """`import torch` left at the top of the imports cell (Colab has it; the grader does not): the cell is run again
    without it, so numpy is still imported; a module that really uses torch fails, saying so."""
    unused_report, used_report = built["unused"], built["used"]
    assert module_score(unused_report) == (171, 171), unused_report["errors"]
    assert any("cell 1 (`%%time`): torch is not installed where the notebook is graded" in n
               for n in unused_report["notes"]), unused_report["notes"]
    assert not [e for e in unused_report["errors"] if "torch" in e], unused_report["errors"]
    totals = module_totals(used_report)
    assert {t for t, (got, top) in totals.items() if got < top} == {"Linear"}, totals
    linear = next(c for c in used_report["checks"] if c["target"] == "Linear" and not c["passed"])
    assert "No module named 'torch' where the notebook is graded" in linear["message"], linear["message"]


def test_a_plotting_package_the_grader_lacks_is_a_quiet_stand_in_whose_calls_do_nothing(built):
    """`import seaborn as sns` then `sns.set()` at the top of the imports cell (seaborn is not installed here): the
    stand-in of a package that only draws or styles plots gives itself back, so the cell runs on and every module is
    graded. Before, `sns.set()` raised, the imports cell stopped there and numpy was never imported (in the kit's main
    notebook: 207/217 and 42 problems)."""
    result = built["seaborn"]
    assert module_score(result) == (171, 171), result["errors"]
    assert not [e for e in result["errors"] if "seaborn" in e or "plotly" in e], result["errors"]
    for package in ("seaborn", "plotly"):
        assert any(f"{package} is not installed where the notebook is graded" in n and
                   f"{package} only draws or styles plots: its calls did nothing" in n for n in result["notes"]), \
            result["notes"]


def test_a_matplotlib_style_name_since_removed_is_run_again_under_its_new_name(built):
    """`plt.style.use('seaborn-whitegrid')` at the top of the imports cell, as notebooks of matplotlib 3.5's years
    have it: matplotlib 3.8 removed the name (now 'seaborn-v0_8-whitegrid'), the cell stopped before numpy was imported
    and every module failed. Run again under the new names, with a note; an unknown style still fails its cell."""
    styled, own = built["styled"], built["own"]
    assert module_score(styled) == (171, 171), styled["errors"]
    assert not [e for e in styled["errors"] if "style" in e], styled["errors"]
    for name in ("seaborn-whitegrid", "seaborn"):
        assert any(f"matplotlib removed the style '{name}' in 3.8" in n for n in styled["notes"]), styled["notes"]
    assert any("'my-own-style' is not a valid package style" in e for e in own["errors"]), own["errors"]


def test_a_tab_error_in_one_cell_costs_its_module_and_names_the_line_not_ipythons_file(built):
    """Tabs mixed with spaces in the ELU cell (an editor's doing): a TabError that costs ELU alone; the error names the
    cell and its line, never IPython's name for the cell's file ("3939314485.py")."""
    result, at = built["tabs"], tabs_in_elu()[1]
    totals = module_totals(result)
    assert {t for t, (got, top) in totals.items() if got < top} == {"ELU"}, totals
    [line] = [e for e in result["errors"] if "ELU" in e]
    assert f"TabError: inconsistent use of tabs and spaces in indentation (line {at + 1} of the cell)" in line, line
    assert not re.search(r"\d+\.py", line), line
