"""The grader's verdict rests on what the grader computed, not on what the kernel says (issue 19, section 2).

Each attacking submission of ``tests/hostile_answers.py`` is graded as a TA would (in the sandbox) and must be
contained: answers stored in advance, probe-typed output published by the student's code, backward passes and
differentiation answers computed by finite differences, a main notebook that only types in its metrics, and a
notebook of another assignment version handed in to a kit course.
"""
import subprocess
from dataclasses import replace
import sys

import nbformat
import pytest

import hostile_answers as H
from conftest import ROOT
from grader.parts import differentiation as D
from grader import selfcheck as C
from grader.execution.probe import draw_seed
from grader.execution.session import grade_submission
from grader.options import Options
from grader.report.writers import gradebook_top, platform_grade, summary_table

TIMEOUT = 20


def points(report, target=None, name=None):
    """(points, max points) of the report's checks of `target` (module targets if None) whose name holds `name`."""
    rows = [c for c in report["checks"] if (c["target"] == target if target else c["target"] in C.TARGETS)
            and (name is None or name in c["name"])]
    return sum(c["points"] for c in rows), sum(c["max_points"] for c in rows)


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "release"
    subprocess.run([sys.executable, "-m", "grader", "release", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def test_grading_seeds_are_secret_and_fresh():
    """Each batch draws its own seed with `secrets`: never the self-check's, never the same twice."""
    seeds = {draw_seed() for _ in range(50)}
    assert len(seeds) == 50 and C.SELFCHECK_SEED not in seeds
    assert not hasattr(C, "GRADER_SEED") and not hasattr(D, "SEED")   # nothing the students' copy could read


def test_precomputed_payloads_score_nothing(tmp_path, release_dir):
    """The untouched release plus a cell of stored probe answers (computed on the reference at the only seed a
    student has): every answer must come from code that computes it, so nothing scores."""
    folder = H.precomputed_payloads(tmp_path / "stored", release_dir)
    report = grade_submission(folder, Options(timeout=TIMEOUT, fast=True))
    scored = {(c["target"], c["name"]) for c in report["checks"] if c["points"]}
    assert not scored and points(report)[0] == 0 and points(report, D.TARGET) == (0, 36)


# The checks whose edge inputs are fixed (0 and +-800, probabilities 0 and 1) or that compared the probe's own
# values: each now holds those edges at places drawn from the seed among entries drawn from it, judged by value.
EDGE_AND_PROPERTY_CHECKS = ["ELU: finite for inputs 0 and of magnitude 800", "SoftPlus: finite for inputs 0 and of magnitude 800",
                            "Sigmoid: finite for inputs 0 and of magnitude 800",
                            "ClassNLLCriterion: finite for probabilities 0 and 1", "Dropout: training: kept fraction about 1-p",
                            "BatchNormalization: evaluation: independent of the batch",
                            "BatchMeanSubtraction: evaluation: independent of the batch"]


@pytest.mark.parametrize("check_id", EDGE_AND_PROPERTY_CHECKS)
def test_edge_and_property_checks_need_the_batch_s_inputs(nn, check_id):
    """The reference's answer at the batch's seed passes; its answer stored at the self-check's seed fails. (The
    batch-independence check is the course versions': judged here with the reference's class names.)"""
    version = "kit" if "independent" not in check_id else "2019-21"
    names = dict(C.KIT.names)
    check = {c.id: c for c in C.checks_for(replace(C.VERSIONS[version], names=names))}[check_id]
    seed = 987654321
    expected = check.expect(nn, seed)
    for answer_seed, passes in ((seed, True), (C.SELFCHECK_SEED, False)):
        payload = C.run_probe(check_id, nn, answer_seed, version=version, names=names)
        result = C.verdict(check, payload, expected, replace(C.VERSIONS[version], names=names))
        assert result.passed is passes, (answer_seed, result.message)


def test_journal_keeps_the_batch_seed_for_resume(tmp_path):
    """--resume grades the rest on the inputs of the batch it continues: the journal holds its seed; lines of
    another seed (another batch) are graded again."""
    from grader.execution.batch import Journal
    options = {"timeout": 60, "fast": True}
    journal = Journal(tmp_path / "grades.jsonl", "kit-fingerprint", options)
    journal.seed = 1234567
    journal.open(append=False)
    journal.add("alice", {"score": 1})
    journal.close()
    with open(journal.path, "a") as other:   # a line of another batch (another seed) and a line without one
        other.write('{"key": "bob", "kit": "kit-fingerprint", "options": {"timeout": 60, "fast": true}, '
                    '"seed": 42, "report": {}}\n{"key": "carol", "kit": "kit-fingerprint", '
                    '"options": {"timeout": 60, "fast": true}, "report": {}}\n')
    again = Journal(journal.path, "kit-fingerprint", dict(options))
    done, other = again.load()
    assert again.seed == 1234567 and set(done) == {"alice"} and other == 2


def test_a_notebook_of_another_version_is_never_full_marks_of_the_course_s_assignment(tmp_path):
    """A kit notebook disguised as the 2017 template (its 11 modules, 94 points): judged by the version it was
    written against (the default) it scores what those modules earn, 94/94 -- and the platform gradebooks count it
    out of the batch's largest maximum, never scaled up to full marks (unless the instructor asks:
    --scale-versions); the terminal summary says the batch mixes versions. With the course's version named
    (--profile kit) it is judged by the kit's text, the modules it lacks score 0, and a note says why."""
    folder = H.looks_like_2017(tmp_path / "old")
    mixed = grade_submission(folder, Options(timeout=TIMEOUT, fast=True))
    assert mixed["version"] == "2017" and points(mixed) == (94, 94) and mixed["max_score"] == 94
    honest = dict(mixed, version="kit", score=207, max_score=207)
    assert platform_grade(mixed, gradebook_top([mixed, honest])) == "94"
    assert platform_grade(mixed, gradebook_top([mixed, honest]), scale=True) == "207"
    assert "Assignment versions in this batch" in summary_table([mixed, honest])
    assert "kit 1, 2017 1" in summary_table([honest, mixed]).replace("\n", " ")
    report = grade_submission(folder, Options(timeout=TIMEOUT, fast=True, profile="kit"))
    assert report["version"] == "kit" and report["max_score"] == 171 + 36
    got, top = points(report)
    assert top == 171 and got <= 94   # the modules it has, by the kit's text (its 2017 Dropout p keeps a unit...)
    assert any("looks written against the course's original 2017 template" in note for note in report["notes"])


@pytest.mark.parametrize("build", [H.metrics_only_main, H.inflated_main])
def test_a_main_notebook_whose_model_does_not_back_its_metrics_gets_no_points(tmp_path, build):
    """Typed-in metrics (10/10 in 8 s before) and an untrained model reported as trained: the grader runs the
    selected model on the test set itself, and without agreement no row of the main notebook scores."""
    report = grade_submission(build(tmp_path / "main"), Options(timeout=TIMEOUT))
    main = [c for c in report["checks"] if c["target"] == "main notebook"]
    assert len(main) == 5 and sum(c["points"] for c in main) == 0
    assert all("not evidenced" in c["message"] for c in main), [c["message"] for c in main]
    assert points(report) == (171, 171)   # the modules are the student's own, and correct


@pytest.mark.parametrize("build, reason", [(H.lookup_main, "its predictions do not come from its parameters"),
                                           (H.constant_main, "exposes no parameters")])
def test_a_main_notebook_whose_model_does_not_read_its_parameters_awaits_a_ta(tmp_path, build, reason):
    """A model that looks the test set's labels up (its reported 1.0 agrees: 10/10 before) or answers one class
    (its reported 0.1135 agrees: 8/10 before) backs its metrics without any training: with its parameters shuffled it
    keeps its labels, or it has none. The main notebook's rows await a TA, outside the score and the maximum."""
    report = grade_submission(build(tmp_path / "main"), Options(timeout=TIMEOUT))
    main = [c for c in report["checks"] if c["target"] == "main notebook"]
    assert len(main) == 5 and sum(c["points"] for c in main) == 0
    assert all(c.get("review") and reason in c["message"] for c in main), [c["message"] for c in main]
    assert report["awaiting_review"] == 10 and report["max_score"] == 207
    assert points(report) == (171, 171)


def test_probe_typed_output_of_the_notebook_is_ignored_and_named(tmp_path):
    """A hook that publishes output of the probe's own type before every request (the first-seen rule took it for
    the answer: every check failed, or passed on forged values): only the answer echoing the grader's nonce counts,
    and the report names the notebook's own output."""
    report = grade_submission(H.forged_probe_outputs(tmp_path / "forged"), Options(timeout=TIMEOUT, fast=True))
    assert points(report) == (171, 171), [c for c in report["checks"] if not c["passed"]][:3]
    named = [e for e in report["errors"] if e.startswith("integrity: HW3_Modules.ipynb: the notebook's code published")]
    assert len(named) == 1, report["errors"]


def test_an_answer_given_twice_is_not_accepted():
    """The nonce is unknowable before the request, but code running during it can read it: when it comes back
    twice, nothing from that request counts."""
    from grader.execution.kernel import CellResult
    from grader.execution.probe import new_nonce, payload as probe_payload
    nonce = new_nonce()
    reply = {"output_type": "display_data", "data": {C.MIME: {"ok": True, "values": {}, "nonce": nonce}}}
    stray = {"output_type": "display_data", "data": {C.MIME: {"ok": True, "values": {}}}}
    assert probe_payload(CellResult("ok", outputs=[stray, reply]), nonce) == ({"ok": True, "values": {}}, 1)
    assert probe_payload(CellResult("ok", outputs=[reply, reply]), nonce) == (None, 2)
    assert probe_payload(CellResult("ok", outputs=[stray]), nonce) == (None, 1)


NUMERIC_LAYERS = ("Linear", "SoftMax", "LogSoftMax", "ChannelwiseScaling", "ReLU", "LeakyReLU", "ELU", "SoftPlus",
                  "Sigmoid", "Tanh", "Conv2d", "MaxPool2d")


def test_a_backward_written_as_a_finite_difference_of_the_forward_is_caught(tmp_path):
    """206/207 before: the gradients ask for analytic precision, and the integrity scan names the numeric code."""
    report = grade_submission(H.finite_difference_backward(tmp_path / "numeric"), Options(timeout=120, fast=True))
    grad_input = {c["target"]: c for c in report["checks"] if c["name"] == "gradInput vs finite differences"}
    for layer in NUMERIC_LAYERS:
        assert not grad_input[layer]["passed"], layer
    assert all(grad_input[t]["passed"] for t in grad_input if t not in NUMERIC_LAYERS)
    assert "looks computed by finite differences" in grad_input["Tanh"]["message"]
    assert any(e.startswith("integrity: HW3_Modules.ipynb") and "updateGradInput replaced by _numeric_updateGradInput"
               in e for e in report["errors"]), report["errors"]


def test_differentiation_answers_computed_numerically_are_caught(tmp_path):
    """36/36 before: numerical_gradient is for the check cells; answers must be the derived formulas."""
    report = grade_submission(H.numerical_answers(tmp_path / "numeric"), Options(timeout=TIMEOUT, fast=True))
    numeric = {c["name"]: c for c in report["checks"] if c["target"] == D.TARGET}
    for exercise in ("ex1", "ex2", "ex3"):
        assert not numeric[f"{exercise}: answers vs the reference"]["passed"]
        assert not numeric[f"{exercise}: check cell passes"]["passed"]
    assert "looks computed by finite differences" in numeric["ex1: answers vs the reference"]["message"]
    assert points(report, D.TARGET) == (36 - 9, 36)
    flagged = [e for e in report["errors"] if e.startswith("integrity: HW3_differentiation.ipynb")]
    assert len(flagged) == 4 and all("calls numerical_gradient()" in e for e in flagged), report["errors"]   # 4 answers


def test_differentiation_answers_computed_by_the_complex_step_are_listed_for_a_ta(tmp_path):
    """The complex step is exact to rounding, so its answers pass the analytic precision (9/9 as the grader judges
    them, no point taken); they were never listed. Each answer is now an integrity finding for a TA to read."""
    report = grade_submission(H.complex_step_answers(tmp_path / "complex"), Options(timeout=TIMEOUT, fast=True))
    assert points(report, D.TARGET) == (36, 36)
    flagged = [e for e in report["errors"] if e.startswith("integrity: HW3_differentiation.ipynb")]
    assert len(flagged) == 4 and all("calls complex_step(), which computes a complex-step derivative" in e
                                     for e in flagged), report["errors"]


def test_honest_gradients_of_every_version_pass_at_analytic_precision():
    """The honest spread the tolerance was chosen from: every version's correct submission (and its alternatives)
    agrees with the reference's analytic gradients far inside ANALYTIC_TOLERANCE, on fresh secret inputs."""
    from versions import builder
    from grader.parts.modules import reference_expected
    from grader.selfcheck.notebook import load_notebook
    from grader.selfcheck import versions as V
    seed = draw_seed()
    written = [(v, None) for v in builder.VERSIONS] + [(a[0], a[1]) for a in builder.ALTERNATIVES]
    for index, (version, edit) in enumerate(written):
        nb = builder.notebook(version, edit)
        path = ROOT / "build" / "test" / f"analytic-{index}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        ns = vars(load_notebook(path, name=f"analytic_{index}"))
        detected = V.detect(nb)[0]
        expected = reference_expected(detected.name, seed)
        for check in C.checks_of(version=detected, targets=V.targets_of(detected, V.definitions(nb))):
            if "finite differences" in check.name:
                result = C.verdict(check, C.run_probe(check.id, ns, seed, detected.name), expected[check.id], detected)
                assert result.passed, (version, edit, result.message)
