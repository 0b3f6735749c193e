"""A correct submission written against each version of the assignment scores 100 % of that version's
maximum, and single-bug variants lose points on their own module only (tests/versions/builder.py).

"Correct" includes other correct answers to the same text: running statistics started at zeros or at
the first batch, gradients accumulated where the hint assigns, Adam's moments stored back instead of
updated in place (as in a real submission). One batch, graded through the command line with --jobs 2
and --fast, as an instructor would. The submissions hold only HW3_Modules.ipynb: 100 % means every
module check of the version at full marks and the score short of the maximum by exactly the
differentiation notebook's points.
"""
import json
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from grader.parts.integrity import findings
from versions import builder

VERSION_KEY = "version"          # the JSON names the version the submission was judged by
NOT_A_MODULE = {"differentiation"}

CORRECT = [(version, None) for version in builder.VERSIONS] + \
          [(version, name) for version, name, *_ in builder.ALTERNATIVES]     # other correct answers to the text
BUGGY = [(version, name, target) for version in builder.VERSIONS for name, _, _, _, _, target in builder.bugs_of(version)]
SUBMISSIONS = [(version, name, None) for version, name in CORRECT] + BUGGY


def label(version, bug):
    return f"{version}-{bug or 'correct'}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{label: report} of every submission of this file (SUBMISSIONS and CRAFTED), graded in one batch."""
    import nbformat
    root = tmp_path_factory.mktemp("versions")
    paths = {}
    for version, bug, _ in SUBMISSIONS:
        paths[label(version, bug)] = builder.write(root / label(version, bug), version, bug)
    for name, make in CRAFTED.items():
        paths[name] = root / name
        paths[name].mkdir()
        nbformat.write(make(), str(paths[name] / "HW3_Modules.ipynb"))
    report = root / "out" / "grades.json"
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, paths.values()), "--json", str(report),
                          "--jobs", "2", "--fast"],   # the default: each by its own version
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    print(f"\ngraded {len(paths)} version submissions in {time.perf_counter() - start:.0f} s\n{run.stdout}")
    results = {r["submission"]: r for r in json.loads(report.read_text())}
    return {name: results[str(path)] for name, path in paths.items()}


def module_totals(result):
    totals = {}
    for check in result["checks"]:
        if check["target"] not in NOT_A_MODULE:
            got, top = totals.get(check["target"], (0, 0))
            totals[check["target"]] = (got + check["points"], top + check["max_points"])
    return totals


def losers(result):
    return {target for target, (got, top) in module_totals(result).items() if got < top}


@pytest.mark.parametrize("version, alternative", CORRECT, ids=[label(v, a) for v, a in CORRECT])
def test_a_correct_submission_of_each_version_scores_full_marks(graded, version, alternative):
    result = graded[label(version, alternative)]
    assert result.get(VERSION_KEY) == version
    failed = [f"{c['target']}: {c['name']}: {c['message']}" for c in result["checks"]
              if c["points"] < c["max_points"] and c["target"] not in NOT_A_MODULE]
    assert failed == [], failed
    missing = sum(c["max_points"] for c in result["checks"] if c["target"] in NOT_A_MODULE)
    assert result["score"] == result["max_score"] - missing > 0


@pytest.mark.parametrize("version, bug, target", BUGGY, ids=[label(v, b) for v, b, _ in BUGGY])
def test_a_single_bug_costs_its_own_module_only(graded, version, bug, target):
    result = graded[label(version, bug)]
    assert result.get(VERSION_KEY) == version
    assert losers(result) == {target}, module_totals(result)


def test_the_version_submissions_follow_their_templates():
    """What the fixtures stand for: the 2017 Module has no train(), the later criterion names, the signatures."""
    sources = {v: "\n".join(c.source for c in builder.notebook(v).cells if c.cell_type == "code")
               for v in builder.VERSIONS}
    assert "def training(self)" in sources["2017"] and "def train(self)" not in sources["2017"]
    assert "class LogSoftMax" not in sources["2017"] and "class BatchMeanSubtraction" in sources["2017"]
    assert "class ClassNLLCriterionUnstable" in sources["2018"] and "class BatchMeanSubtraction" not in sources["2018"]
    assert "def __init__(self, in_channels, out_channels, kernel_size):" in sources["2019-21"]
    assert "import skimage" in sources["2019-21"]
    assert "stride=1, padding=0" in sources["derivative"] and "def __init__(self, start_dim=1)" in sources["derivative"]
    assert "dtype=np.float64" in sources["kit"] and "class ClassNLLLogCriterion" in sources["kit"]
    assert all("dtype=np.float64" not in sources[v] for v in ("2017", "2018", "2019-21", "derivative"))


@pytest.mark.parametrize("version", builder.VERSIONS)
def test_the_version_submissions_raise_no_integrity_flag(version):
    """Their Conv2d cell imports scipy.signal and skimage, their Sequential docstring holds '!!!' lines."""
    assert findings(builder.notebook(version), "HW3_Modules.ipynb") == []


def numpy_of_2017():
    """A correct 2017 submission written for the numpy of its year (np.asfarray, .astype(np.float), np.NaN,
    np.product: removed in numpy 1.24 and 2.0)."""
    nb = builder.notebook("2017")
    cells = {name: next(c for c in nb.cells if f"class {name}(" in c.source) for name in ("Linear", "ReLU")}
    old = "self.output = np.dot(input, self.W.T) + self.b"
    assert old in cells["Linear"].source
    cells["Linear"].source = cells["Linear"].source.replace(
        old, "self.output = np.dot(np.asfarray(input), self.W.T).astype(np.float) + self.b")
    cells["ReLU"].source = cells["ReLU"].source.replace(
        "def updateGradInput(self, input, gradOutput):\n",
        "def updateGradInput(self, input, gradOutput):\n"
        "        assert np.NaN != 0 and np.product(gradOutput.shape) == gradOutput.size and np.int(1) == 1\n"
        "        assert np.rank(gradOutput) == 2 and np.asscalar(np.sum(gradOutput[:1, :1])) == gradOutput[0, 0]\n", 1)
    return nb


def with_train(version):
    """A 2017 or 2018 notebook whose Module was given a train() (its template's training() is shadowed)."""
    from grader.selfcheck.versions import detect
    nb = builder.notebook(version)
    module = next(c for c in nb.cells if "class Module(" in c.source)
    old = "    def evaluate(self):"
    assert module.source.count(old) == 1 and "def train(self)" not in module.source
    module.source = module.source.replace(old, "    def train(self):\n        self.training = True\n\n" + old)
    assert detect(nb)[0].name == version
    return nb


def with_layers(version):
    """Sequential keeping its children in `self.layers` for the templates' `self.modules`."""
    nb = builder.notebook(version)
    sequential = next(c for c in nb.cells if "class Sequential(" in c.source)
    assert "self.layers" not in sequential.source and "self.modules" in sequential.source
    sequential.source = sequential.source.replace("self.modules", "self.layers")
    return nb


CRAFTED = {"2017-numpy-of-its-year": numpy_of_2017, "2017-with-train": lambda: with_train("2017"),
           "2018-with-train": lambda: with_train("2018"), "2017-layers": lambda: with_layers("2017"),
           "kit-layers": lambda: with_layers("kit")}


def test_numpys_removed_names_of_the_students_year_work_as_they_did(graded):
    """A correct 2017 submission written for the numpy of its year (np.asfarray, .astype(np.float), np.NaN,
    np.product: removed in numpy 1.24 and 2.0) scores full marks: the grader's numpy is not the student's."""
    result = graded["2017-numpy-of-its-year"]
    assert result["version"] == "2017"
    assert losers(result) == set(), module_totals(result)


def test_a_2017_or_2018_module_given_a_train_method_is_judged_by_its_own_version(graded):
    """Students of 2017-18, whose template's training() method the attribute of the same name shadows, add a train():
    the notebook stays of its version (it was judged as 2019-21: a correct 2017 submission scored 91/138, charged for
    LogSoftMax, BatchNormalization, Flatten and adam_optimizer, its Dropout read with the later meaning of p)."""
    for version in ("2017", "2018"):
        result = graded[f"{version}-with-train"]
        assert result["version"] == version
        assert losers(result) == set(), module_totals(result)
        assert result["score"] == result["max_score"] > 0      # a course version is not charged for what it lacks


def test_a_sequential_that_keeps_its_children_under_a_name_of_its_own_scores_full_marks(graded):
    """`self.layers` for the templates' `self.modules` (a student who rewrote the given __init__ and add): the grader
    sets its test doubles' parameters through that list. Before, Sequential scored 0/11 with "'Sequential' object
    has no attribute 'modules'", an attribute only the grader used."""
    for version in ("2017", "kit"):
        result = graded[f"{version}-layers"]
        assert result["version"] == version
        assert losers(result) == set(), module_totals(result)
        assert module_totals(result)["Sequential"] == (11, 11)
