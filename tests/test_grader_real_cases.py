"""The problem submissions of ../shared/cases/ (correct work written against the course's own templates,
and notebooks as TAs receive them) graded with the verdict each one's first cell states
(../shared/cases/README.md). One batch through the command line, --fast, as an instructor would.

Beside them, a 2019-21 submission of the basic track (Conv2d and MaxPool2d, "advanced track" in that
text, left as the template's stubs), built from tests/versions/builder.py.

The cases live beside the repository (``../shared/cases`` from its root; CI has a copy there): if they
are missing, these tests fail, never skip.
"""
import json
import subprocess
import sys

import pytest

import nbformat

from conftest import ROOT, SHARED_CASES
from versions import builder

CASES = SHARED_CASES
REAL = ["linear-no-dtype", "orig-module-no-train", "nll-later-course-names", "running-stats-zero-start",
        "assign-not-accumulate", "float32-promotion", "unclear-stub-and-missing", "elu-kink-one-sided",
        "batchnorm-eval-backward", "derivative-torch-api", "sequential-reruns-forward", "conv2d-skimage-pad",
        "criterion-names-2017-with-extras"]
FIELD = ["cell-type-changed"]
STUB = """class {name}(Module):
    def __init__(self, *args, **kwargs):   # (the template's Conv2d sets W and b here; its methods are stubs)
        super({name}, self).__init__()
        if len(args) == 3:
            in_channels, out_channels, kernel_size = args
            self.W = np.random.uniform(-1, 1, size=(out_channels, in_channels, kernel_size, kernel_size))
            self.b = np.random.uniform(-1, 1, size=(out_channels,))
            self.gradW, self.gradb = np.zeros_like(self.W), np.zeros_like(self.b)

    def updateOutput(self, input):
        # Your code goes here. ################################################
        return self.output

    def updateGradInput(self, input, gradOutput):
        # Your code goes here. ################################################
        return self.gradInput
"""
INTERNAL = ("SimpleNamespace", "grader/", "grader.", "selfcheck", "__hw3", "Traceback", "object has no attribute 'train'",
            "unexpected keyword argument")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert CASES.is_dir(), f"{CASES} is missing: the problem cases must be beside the repository (../shared/cases)"
    paths = [CASES / "real" / name for name in REAL] + [CASES / "field" / name for name in FIELD]
    for path in paths:
        assert (path / "HW3_Modules.ipynb").is_file(), f"{path}: the case is missing"
    tmp = tmp_path_factory.mktemp("cases")
    basic = builder.notebook("2019-21")
    for cell in basic.cells:
        for name in ("Conv2d", "MaxPool2d"):
            if cell.cell_type == "code" and f"class {name}(" in cell.source:
                cell.source = STUB.format(name=name)
    (tmp / "basic-track-2019").mkdir()
    nbformat.write(basic, str(tmp / "basic-track-2019" / "HW3_Modules.ipynb"))
    paths.append(tmp / "basic-track-2019")
    report = tmp / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, paths), "--json", str(report), "--jobs", "2",
                          "--fast"],   # as the cases' README grades them: each notebook by its own version
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["submission"]: r for r in json.loads(report.read_text())}
    return {path.name: results[str(path)] for path in paths}


def totals(result):
    out = {}
    for check in result["checks"]:
        got, top = out.get(check["target"], (0, 0))
        out[check["target"]] = (got + check["points"], top + check["max_points"])
    return out


def messages(result, target):
    return " ".join(c["message"] for c in result["checks"] if c["target"] == target)


@pytest.mark.parametrize("case, verdicts", [
    ("linear-no-dtype", {"Linear": (11, 11)}),
    ("orig-module-no-train", {"SoftMax": (9, 9), "ReLU": (7, 7), "LeakyReLU": (7, 7), "Sequential": (11, 11)}),
    ("nll-later-course-names", {"ClassNLLCriterion": (8, 8), "ClassNLLLogCriterion": (6, 6)}),
    ("running-stats-zero-start", {"BatchMeanSubtraction": (10, 10), "BatchNormalization": (7, 7)}),
    ("assign-not-accumulate", {"Linear": (11, 11)}),
    ("float32-promotion", {"LeakyReLU": (7, 7)}),
    ("unclear-stub-and-missing", {"ELU": (0, 8), "LogSoftMax": (0, 9)}),
    ("cell-type-changed", {"Tanh": (0, 7)}),
    ("elu-kink-one-sided", {"ELU": (8, 8)}),
    ("batchnorm-eval-backward", {"BatchNormalization": (7, 7)}),
    ("derivative-torch-api", {"Flatten": (7, 7), "Conv2d": (11, 11)}),
    ("sequential-reruns-forward", {"Dropout": (9, 9)}),
    ("conv2d-skimage-pad", {"Conv2d": (11, 11)}),
    ("criterion-names-2017-with-extras", {"ClassNLLCriterion": (8, 8), "ClassNLLLogCriterion": (6, 6), "LogSoftMax": (9, 9),
                                          "BatchNormalization": (7, 7), "Conv2d": (11, 11), "adam_optimizer": (4, 4)}),
])
def test_each_case_gets_its_stated_verdict(graded, case, verdicts):
    result = graded[case]
    got = totals(result)
    assert {target: got.get(target) for target in verdicts} == verdicts, \
        [(c["target"], c["name"], c["message"]) for c in result["checks"] if c["target"] in verdicts and not c["passed"]]


def test_the_2017_original_is_judged_by_its_own_modules(graded):
    result = graded["orig-module-no-train"]
    assert result["version"] == "2017"
    assert set(totals(result)) == {"Sequential", "Linear", "SoftMax", "BatchMeanSubtraction", "Dropout", "ReLU",
                                   "LeakyReLU", "ELU", "SoftPlus", "MSECriterion", "ClassNLLCriterion"}
    assert result["max_score"] == 94   # the 2017 modules only: no differentiation notebook in that assignment


def test_later_course_names_are_reported_as_the_students_own(graded):
    checks = graded["nll-later-course-names"]["checks"]
    assert {c["defined_as"] for c in checks if c["target"] == "ClassNLLCriterion"} == {"ClassNLLCriterionUnstable"}
    assert {c["defined_as"] for c in checks if c["target"] == "ClassNLLLogCriterion"} == {"ClassNLLCriterion"}


def test_a_target_the_submission_does_not_define_has_no_defined_as(graded):
    checks = graded["unclear-stub-and-missing"]["checks"]
    assert {c["defined_as"] for c in checks if c["target"] == "LogSoftMax"} == {None}   # no such class
    assert {c["defined_as"] for c in checks if c["target"] == "ELU"} == {"ELU"}         # a stub is defined


def test_float64_output_for_a_float32_input_is_a_note_not_a_lost_point(graded):
    [check] = [c for c in graded["float32-promotion"]["checks"]
               if c["target"] == "LeakyReLU" and "float32" in c["name"]]
    assert check["passed"] and "float64" in check["message"] and "not scored" in check["message"]


def test_messages_say_what_is_missing_or_unimplemented(graded):
    result = graded["unclear-stub-and-missing"]
    assert "ELU().forward returned None and self.output is None: either ELU.updateOutput is not written yet" \
        in messages(result, "ELU")
    assert "no class LogSoftMax in your notebook" in messages(result, "LogSoftMax")
    tanh = messages(graded["cell-type-changed"], "Tanh")
    assert "no class Tanh in your notebook" in tanh and "markdown cell: make it a code cell" in tanh


def test_no_message_shows_the_graders_internals(graded):
    for case, result in graded.items():
        for text in [c["message"] for c in result["checks"]] + result["errors"]:
            assert not any(word in text for word in INTERNAL), (case, text)


def test_advanced_track_modules_left_as_stubs_are_not_counted_in_2019_21(graded):
    result = graded["basic-track-2019"]
    assert result["version"] == "2019-21"
    assert not {"Conv2d", "MaxPool2d"} & set(totals(result))
    assert result["score"] == result["max_score"] == 146 - 11 - 7
    assert any("Conv2d is not implemented: optional" in note for note in result["notes"]), result["notes"]


def test_a_sequential_that_runs_forward_again_in_backward_loses_points(graded):
    got, top = totals(graded["sequential-reruns-forward"])["Sequential"]
    assert got < top == 11
    assert "RandomScale" in messages(graded["sequential-reruns-forward"], "Sequential")


def test_a_finite_gradient_at_exactly_zero_is_a_note(graded):
    [check] = [c for c in graded["elu-kink-one-sided"]["checks"] if c["target"] == "ELU" and "magnitude 800" in c["name"]]
    assert check["passed"] and "at exactly 0" in check["message"]


def test_batchnorm_evaluation_backward_is_judged_alone_by_the_kits_text(tmp_path):
    """--profile kit: the stale evaluation backward costs its own check, at most 1 point (>= 6/7)."""
    report = tmp_path / "kit.json"
    run = subprocess.run([sys.executable, "-m", "grader", str(CASES / "real" / "batchnorm-eval-backward"), "--json",
                          str(report), "--fast", "--profile", "kit"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    [result] = json.loads(report.read_text())
    checks = [c for c in result["checks"] if c["target"] == "BatchNormalization"]
    assert [c["name"] for c in checks if not c["passed"]] == \
        ["evaluation: backward treats the running statistics as constants"]
    assert sum(c["points"] for c in checks) == 6 and sum(c["max_points"] for c in checks) == 7


def test_which_criterion_is_which_is_decided_by_what_the_classes_do(graded):
    result = graded["criterion-names-2017-with-extras"]
    named = {c["target"]: c["defined_as"] for c in result["checks"] if c["target"].startswith("ClassNLL")}
    assert named == {"ClassNLLCriterion": "ClassNLLCriterion", "ClassNLLLogCriterion": "ClassNLLCriterionLog"}
    assert any("decided by what the classes do" in note for note in result["notes"]), result["notes"]
