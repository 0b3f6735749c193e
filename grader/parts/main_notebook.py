"""Grading HW3_main.ipynb section by section: every cell runs, the metrics are collected as sections finish.

The notebook runs cell by cell in its own kernel (``HW3_FAST=1``, ``HW3_SELFCHECK=0``; see
:mod:`grader.plugin`), in the copy of the submission folder that also holds the kit's ``data/`` and
``grader/``, so its ``%run HW3_Modules.ipynb`` loads the student's own framework. Its cells share one time
budget (``MAIN_BUDGET`` seconds). A cell that fails costs "runs to the end" and what it produced; the cells
after it still run. After every cell the grader reads the notebook's ``metrics`` dict back from the kernel
(raw values: :func:`grader.parts.probes.metrics`), so the results of the sections that finished count even when the last
cell (the one writing ``build/metrics.json``) never runs; the file, when written, fills what the kernel did not
send. The kit's own assertion cells (``*-check``, unchanged) test the kit: when grading, a failing one is a
note, and the rubric's thresholds below judge the model.

The metrics are the notebook's own report of its results: these checks grade that the experiments ran and
produced plausible numbers, not that the numbers are true.
"""
import json
import math

import pytest
from functools import lru_cache

from grader import KIT_ROOT, MAIN, MODULES
from grader import selfcheck as C
from grader.execution.probe import seed_of
from grader.execution.kernel import Status
from grader.execution.safefile import NotInside, read_inside
from grader.execution.workcopy import first_line
from grader.parts import main_elsewhere, main_evidence, main_outputs
from grader.parts.awaiting import ReviewResult, review_object
from grader.parts.graded import CheckItem, GradedNotebook

NOTEBOOK = MAIN
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


@lru_cache(maxsize=1)
def kit_check_cells():
    """{cell id: source} of the kit's own assertion cells (ids ending in -check)."""
    from grader.selfcheck.notebook import read_notebook
    nb = read_notebook(KIT_ROOT / NOTEBOOK)
    return {c.get("id"): c.source for c in nb.cells if c.cell_type == "code" and str(c.get("id", "")).endswith("-check")}


def judge_run(failures, metrics, workdir, seconds, evidence=None):
    """{rubric row: Result} from the cells that failed, the metrics read back from the kernel and the file
    the notebook wrote in `workdir` (if any), and the seconds its cells took.

    evidence: metrics -> (agrees, message), :func:`grader.parts.main_evidence.judge` on the collected metrics, or None
    when not asked. When the notebook's own model does not reproduce what it reports, no row scores: its metrics
    are not evidence of the work."""
    runs = not failures
    first = (f"{len(failures)} cell(s) failed, the first: {failures[0]}" if len(failures) > 1 else
             failures[0] if failures else "ran to the end in fast mode")
    results = {RUBRIC[0][0]: C.Result(TARGET, RUBRIC[0][0], runs, RUBRIC[0][1] if runs else 0, RUBRIC[0][1], first)}
    collected = dict(metrics)
    source = "collected as the notebook's sections finished"
    file_problem = None
    try:   # only a regular file of the submission's folder, reached without a link (not a FIFO: it would hang)
        written = json.loads(read_inside(workdir, METRICS))
        if not isinstance(written, dict):
            raise ValueError("not a JSON object")
        collected = {**written, **collected}
    except FileNotFoundError:
        file_problem = "was not written"
    except NotInside as exc:
        file_problem = str(exc)
    except (OSError, ValueError) as exc:
        file_problem = f"is not valid JSON ({exc})"
    evidence = evidence(collected) if evidence is not None else None
    if evidence is not None and not evidence[0]:   # running to the end is worth points only with the work done
        name, points = RUBRIC[0]
        results[name] = C.Result(TARGET, name, False, 0, points, f"{first}; not evidenced: {evidence[1]}")
    if not collected:
        for name, points in RUBRIC[1:]:
            results[name] = C.Result(TARGET, name, False, 0, points,
                                     f"no metrics: the notebook's `metrics` dict was never filled, and {METRICS} "
                                     f"{file_problem}")
        return results
    if evidence is not None and not evidence[0]:
        for name, points in RUBRIC[1:]:
            results[name] = C.Result(TARGET, name, False, 0, points, f"not evidenced: {evidence[1]}")
        return results
    # Two keys the grader knows itself: the mode it ran the notebook in, and how long the cells took.
    collected.setdefault("fast_mode", True)
    collected.setdefault("seconds", round(seconds, 1))
    for (name, points), (passed, message) in zip(RUBRIC[1:], judge_metrics(collected)):
        if name == RUBRIC[1][0]:
            message = f"{message} ({source})"
        elif name == RUBRIC[2][0] and evidence is not None and passed:
            message = f"{message}; {evidence[1]}"
        results[name] = C.Result(TARGET, name, passed, points if passed else 0, points, message)
    return results


class MainNotebook(GradedNotebook):
    """Every cell runs (a failing one costs what it produces); the metrics are read back after every cell."""
    notebook = NOTEBOOK
    budget = MAIN_BUDGET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = {}
        self.failures = []
        self._verdicts = None
        self.kit_checks = kit_check_cells()
        self.colab_unbound = set()   # names of Colab's imports that failed (drive, files): see main_elsewhere
        self.elsewhere = None        # the first cell that needed the student's machine (network, data, hours)
        self.elsewhere_advice = ""   # what would let the grader run it: said with the rows awaiting review
        self.unproven = None         # why the evidence could not tell whether the selected model did the work
        metrics_file = self.path.parent / METRICS
        if metrics_file.exists():
            metrics_file.unlink()   # only what this run writes counts

    def cell_timeout(self):
        return self.budget - self.cells_seconds   # one bound for the whole notebook: training cells are long

    def keep(self, cell):
        return True

    def after_cell(self, item, result):
        if self.kernel_session is not None and self.kernel_session.alive():
            _, payload = self.ask("grader.parts.probes.metrics", "read the notebook's metrics", timeout=30)
            if isinstance(payload, dict) and isinstance(payload.get("metrics"), dict):
                self.metrics.update(payload["metrics"])

    def source_to_run(self, item):
        """The cell's source, its `%run` of a modules notebook that is not where it says (a Colab Drive path), or its
        import of one converted to a module it did not hand in, pointed at the graded HW3_Modules.ipynb, with a note
        (grader/parts/main_elsewhere.py)."""
        source, replaced = main_elsewhere.run_modules_here(item.cell.source, self.path.parent)
        for written, why in replaced:
            self.state.notes.append(
                f"{NOTEBOOK} cell {item.cell_num}: `{written}`: {why}; the grader ran the modules notebook you "
                f"handed in (graded as {MODULES}) instead (nothing to fix)")
        return source

    def tolerated(self, item, result):
        """A cell that failed only because the grader is not Google Colab (main_elsewhere.colab_only) is a note; the
        kit's own assertion cells, unchanged, judge the kit: a model the rubric accepts may fail them."""
        if result.status is Status.ERROR and main_elsewhere.colab_only(item.cell.source, result.ename, result.evalue,
                                                                       self.colab_unbound):
            self.colab_unbound |= main_elsewhere.colab_names(item.cell.source)
            self.state.notes.append(
                f"{NOTEBOOK} cell {item.cell_num} (`{first_line(item.cell.source)}`): works only on Google Colab "
                f"({result.describe()}); the grader has your files already, so it is not counted (nothing to fix)")
            return True
        if result.status is Status.ERROR and result.ename == "AssertionError" and \
                self.kit_checks.get(item.cell.get("id")) == item.cell.source:
            self.state.notes.append(
                f"{NOTEBOOK} cell {item.cell_num} (`{first_line(item.cell.source)}`): the kit's own check "
                f"failed ({result.describe()}); not scored, the rubric's thresholds judge the results")
            return True
        return False

    def cell_failed(self, item, result):
        super().cell_failed(item, result)
        self.failures.append(self.state.errors[-1][len(NOTEBOOK) + 1:])
        if self.elsewhere is not None:
            return
        if result.status in (Status.TIMEOUT, Status.STUCK):
            reason = f"ran past the grader's time limit ({self.budget} s for all the notebook's cells, in fast mode)"
            self.elsewhere_advice = "keep the fast mode (HW3_FAST) short"
        else:
            reason = main_elsewhere.needs_elsewhere(result.ename, result.evalue, item.cell.source) \
                if result.status is Status.ERROR else None
            self.elsewhere_advice = "load MNIST with the homework's load_mnist(): data/ ships with it"
        if reason:
            self.elsewhere = f"cell {item.cell_num} (`{first_line(item.cell.source)}`) {reason}"

    def check_items(self):
        for name, points in RUBRIC:
            yield MainCheck.from_parent(self, name=name, target=TARGET, check_name=name, points=points)

    def verdicts(self):
        if self._verdicts is None:
            self._verdicts = judge_run(self.failures, self.metrics, self.path.parent, self.cells_seconds,
                                       evidence=self.evidence())
            if self.elsewhere:
                self._verdicts = self.to_review(self._verdicts, (
                    f"{NOTEBOOK} {self.elsewhere}: the grader could not run it as written; a TA reads its saved "
                    f"outputs (to be graded automatically, {self.elsewhere_advice})"))
            elif self.unproven:
                self._verdicts = self.to_review(self._verdicts, f"{NOTEBOOK}: {self.unproven}; a TA reads the "
                                                                "notebook's work")
        return self._verdicts

    def to_review(self, verdicts, reason):
        """The rows the notebook failed, as checks awaiting a TA's review (outside the automatic score and maximum):
        the grader could not run it as written (it needed the student's machine), or cannot tell from its selected
        model whether it did the work (`reason` says which)."""
        work, images = main_outputs.work_and_images(self.nb)
        out = {}
        for number, (name, result) in enumerate(verdicts.items()):
            if result.passed:
                out[name] = result
                continue
            review = review_object(f"main-run-{number}", f"main notebook: {name}", (name, work, tuple(images)),
                                   reason, work=work, images=images)
            out[name] = ReviewResult(TARGET, name, False, 0, result.max_points,
                                     f"awaits a TA's review: {reason}", review=review)
        return out

    def evidence(self):
        """metrics -> (agrees, message): the notebook's selected model, run by the grader, against its reported test
        accuracy (grader/parts/main_evidence.py)."""
        payload = None
        seed = seed_of(self.config)
        if self.kernel_session is not None and self.kernel_session.alive():
            outcome, payload = self.ask("grader.parts.probes.main_evidence", "ran the selected model",
                                        timeout=max(30.0, self.state.options.timeout), seed=seed,
                                        images=main_evidence.IMAGES)
            payload = payload if outcome.ok else {"ok": False, "error": outcome.describe()}

        def judged(metrics):
            agrees, message = main_evidence.judge(payload, metrics, seed)
            self.unproven = message if agrees is None else None
            return agrees, message
        return judged


class MainCheck(CheckItem):
    def verdict(self):
        return self.parent.verdicts()[self.check_name]

    def runtest(self):
        nbfile = self.parent
        try:
            result = None if nbfile.unavailable or nbfile.kernel_session is None and nbfile.start_error else \
                self.verdict()
        except Exception:   # CheckItem.runtest reports a grader failure as such
            result = None
        if getattr(result, "review", None):   # neither passed nor failed: a TA decides (a skip in pytest's terms)
            nbfile.state.record(result)
            self.user_properties += [("points", 0), ("max_points", result.max_points), ("awaits_review", 1)]
            pytest.skip(f"awaits a TA's review: {result.review['reason']}")
        super().runtest()
