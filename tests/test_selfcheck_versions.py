"""The assignment versions in the self-check's own terms (no kernel: the checks run on namespaces here):
which version a notebook is read as, and the judges that follow a version's text or accept every reading
of it (running statistics from any start, Adam's eps in either place, Dropout's p in 2017, accumulate or
assign), and the kinds of bug they must still catch (NaN at a kink, alpha swapped)."""
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import ROOT
from grader.options import Options
from grader.parts.modules import MODULES, modules_version
from grader.selfcheck.notebook import load_notebook
from grader.selfcheck import results_for, run_probe, verdict, checks_of
from grader.selfcheck import versions as V
from versions import builder


@pytest.fixture(scope="module")
def kit():
    return dict(vars(load_notebook(ROOT / MODULES, name="reference_for_versions")))


def score(ns, target, version):
    results = results_for(ns, target, V.version(version))
    return sum(r.points for r in results), sum(r.max_points for r in results), \
        {r.name: r.message for r in results if not r.passed}


@pytest.mark.parametrize("version", builder.VERSIONS)
def test_each_version_is_recognised_from_its_notebook(version):
    found, why = V.detect(builder.notebook(version))
    assert found.name == version, why


def test_profile_forces_a_version_and_the_maximum_follows_it():
    prepared = SimpleNamespace(notebooks={MODULES: builder.notebook("2019-21")}, missing=[])
    version, why, checks, note = modules_version(prepared, profile="2017")
    assert version.name == "2017" and "profile" in why and "looks written against the course's 2019-2021" in note
    targets = {c.target for c in checks}
    assert set(V.VERSIONS["2017"].targets) <= targets
    assert "LogSoftMax" in targets   # defined by the notebook: checked too, beyond the 2017 modules
    version, _, checks, note = modules_version(prepared, profile="kit")
    assert version.name == "kit" and "2019-2021" in note


def test_by_default_a_notebook_is_judged_by_the_version_it_was_written_against():
    prepared = SimpleNamespace(notebooks={MODULES: builder.notebook("2019-21")}, missing=[])
    version, _, checks, note = modules_version(prepared)
    assert version.name == "2019-21" and "BatchMeanSubtraction" not in {c.target for c in checks} and note is None
    assert modules_version(prepared, profile="auto")[0].name == "2019-21"
    assert Options().profile == "auto"


def test_the_reference_scores_full_marks_in_every_version_that_shares_its_conventions(kit):
    for target in ("Linear", "BatchNormalization", "BatchMeanSubtraction", "ReLU", "Conv2d", "adam_optimizer"):
        got, top, failed = score(kit, target, "kit")
        assert got == top, failed


def _with(kit, **classes):
    ns = dict(kit)
    ns.update(classes)
    return ns


def test_running_statistics_from_zeros_or_the_first_batch_both_pass_and_a_swapped_alpha_fails(kit):
    base = kit["BatchNormalization"]

    class ZeroStart(base):
        def updateOutput(self, input):
            if self.moving_mean is None:
                self.moving_mean, self.moving_variance = np.zeros(input.shape[1]), np.ones(input.shape[1])
            return super().updateOutput(input)

    class Swapped(base):
        def updateOutput(self, input):
            self.alpha = 1 - self.alpha
            try:
                return super().updateOutput(input)
            finally:
                self.alpha = 1 - self.alpha

    assert score(_with(kit, BatchNormalization=ZeroStart), "BatchNormalization", "2018")[:2] == (7, 7)
    got, top, failed = score(_with(kit, BatchNormalization=Swapped), "BatchNormalization", "2018")
    assert got < top and any("running" in message for message in failed.values()), failed


def test_adam_with_eps_on_the_bias_corrected_root_passes(kit):
    def adam_optimizer(variables, gradients, config, state):
        state.setdefault("m", {}), state.setdefault("v", {}), state.setdefault("t", 0)
        state["t"] += 1
        b1, b2, t = config["beta1"], config["beta2"], state["t"]
        index = 0
        for layer_vars, layer_grads in zip(variables, gradients):
            for var, grad in zip(layer_vars, layer_grads):
                m = state["m"][index] = b1 * state["m"].get(index, 0) + (1 - b1) * grad
                v = state["v"][index] = b2 * state["v"].get(index, 0) + (1 - b2) * grad ** 2
                var -= config["learning_rate"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + config["epsilon"])
                index += 1

    assert score(_with(kit, adam_optimizer=adam_optimizer), "adam_optimizer", "2019-21")[:2] == (4, 4)


def test_a_nan_gradient_at_exactly_zero_fails(kit):
    class ReLU(kit["ReLU"]):
        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * np.maximum(input, 0) / input   # 0/0 at the kink
            return self.gradInput

    got, top, failed = score(_with(kit, ReLU=ReLU), "ReLU", "2019-21")
    assert "gradInput vs finite differences" in failed and "nan" in failed["gradInput vs finite differences"]


def test_dropout_p_keeps_a_unit_in_2017_and_zeroes_it_later(kit):
    class KeepP(kit["Module"]):
        def __init__(self, p=0.5):
            super().__init__()
            self.p = p

        def updateOutput(self, input):
            if self.training:
                self.mask = np.random.binomial(1, self.p, size=input.shape)
                self.output = input * self.mask
            else:
                self.output = input
            return self.output

        def updateGradInput(self, input, gradOutput):
            self.gradInput = gradOutput * self.mask if self.training else gradOutput
            return self.gradInput

    assert score(_with(kit, Dropout=KeepP), "Dropout", "2017")[:2] == (9, 9)
    assert score(_with(kit, Dropout=KeepP), "Dropout", "2018")[0] < 9
    assert score(kit, "Dropout", "2017")[0] < 9


def test_assigned_gradients_pass_where_the_hint_assigns_and_lose_a_point_in_the_kit(kit):
    class Linear(kit["Linear"]):
        def accGradParameters(self, input, gradOutput):
            self.gradW = gradOutput.T @ input
            self.gradb = gradOutput.sum(axis=0)

    ns = _with(kit, Linear=Linear)
    assert score(ns, "Linear", "2019-21")[:2] == (11, 11)
    got, top, failed = score(ns, "Linear", "kit")
    assert (got, top) == (10, 11) and "+=" in failed["gradients accumulate, zeroGradParameters resets"]


def test_a_missing_class_is_named_by_the_versions_own_name():
    [check] = [c for c in checks_of("ClassNLLCriterion", "2018") if c.name == "loss value"]
    payload = run_probe(check.id, {}, 0, "2018")
    assert payload == {"ok": False, "missing": "ClassNLLCriterionUnstable", "kind": "class"}
    message = verdict(check, payload, {}, V.version("2018")).message
    assert message.startswith("no class ClassNLLCriterionUnstable in your notebook")
