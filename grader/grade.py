"""Grading one submission: its notebooks run in their own kernels; the verdicts are reached here.

    result = grade_submission("submissions/alice", timeout=60)
    result["score"], result["max_score"], result["checks"], result["errors"]

Three parts, each in a fresh kernel, each failing alone:

* ``HW3_Modules.ipynb``: the assignment version it was written against is read off the notebook
  (:func:`grader.selfcheck.versions.detect`, or forced with ``profile``); the code cells run one by one
  (``check(...)`` cells skipped), then every probe of that version's modules (:mod:`grader.selfcheck`)
  runs in the same kernel and sends back raw values; the judges compare them, here, with values
  computed from the kit's reference modules, by that version's conventions.
* ``HW3_differentiation.ipynb``: see :mod:`grader.differentiation`.
* ``HW3_main.ipynb``: see :mod:`grader.mainnb` (skipped with ``fast=True``).
"""
import json
import re
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from grader import selfcheck as C
from grader.intake import Submission, shown
from grader.selfcheck import versions as V
from grader.selfcheck.messages import optional_not_counted
from grader.kernel import KernelSession, kernel_env
from grader.sandbox import KERNEL_NAME
from grader.notebook import load_notebook
from grader.submission import KIT, code_cells, first_line, prepare

MODULES = "HW3_Modules.ipynb"
MODULES_BUDGET = 600        # seconds for all of one submission's module checks
SELFCHECK_LINE = re.compile(r"^\s*(check\s*\(.*\)\s*;?\s*|#.*)?$")

PROBE_HELPER = '''
def __hw3_probe(check_id, seed, version):
    import grader.selfcheck as _checks
    from IPython.display import publish_display_data as _publish
    _publish({_checks.MIME: _checks.run_probe(check_id, dict(globals()), seed, version)})
'''


@lru_cache(maxsize=None)
def reference_expected(version="kit"):
    """Expected values of every check of `version` on the grader's inputs, from the kit's reference notebook."""
    reference = load_notebook(KIT / MODULES, name="reference_modules")
    return C.expected_values(reference, C.GRADER_SEED, C.checks_for(version))


def is_selfcheck_cell(cell):
    """Cells tagged selfcheck, and cells holding nothing but check(...) calls and comments."""
    if "selfcheck" in cell.metadata.get("tags", []):
        return True
    lines = cell.source.strip().splitlines()
    return bool(lines) and all(SELFCHECK_LINE.match(line) for line in lines) and "check" in cell.source


def probe_payload(result):
    """The probe's JSON from a cell's outputs (None if it sent none)."""
    for output in result.outputs:
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if C.MIME in data:
            payload = data[C.MIME]
            if isinstance(payload, str):
                try:
                    payload = json.loads(payload)
                except ValueError:
                    return None
            return payload if isinstance(payload, dict) else None
    return None


def failed_all(checks, message, version=C.KIT):
    return [C.Result(c.target, c.name, False, 0, c.points, message, version.class_name(c.target)) for c in checks]


def modules_version(prepared, profile=None):
    """(version, why, the checks of the targets it is judged on) of the submission's HW3_Modules.ipynb."""
    nb = prepared.notebooks.get(MODULES) if prepared is not None else None
    if profile:
        version, why = V.version(profile), "forced with --profile"
    elif nb is None:
        version, why = V.KIT, f"no readable {MODULES}"
    else:
        version, why = V.detect(nb)
    targets = V.targets_of(version, V.definitions(nb)) if nb is not None else list(version.targets)
    return version, why, C.checks_of(version=version, targets=targets)


def grade_modules(prepared, timeout, errors, log=lambda s: None, kernel_name=KERNEL_NAME, profile=None):
    """Runs HW3_Modules.ipynb of the submission and every module check of its version; returns Results."""
    nb = prepared.notebooks.get(MODULES)
    version, _, checks = modules_version(prepared, profile)
    if nb is None:
        why = "missing" if MODULES in prepared.missing else "unreadable (see errors)"
        return failed_all(checks, f"{MODULES} is {why}: nothing to check", version)
    expected = reference_expected(version.name)
    env = kernel_env({"HW3_FAST": "1", "HW3_SELFCHECK": "0", "PYTHONPATH": str(prepared.workdir)})
    results = []
    start = time.perf_counter()
    with KernelSession(prepared.workdir, timeout=timeout, env=env, kernel_name=kernel_name) as kernel:
        for index, cell in code_cells(nb):
            if is_selfcheck_cell(cell):
                continue
            outcome = kernel.run(cell.source, keep=True)
            if not outcome.ok:
                errors.append(f"{MODULES} cell {index} (`{first_line(cell.source)}`): {outcome.describe()}"
                              + ("; the kernel was restarted and the cells before it re-run" if outcome.status in ("timeout", "dead") else ""))
        helper = kernel.run(PROBE_HELPER, keep=True)
        if not helper.ok:
            errors.append(f"the grader could not install its probe in the kernel: {helper.describe()}")
            return failed_all(checks, "the kernel could not run the grader's probes", version)
        groups = {}
        for check in checks:
            groups.setdefault(id(check.probe), []).append(check)
        for group in groups.values():
            if time.perf_counter() - start > MODULES_BUDGET:
                results += failed_all(group, f"not run: the module checks' time budget ({MODULES_BUDGET} s) was used up",
                                      version)
                continue
            outcome = kernel.run(f"__hw3_probe({group[0].id!r}, {C.GRADER_SEED}, {version.name!r})")
            shown = version.class_name(group[0].target)
            if outcome.status == "timeout":
                message = (f"{shown} did not finish within {timeout} s (an endless loop?); "
                           "it was interrupted and the other checks went on")
                results += failed_all(group, message, version)
                continue
            if outcome.status == "dead":
                results += failed_all(group, f"the kernel died while checking {shown} (a crash, or the memory limit)",
                                      version)
                continue
            payload = probe_payload(outcome) if outcome.ok else None
            if payload is None and not outcome.ok:
                payload = {"ok": False, "error": outcome.describe()}
            for check in group:
                results.append(C.verdict(check, payload, expected[check.id], version, lambda name: V.locate(nb, name)))
        log(f"modules: {len(results)} checks in {time.perf_counter() - start:.1f} s, {kernel.restarts} kernel restarts")
    for target in version.optional:   # an advanced-track module left as the template's stub: not asked of this student
        own = [r for r in results if r.target == target]
        if own and all(r.unimplemented for r in own):
            results = [r for r in results if r.target != target]
            prepared.notes.append(f"{MODULES}: " + optional_not_counted(version.class_name(target), version))
    order = {check.id: i for i, check in enumerate(checks)}
    return sorted(results, key=lambda r: order[f"{r.target}: {r.name}"])


def grade_submission(path, timeout=60, fast=False, log=lambda s: None, kernel_name=KERNEL_NAME, profile=None):
    """Grades one submission (a grader.intake.Submission, or a folder / .zip path), every kernel of it
    `kernel_name` (the sandbox unless --no-sandbox), its modules by the assignment version `profile`
    (detected from the notebook if None); returns the JSON-ready dict of the report."""
    from grader import differentiation, integrity, mainnb
    started = time.perf_counter()
    errors = []
    results = []
    identity = identity_of(path)
    with tempfile.TemporaryDirectory(prefix="hw3-grade-") as tmp:
        workdir = Path(tmp) / "submission"
        try:
            prepared = prepare(path, workdir)
            identity = identity_of(prepared.submission)
        except Exception as exc:  # an unreadable folder: still a report, never a crash of the batch
            errors.append(f"{identity['submission']}: cannot read the submission ({type(exc).__name__}: {exc})")
            prepared = None
        version, version_why, checks = modules_version(prepared, profile)
        # The course's own versions have no HW3_differentiation.ipynb / HW3_main.ipynb of the kit: when a
        # submission of theirs lacks one, it is not part of its assignment (not counted), not "not found".
        not_asked = set() if version.name == "kit" else \
            {name for name in (differentiation.NOTEBOOK, mainnb.NOTEBOOK) if prepared and name in prepared.missing}
        if prepared is not None:
            errors += prepared.errors
            errors += integrity.scan(prepared)
            for name in prepared.missing:
                if not (fast and name == mainnb.NOTEBOOK) and name not in not_asked:   # --fast does not grade it
                    errors.append(f"{name} not found in the submission")
        if prepared is None or not workdir.exists():
            results += failed_all(checks, "nothing to check", version)
            results += differentiation.failed_all("nothing to check")
            if not fast:
                results += mainnb.failed_all("nothing to check")
        else:
            parts = [(lambda: grade_modules(prepared, timeout, errors, log, kernel_name, profile),
                      lambda m: failed_all(checks, m, version))]
            if differentiation.NOTEBOOK not in not_asked:
                parts.append((lambda: differentiation.grade(prepared, timeout, errors, log, kernel_name),
                              differentiation.failed_all))
            if not fast and mainnb.NOTEBOOK not in not_asked:
                parts.append((lambda: mainnb.grade(prepared, errors, log, kernel_name), mainnb.failed_all))
            for part, fallback in parts:
                try:
                    results += part()
                except Exception as exc:  # a grader bug must not lose the other parts: report it, score 0 here
                    message = f"grader error ({type(exc).__name__}: {exc}); please report it"
                    errors.append(message)
                    results += fallback(message)
    notes = list(prepared.notes) if prepared is not None else []   # the parts add theirs (e.g. duplicate answers)
    score = sum(r.points for r in results)
    max_score = sum(r.max_points for r in results)
    return {**identity, "version": version.name, "version_title": version.title, "version_reason": version_why,
            "not_counted": sorted(not_asked), "score": round(score, 2), "max_score": round(max_score, 2),
            "checks": [r.as_dict() for r in results], "errors": errors, "notes": notes,
            "seconds": round(time.perf_counter() - started, 1), "fast": bool(fast),
            "sandbox": kernel_name == KERNEL_NAME}


def identity_of(submission):
    """Who a report is about: the intake's key, label, platform and name (a bare path: the path)."""
    if isinstance(submission, Submission):
        return {"submission": submission.label, "key": submission.key, "platform": submission.platform,
                "name": submission.name}
    text = shown(submission)
    return {"submission": text, "key": shown(Path(str(submission).rstrip("/")).name), "platform": "folder", "name": ""}
