"""Small parts of the grader: the values that cross from the kernel, the command line's usage errors,
and the main notebook's rubric (run on tiny stand-in main notebooks)."""
import json
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from corpus import MODULES, ROOT, reference
from grader import selfcheck as C
from grader.parts import main_notebook as mainnb
from grader.execution.session import grade_submission
from grader.options import Options
from grader.parts.main_elsewhere import NAMESPACE


def test_values_round_trip_through_json():
    values = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": 2.5, "c": None, "d": "text", "e": np.bool_(True)}
    back = C.decode(json.loads(json.dumps(C.encode(values))))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], values["a"])
    assert float(back["b"]) == 2.5 and back["c"] is None and str(back["d"]) == "text" and bool(back["e"])


@pytest.mark.parametrize("bad", [
    {"x": {"dtype": "|O", "shape": [1], "data": ""}},              # object arrays (pickles) are refused
    {"x": {"dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="}},  # 1 number for shape (3,)
    {"x": "not a dict"},
    ["not", "a", "dict"],
])
def test_decode_refuses_what_is_not_plain_numbers(bad):
    with pytest.raises(ValueError):
        C.decode(bad)


def test_answers_of_several_results_may_come_as_a_list_and_one_result_as_a_list_of_numbers():
    """linear_backward's three gradients as a list are three results, as a tuple's are; grad_xTx's list of numbers
    is its one array (grader/parts/probes.py, evaluate)."""
    from grader.parts.probes import evaluate
    as_list = evaluate({"linear_backward": lambda X, W, G: [G @ W, G.T @ X, G.sum(axis=0)]}, "ex5-linear", 7)
    as_tuple = evaluate({"linear_backward": lambda X, W, G: (G @ W, G.T @ X, G.sum(axis=0))}, "ex5-linear", 7)
    assert as_list.keys() == as_tuple.keys() and {k[-1] for k in as_list} == {"0", "1", "2"}
    assert all(np.array_equal(as_list[k], as_tuple[k]) for k in as_list)
    numbers = evaluate({"grad_xTx": lambda x: [2 * v for v in x]}, "ex1", 7)
    inputs = evaluate({"grad_xTx": lambda x: x.copy()}, "ex1", 7)   # the same draws: the inputs themselves
    assert numbers.keys() == inputs.keys()
    assert all(np.array_equal(np.asarray(numbers[k]), 2 * inputs[k]) for k in numbers)


def test_a_probe_error_becomes_a_failed_check_with_the_line_that_raised():
    check = C.checks_of("ReLU")[0]

    class Broken:
        def __init__(self):
            self.training = True

        def train(self):
            pass

        def forward(self, x):
            return x[:, 99]   # IndexError

    payload = C.run_probe(check.id, {"ReLU": Broken}, 0)
    result = C.verdict(check, payload, {})
    assert not result.passed and result.points == 0
    assert "IndexError" in result.message and "x[:, 99]" in result.message


@pytest.mark.parametrize("argv", [[], ["--jobs", "0", "x"], ["--timeout", "-1", "x"], ["release"]])
def test_usage_errors_exit_2(argv):
    run = subprocess.run([sys.executable, "-m", "grader", *argv], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "usage" in run.stderr


def test_every_check_has_a_target_a_name_and_points():
    assert len({c.id for c in C.CHECKS}) == len(C.CHECKS)
    assert sum(c.points for c in C.CHECKS) > 150
    assert {"Sequential", "Linear", "Dropout", "BatchMeanSubtraction", "adam_optimizer", "sgd_momentum",
            "ClassNLLCriterion"} <= set(C.TARGETS)


# ------------------------------------------------------------------ the main notebook's rubric

GOOD_METRICS = {"mnist_val_accuracy": 0.9, "mnist_test_accuracy": 0.9, "finetuned_test_accuracy": 0.8,
                "baseline_test_accuracy": 0.8, "autoencoder_val_loss": 9.0, "pca30_val_loss": 12.0,
                "activation_comparison": {f"{a}{s}": {"final_loss": 0.5, "seconds_per_epoch": 1.0}
                                          for a in ("ReLU", "ELU", "LeakyReLU", "SoftPlus") for s in ("", "+BMS")},
                "fast_mode": True, "seconds": 12.0}


# A model the grader can check (grader/parts/main_evidence.py): a least-squares linear classifier in the kit's Linear,
# selected as the real notebook selects its best model; its test accuracy (~0.85) is what the notebook reports.
SELECTED_MODEL = """from data.mnist import load_mnist
X_train, y_train, X_test, y_test = load_mnist()
A = np.hstack([X_train[:10000], np.ones((10000, 1), np.float32)])
coef = np.linalg.lstsq(A, np.eye(10)[y_train[:10000]], rcond=None)[0]
best = Linear(784, 10)
best.W[...], best.b[...] = coef[:-1].T, coef[-1]
selection = {"best_net": Sequential(best)}
test_accuracy = float(np.mean(selection["best_net"].forward(X_test).argmax(axis=1) == y_test))
"""


def _evidence_payload(seed, right, shuffled_kept, parameters=3):
    """A main-evidence answer whose labels are right on a share `right` of the grader's sample, and which keeps a
    share `shuffled_kept` of the first 500 with its parameters shuffled."""
    from grader.parts import main_evidence as E
    truth = E.test_labels()[np.random.default_rng([seed, 31]).permutation(E.TEST_SIZE)[:E.IMAGES]]
    labels = truth.copy()
    labels[: int(round((1 - right) * E.IMAGES))] += 1
    labels %= 10
    shuffled = labels[:500].copy()
    shuffled[int(round(shuffled_kept * 500)):] += 1
    values = {"labels": labels % 10, "shuffled": shuffled % 10} if parameters else {"labels": labels % 10}
    return {"ok": True, "values": C.encode(values), "parameters": parameters}


@pytest.mark.parametrize("right, reported, kept, parameters, verdict", [
    (0.95, 0.95, 0.1, 3, True),        # a trained network: shuffled, it keeps about a tenth of its labels
    (0.95, 0.95, 1.0, 3, None),        # a lookup of the test set: its labels do not depend on its parameters
    (0.1135, 0.1135, 1.0, 1, None),    # one class for every image, reported truly
    (0.95, 0.95, 0.1, 0, None),        # no parameters at all
    (0.10, 0.95, 0.1, 3, False),       # the report does not hold: no points (before the shuffled labels count)
])
def test_main_evidence_needs_predictions_that_come_from_the_parameters(right, reported, kept, parameters, verdict):
    from grader.parts import main_evidence as E
    seed = 12345
    agrees, message = E.judge(_evidence_payload(seed, right, kept, parameters), {E.REPORTED: reported}, seed)
    assert agrees is verdict, message


def tiny_main(metrics, extra=""):
    """A stand-in HW3_main.ipynb: loads the modules like the real one, checks they work, selects a model, writes
    metrics (the test accuracy its model's)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, json\nassert os.environ['HW3_FAST'] == '1'\n%run HW3_Modules.ipynb"),
                nbformat.v4.new_code_cell(SELECTED_MODEL + "net = Sequential(Linear(2, 3), ReLU())\n"
                                          "assert net.forward(np.ones((4, 2))).shape == (4, 3)" + extra),
                nbformat.v4.new_code_cell(f"os.makedirs('build', exist_ok=True)\n"
                                          f"json.dump(dict({metrics!r}, mnist_test_accuracy=test_accuracy), "
                                          "open('build/metrics.json', 'w'))")]
    return nb


def _submission(tmp_path, name, main):
    folder = tmp_path / name
    folder.mkdir()
    nbformat.write(reference(), str(folder / MODULES))
    nbformat.write(main, str(folder / mainnb.NOTEBOOK))
    return folder


def _main_checks(result):
    return {c["name"]: c for c in result["checks"] if c["target"] == mainnb.TARGET}


def test_main_notebook_that_runs_and_reports_sane_metrics_gets_its_points(tmp_path):
    result = grade_submission(_submission(tmp_path, "good", tiny_main(GOOD_METRICS)), Options(timeout=60))
    checks = _main_checks(result)
    assert [n for n, _ in mainnb.RUBRIC] == list(checks)
    assert all(c["passed"] for c in checks.values()), checks


def test_main_notebook_failing_cell_costs_running_to_the_end_only(tmp_path):
    broken = _submission(tmp_path, "broken", tiny_main(GOOD_METRICS, extra="\nraise RuntimeError('diverged')"))
    result = grade_submission(broken, Options(timeout=60))
    checks = _main_checks(result)
    assert not checks["runs to the end without error"]["passed"]
    assert "RuntimeError: diverged" in checks["runs to the end without error"]["message"]
    # the cells after the failing one still ran: the metrics they wrote count
    assert all(c["passed"] for name, c in checks.items() if name != "runs to the end without error"), checks
    modules = [c for c in result["checks"] if c["target"] in C.TARGETS]
    assert all(c["passed"] for c in modules)


@pytest.mark.parametrize("change, failing", [
    ({"mnist_test_accuracy": 0.11}, "accuracies in [0, 1], MNIST test accuracy above 0.5"),
    ({"mnist_val_accuracy": 97.5}, "accuracies in [0, 1], MNIST test accuracy above 0.5"),
    ({"autoencoder_val_loss": float("nan")}, "losses finite and positive"),
    ({"activation_comparison": {"relu": {"loss": 1.0}}}, "activation comparison: 8 runs with loss and seconds per epoch"),
    ({"seconds": None}, None),
])
def test_metrics_rubric(change, failing):
    metrics = dict(GOOD_METRICS, **change)
    if change.get("seconds", 0) is None:
        del metrics["seconds"]
        failing = "writes build/metrics.json with every key"
    verdicts = dict(zip([n for n, _ in mainnb.RUBRIC[1:]], mainnb.judge_metrics(metrics)))
    assert {n for n, (ok, _) in verdicts.items() if not ok} == {failing}
    assert all(ok for ok, _ in mainnb.judge_metrics(GOOD_METRICS))


def test_main_notebook_metrics_are_collected_as_sections_finish(tmp_path):
    """The notebook's `metrics` dict is read back after every cell: a last cell that never writes the file
    costs "runs to the end" only (the grader knows the mode and the seconds itself)."""
    sections = {k: v for k, v in GOOD_METRICS.items() if k != "seconds"}
    nb = tiny_main(GOOD_METRICS)
    nb.cells[-1:] = [nbformat.v4.new_code_cell(f"metrics = {{}}\nmetrics.update({sections!r})\n"
                                               "metrics['mnist_test_accuracy'] = test_accuracy"),
                     nbformat.v4.new_code_cell("metrics['seconds'] = time_taken  # NameError: never written")]
    result = grade_submission(_submission(tmp_path, "no_file", nb), Options(timeout=60))
    checks = _main_checks(result)
    assert "NameError" in checks["runs to the end without error"]["message"]
    assert all(c["passed"] for name, c in checks.items() if name != "runs to the end without error"), checks
    assert "collected as the notebook's sections finished" in checks["writes build/metrics.json with every key"]["message"]


def colab_main(metrics):
    """tiny_main as exported from Google Colab: Drive mounted in two cells, the modules run from the Drive's path."""
    nb = tiny_main(metrics)
    nb.metadata.update({"colab": {"provenance": []}, "accelerator": "GPU"})
    nb.cells[0].source = nb.cells[0].source.replace("%run HW3_Modules.ipynb",
                                                    "%cd /content/drive/MyDrive/hw3\n"
                                                    "%run '/content/drive/MyDrive/hw3/HW3_Modules.ipynb'")
    nb.cells[:0] = [nbformat.v4.new_code_cell("from google.colab import drive"),
                    nbformat.v4.new_code_cell("drive.mount('/content/drive')")]
    return nb


def test_colab_main_notebook_runs_the_handed_in_modules_and_its_drive_cells_cost_nothing(tmp_path):
    result = grade_submission(_submission(tmp_path, "colab", colab_main(GOOD_METRICS)), Options(timeout=60))
    checks = _main_checks(result)
    assert all(c["passed"] for c in checks.values()), checks
    assert not [e for e in result["errors"] if mainnb.NOTEBOOK in e], result["errors"]
    notes = "\n".join(result["notes"])
    assert "cell 0 (`from google.colab import drive`): google is not installed where the notebook is graded" in notes
    assert "cell 1 (`drive.mount('/content/drive')`): works only on Google Colab" in notes, notes
    assert "`%run /content/drive/MyDrive/hw3/HW3_Modules.ipynb`: no such file in the submission as graded" in notes


def test_a_main_notebook_that_uses_a_package_the_grader_lacks_still_costs_running_to_the_end(tmp_path):
    """Imported and unused, a package the grader does not have costs nothing; used, its cell fails, saying so."""
    nb = colab_main(GOOD_METRICS)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import not_installed_here\nimport wandb_not_here as wandb"))
    nb.cells.insert(4, nbformat.v4.new_code_cell("wandb.init(project='hw3')"))
    result = grade_submission(_submission(tmp_path, "other", nb), Options(timeout=60))
    checks = _main_checks(result)
    assert not checks["runs to the end without error"]["passed"]
    message = checks["runs to the end without error"]["message"]
    assert "cell 4" in message and "No module named 'wandb_not_here' where the notebook is graded" in message, message
    assert "cell 3" not in message
    assert any("cell 3 (`import not_installed_here`): not_installed_here is not installed" in n for n in result["notes"])


@pytest.mark.parametrize("line, runs", [
    ("%run /content/drive/MyDrive/hw3/HW3_Modules.ipynb", "%run HW3_Modules.ipynb"),
    ('%run "../HW3 Modules (1).ipynb"', "%run HW3_Modules.ipynb"),
    ("%run -i C:\\Users\\me\\hw3\\homework_modules.ipynb", "%run -i HW3_Modules.ipynb"),
    ("%run HW3_Modules.ipynb", "%run HW3_Modules.ipynb"),              # where it says: as written
    ("%run ./homework_modules.ipynb", "%run ./homework_modules.ipynb"),
    ("%run /content/drive/MyDrive/helpers.ipynb", "%run /content/drive/MyDrive/helpers.ipynb"),   # not the modules
    ("%run /content/drive/MyDrive/HW3_differentiation.ipynb", "%run /content/drive/MyDrive/HW3_differentiation.ipynb"),
    # the modules notebook converted with nbconvert on the student's machine, the .py not handed in
    ("from HW3_Modules import *", "%run HW3_Modules.ipynb"),
    ("from homework_modules import Linear, ReLU as Rectifier  # mine", "%run HW3_Modules.ipynb\nRectifier = ReLU"),
    ("    from hw3_modules import *", "    %run HW3_Modules.ipynb"),
    ("import HW3_Modules as hw", f"%run HW3_Modules.ipynb\nhw = {NAMESPACE}"),   # `hw.Linear`: the run's names
    ("  import homework_modules  # converted", f"  %run HW3_Modules.ipynb\n  homework_modules = {NAMESPACE}"),
    ("import numpy as np", "import numpy as np"),
    ("from helpers import *", "from helpers import *"),                     # not the modules
    ("from my_modules import (Linear,", "from my_modules import (Linear,"),    # continued below: left as written
])
def test_a_main_notebooks_run_of_modules_elsewhere_runs_the_graded_modules(tmp_path, line, runs):
    from grader.parts.main_elsewhere import run_modules_here
    for name in ("HW3_Modules.ipynb", "homework_modules.ipynb"):
        (tmp_path / name).write_text("{}")
    source, replaced = run_modules_here(f"import os\n{line}\nx = 1", tmp_path)
    assert source == f"import os\n{runs}\nx = 1"
    assert bool(replaced) == (runs != line)


def test_a_module_style_import_of_the_converted_modules_gets_the_runs_names():
    """`import HW3_Modules as hw` rewritten: after the run, `hw.Linear` is the run's Linear (the namespace's public
    names, as the module's attributes would be)."""
    class Linear:
        pass
    namespace = {"Linear": Linear, "_private": 1}
    exec(f"hw = {NAMESPACE}", namespace)
    assert namespace["hw"].Linear is Linear and not hasattr(namespace["hw"], "_private")


def test_an_import_of_the_modules_converted_and_handed_in_is_left_as_written(tmp_path):
    """`from HW3_Modules import *` beside the HW3_Modules.py the student handed in imports their module (what their
    notebook ran)."""
    from grader.parts.main_elsewhere import run_modules_here
    (tmp_path / "HW3_Modules.py").write_text("class Module:\n    pass\n")
    assert run_modules_here("from HW3_Modules import *", tmp_path) == ("from HW3_Modules import *", [])


@pytest.mark.parametrize("where, cell, awaiting", [
    ("network", "import urllib.request\nurllib.request.urlretrieve('https://example.org/mnist.npz', 'mnist.npz')", 4),
    ("data outside", "with np.load('../data/mnist.npz') as f:\n    X_train = f['x_train']\n" + SELECTED_MODEL, 10),
])
def test_a_main_notebook_that_needs_the_students_machine_awaits_review_never_zero(tmp_path, where, cell, awaiting):
    """A download (the grader has no network) or a data file outside the submission: the rows the run then fails are
    the TA's to judge from the saved outputs, outside the automatic maximum; the rows it passes keep their points."""
    nb = tiny_main(GOOD_METRICS)
    if where == "network":
        nb.cells.insert(1, nbformat.v4.new_code_cell(cell))
    else:
        nb.cells[1].source = nb.cells[1].source.replace(SELECTED_MODEL, cell)
    result = grade_submission(_submission(tmp_path, where.replace(" ", "-"), nb), Options(timeout=60))
    checks = _main_checks(result)
    waiting = {name for name, c in checks.items() if c.get("review")}
    assert sum(checks[name]["max_points"] for name in waiting) == awaiting == result["awaiting_review"], checks
    assert all(checks[name]["points"] == 0 and "awaits a TA's review" in checks[name]["message"] for name in waiting)
    assert all(c["passed"] for name, c in checks.items() if name not in waiting), checks
    reason = checks["runs to the end without error"]["review"]["reason"]
    assert "cell 1" in reason and ("network" if where == "network" else "../data/mnist.npz") in reason, reason
    assert result["max_score"] == 217 - awaiting   # the waiting rows are outside the maximum


STAND_IN_ERROR = "No module named '{}' where the notebook is graded (the homework asks for numpy only); this code uses it"


@pytest.mark.parametrize("source, evalue, elsewhere", [
    ("from tensorflow.keras.datasets import mnist\n(x, y), (xt, yt) = mnist.load_data()", "tensorflow", True),
    ("import keras\n(x, y), _ = keras.datasets.mnist.load_data()", "keras", True),
    ("import torchvision\nds = torchvision.datasets.MNIST('.', download=True)", "torchvision", True),
    ("import mnist\nX_train, y_train, X_val, y_val, X_test, y_test = mnist.load_dataset()", "mnist", True),
    ("import torch\nnet = torch.nn.Linear(784, 10)", "torch", False),            # the model, not the data
    ("import torchvision.transforms as T\nimages = T.RandomRotation(10)(X)", "torchvision", False),   # no MNIST
    ("import wandb\nwandb.init(project='mnist')", "wandb", False),                # not a package that loads MNIST
])
def test_mnist_loaded_with_a_package_the_grader_lacks_needs_the_students_machine(source, evalue, elsewhere):
    """keras.datasets, torchvision.datasets, the course's mnist.py: each would download MNIST, and the grader has
    neither the package nor the network, so the rows the run then fails await a TA (never 0/10, as before: 207/217).
    Other uses of a missing package stay the student's (test above)."""
    from grader.parts.main_elsewhere import needs_elsewhere
    for message in (f"No module named '{evalue}'", STAND_IN_ERROR.format(evalue)):   # the import, or its stand-in
        reason = needs_elsewhere("ModuleNotFoundError", message, source)
        assert bool(reason) is elsewhere, (message, reason)
        assert not reason or f"loads MNIST with {evalue}" in reason


def test_a_main_notebook_failing_on_its_own_account_still_scores_zero_on_those_rows(tmp_path):
    nb = tiny_main(GOOD_METRICS)
    nb.cells[1].source = "np.load('my_own_results.json')\n" + nb.cells[1].source
    checks = _main_checks(grade_submission(_submission(tmp_path, "own", nb), Options(timeout=60)))
    assert not any(c.get("review") for c in checks.values()), checks
    assert not checks["runs to the end without error"]["passed"]


def test_a_main_notebook_that_runs_past_the_time_limit_awaits_review_never_zero(tmp_path, monkeypatch):
    """Trained for hours on the student's machine (the fast mode ignored): the grader's budget runs out, and the rows
    the notebook then fails await a TA's review, outside the automatic maximum."""
    monkeypatch.setattr(mainnb.MainNotebook, "budget", 20)   # its first cells take a few seconds
    nb = tiny_main(GOOD_METRICS)
    nb.cells.insert(2, nbformat.v4.new_code_cell("import time\nfor epoch in range(50):\n    time.sleep(10)"))
    result = grade_submission(_submission(tmp_path, "hours", nb), Options(timeout=60))
    checks = _main_checks(result)
    assert all(c.get("review") and c["points"] == 0 for c in checks.values()), checks
    assert result["awaiting_review"] == 10
    reason = checks["runs to the end without error"]["review"]["reason"]
    assert "cell 2" in reason and "time limit (20 s" in reason and "HW3_FAST" in reason, reason


def test_a_canvas_main_notebook_runs_its_renamed_modules_notebook(tmp_path):
    """Canvas renames every file of a download (`ivanovpetr_12345_67890_HW3_Modules_Ivanov.ipynb`): the main notebook's
    `%run HW3_Modules_Ivanov.ipynb` runs the modules notebook handed in, graded as HW3_Modules.ipynb."""
    folder = tmp_path / "canvas"
    folder.mkdir()
    main = tiny_main(GOOD_METRICS)
    main.cells[0].source = main.cells[0].source.replace("%run HW3_Modules.ipynb", "%run HW3_Modules_Ivanov.ipynb")
    nbformat.write(reference(), str(folder / "ivanovpetr_12345_67890_HW3_Modules_Ivanov.ipynb"))
    nbformat.write(main, str(folder / "ivanovpetr_12345_67891_HW3_main.ipynb"))
    result = grade_submission(folder, Options(timeout=60))
    assert all(c["passed"] for c in _main_checks(result).values()), _main_checks(result)
    assert any("`%run HW3_Modules_Ivanov.ipynb`: no such file" in n for n in result["notes"]), result["notes"]


def test_a_batch_wait_that_times_out_finds_nothing_done_on_every_python():
    """distributed's wait raises asyncio's TimeoutError, a class of its own before Python 3.11: on 3.10 the batch loop's
    `except TimeoutError` missed it and the first second spent waiting on kernels ended every batch in a traceback."""
    import asyncio
    from types import SimpleNamespace
    from grader.execution.batch import finished_within

    def timing_out(error):
        def wait(futures, timeout, return_when):
            raise error()
        return wait
    for error in (TimeoutError, asyncio.exceptions.TimeoutError, asyncio.TimeoutError):
        assert finished_within(timing_out(error), ["future"], 1) == []
    assert finished_within(lambda futures, timeout, return_when: SimpleNamespace(done={futures[0]}), ["f"], 1) == {"f"}
    with pytest.raises(RuntimeError):
        finished_within(timing_out(RuntimeError), ["future"], 1)


def test_a_differentiation_answer_computed_in_float32_is_told_so_not_taken_for_finite_differences():
    """grad_xTx written 2 * x.astype(np.float32): the formula is right, its float32 rounding (1e-8) is above the analytic
    tolerance; the message says float32 and what to look for, never 'looks computed by finite differences'."""
    from grader.parts.differentiation import judge
    from grader.parts.probes import evaluate
    from grader.selfcheck.wire import encode
    expected = evaluate({"grad_xTx": lambda x: 2 * x}, "ex1", 7)
    got = evaluate({"grad_xTx": lambda x: 2 * x.astype(np.float32)}, "ex1", 7)
    passed, message = judge("ex1", {"ok": True, "values": encode(got)}, expected)
    assert not passed and "is float32 and right only to" in message and "compute in float64" in message, message
    assert "finite differences" not in message
    wrong = evaluate({"grad_xTx": lambda x: 3 * x.astype(np.float32)}, "ex1", 7)   # a wrong formula stays wrong
    passed, message = judge("ex1", {"ok": True, "values": encode(wrong)}, expected)
    assert not passed and "has relative error" in message and "float32" not in message, message
