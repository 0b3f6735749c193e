"""Grading HW3_main.ipynb: it runs in the kit's fast mode and writes sane ``build/metrics.json``.

The notebook runs cell by cell in its own kernel (``HW3_FAST=1``, ``HW3_SELFCHECK=0``), in the copy of
the submission folder that also holds the kit's ``data/`` and ``grader/``, so its
``%run HW3_Modules.ipynb`` loads the student's own framework. Its cells share one time budget
(``MAIN_BUDGET`` seconds); a failure here costs the main-notebook points only.

The metrics file is the notebook's own report of its results: these checks grade that the
experiments ran and produced plausible numbers, not that the numbers are true.
"""
import json
import math
import time

from grader import selfcheck as C
from grader.kernel import KernelSession, kernel_env
from grader.sandbox import KERNEL_NAME, NotInside, read_inside
from grader.submission import code_cells, first_line

NOTEBOOK = "HW3_main.ipynb"
TARGET = "main notebook"
MAIN_BUDGET = 900   # seconds for the whole notebook in fast mode
METRICS = "build/metrics.json"
ACCURACIES = ("mnist_val_accuracy", "mnist_test_accuracy", "finetuned_test_accuracy", "baseline_test_accuracy")
LOSSES = ("autoencoder_val_loss", "pca30_val_loss")
KEYS = ACCURACIES + LOSSES + ("activation_comparison", "fast_mode", "seconds")
ACTIVATIONS = ("relu", "elu", "leaky", "softplus")
MIN_TEST_ACCURACY = 0.5   # fast mode still beats chance (0.1) by a wide margin

RUBRIC = [  # (name, points)
    ("runs to the end without error", 4),
    ("writes build/metrics.json with every key", 2),
    ("accuracies in [0, 1], MNIST test accuracy above 0.5", 2),
    ("losses finite and positive", 1),
    ("activation comparison: 8 runs with loss and seconds per epoch", 1),
]


def failed_all(message):
    return [C.Result(TARGET, name, False, 0, points, message) for name, points in RUBRIC]


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def judge_metrics(metrics):
    """[(passed, message)] for the rubric rows after the first, from the parsed metrics."""
    missing = [k for k in KEYS if k not in metrics]
    keys = (not missing, "all keys present" if not missing else f"missing keys: {', '.join(missing)}")
    bad = [k for k in ACCURACIES if not (_number(metrics.get(k)) and 0 <= metrics[k] <= 1)]
    test = metrics.get("mnist_test_accuracy")
    if bad:
        acc = (False, f"not an accuracy in [0, 1]: {', '.join(f'{k}={metrics.get(k)!r}' for k in bad)}")
    elif test < MIN_TEST_ACCURACY:
        acc = (False, f"mnist_test_accuracy {test:.3f} is below {MIN_TEST_ACCURACY}: the training does not work")
    else:
        acc = (True, f"mnist_test_accuracy {test:.3f}")
    bad = [k for k in LOSSES if not (_number(metrics.get(k)) and metrics[k] > 0)]
    losses = (not bad, "losses finite and positive" if not bad else
              f"not a finite positive loss: {', '.join(f'{k}={metrics.get(k)!r}' for k in bad)}")
    runs = metrics.get("activation_comparison")
    if not isinstance(runs, dict) or len(runs) < 8:
        comparison = (False, f"activation_comparison should hold 8 runs, holds {len(runs) if isinstance(runs, dict) else repr(runs)[:80]}")
    else:
        names = " ".join(runs).lower()
        absent = [a for a in ACTIVATIONS if a not in names]
        numbers_ok = all(isinstance(r, dict) and any(_number(v) and v > 0 for v in r.values()) for r in runs.values())
        if absent:
            comparison = (False, f"activation_comparison has no run named after {', '.join(absent)}")
        elif not numbers_ok:
            comparison = (False, "activation_comparison: every run needs its final loss and seconds per epoch as numbers")
        else:
            comparison = (True, f"{len(runs)} runs")
    return [keys, acc, losses, comparison]


def grade(prepared, errors, log=lambda s: None, kernel_name=KERNEL_NAME):
    nb = prepared.notebooks.get(NOTEBOOK)
    if nb is None:
        why = "missing" if NOTEBOOK in prepared.missing else "unreadable (see errors)"
        return failed_all(f"{NOTEBOOK} is {why}")
    metrics_path = prepared.workdir / METRICS
    if metrics_path.exists():
        metrics_path.unlink()   # only what this run writes counts
    env = kernel_env({"HW3_FAST": "1", "HW3_SELFCHECK": "0", "PYTHONPATH": str(prepared.workdir)}, threads=1)
    start = time.perf_counter()
    failure = None
    with KernelSession(prepared.workdir, timeout=MAIN_BUDGET, env=env, kernel_name=kernel_name) as kernel:
        for index, cell in code_cells(nb):
            left = MAIN_BUDGET - (time.perf_counter() - start)
            if left <= 0:
                failure = f"the notebook's time budget of {MAIN_BUDGET} s was used up before cell {index}"
                break
            outcome = kernel.run(cell.source, timeout=max(1, int(left)))
            if not outcome.ok:
                failure = f"cell {index} (`{first_line(cell.source)}`): {outcome.describe()}"
                break
    log(f"main notebook: {time.perf_counter() - start:.0f} s")
    if failure:
        errors.append(f"{NOTEBOOK} {failure}")
    results = [C.Result(TARGET, RUBRIC[0][0], failure is None, RUBRIC[0][1] if failure is None else 0, RUBRIC[0][1],
                        "ran to the end in fast mode" if failure is None else failure)]
    try:
        metrics = json.loads(read_inside(prepared.workdir, METRICS))
        if not isinstance(metrics, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return results + [C.Result(TARGET, name, False, 0, points, f"{METRICS} was not written")
                          for name, points in RUBRIC[1:]]
    except NotInside as exc:
        return results + [C.Result(TARGET, name, False, 0, points, f"{METRICS} {exc}") for name, points in RUBRIC[1:]]
    except ValueError as exc:
        return results + [C.Result(TARGET, name, False, 0, points, f"{METRICS} is not valid JSON ({exc})")
                          for name, points in RUBRIC[1:]]
    for (name, points), (passed, message) in zip(RUBRIC[1:], judge_metrics(metrics)):
        results.append(C.Result(TARGET, name, passed, points if passed else 0, points, message))
    return results
