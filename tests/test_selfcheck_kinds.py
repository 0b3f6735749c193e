"""The kinds of real work the module checks used to misjudge (issue 21), each as a one-line edit of the kit's
reference judged in this process by the version whose text it follows: correct work keeps its points, the bug
each kind hides is caught, and a value that is a convention (a kink at exactly 0, a tie) costs a note at most.
"""
import nbformat
import pytest

from corpus import mutate, reference
from grader.selfcheck.notebook import load_notebook
from grader.selfcheck import results_for
from grader.selfcheck.versions import VERSIONS


def judged(tmp_path, target, version, edits):
    """{check name: Result} of `target` in the reference with `edits` [(old, new)] applied to its cell."""
    nb = reference()
    for old, new in edits:
        nb = mutate(nb, target, old, new)
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(nb, str(path))
    ns = vars(load_notebook(path, name=f"kinds_{tmp_path.name}"))
    return {r.name: r for r in results_for(ns, target, VERSIONS[version])}


def lost(results):
    return {name: r.message for name, r in results.items() if not r.passed}


SEQ_BACKWARD = ("        for i in range(len(self.modules) - 1, 0, -1):\n"
                "            # Module i was fed module i-1's output: that is its input here.\n"
                "            grad = self.modules[i].backward(self.modules[i - 1].output, grad)\n"
                "        self.gradInput = self.modules[0].backward(input, grad) if self.modules else grad\n")


def test_sequential_backward_in_forward_order_loses_the_gradient_check(tmp_path):
    forgot_reversed = ("        inputs = [input] + [m.output for m in self.modules[:-1]]\n"
                       "        for m, x in zip(self.modules, inputs):   # forgot reversed()\n"
                       "            grad = m.backward(x, grad)\n"
                       "        self.gradInput = grad\n")
    results = judged(tmp_path, "Sequential", "kit", [(SEQ_BACKWARD, forgot_reversed)])
    assert "gradInput vs finite differences" in lost(results), results


def test_sequential_backward_that_runs_forward_again_loses_the_gradient_check(tmp_path):
    reruns = ("        inputs = [input]\n"
              "        for m in self.modules[:-1]:   # rebuilds the children's inputs: a stochastic child redraws\n"
              "            inputs.append(m.forward(inputs[-1]))\n"
              "        for m, x in zip(reversed(self.modules), reversed(inputs)):\n"
              "            grad = m.backward(x, grad)\n"
              "        self.gradInput = grad\n")
    results = judged(tmp_path, "Sequential", "kit", [(SEQ_BACKWARD, reruns)])
    assert "gradInput vs finite differences" in lost(results)
    assert "RandomScale" in results["gradInput vs finite differences"].message


@pytest.mark.parametrize("version", ["2017", "kit"])
def test_elu_with_two_strict_masks_keeps_its_points_with_a_note(tmp_path, version):
    results = judged(tmp_path, "ELU", version, [(
        "self.gradInput = np.where(input > 0, gradOutput, gradOutput * (self.alpha * np.exp(negative)))",
        "self.gradInput = gradOutput * ((input > 0) + self.alpha * np.exp(negative) * (input < 0))")])
    assert not lost(results), lost(results)
    assert "at exactly 0" in results[large_inputs_check(results)].message


def test_elu_with_nan_at_zero_still_fails(tmp_path):
    results = judged(tmp_path, "ELU", "2019-21", [(
        "self.gradInput = np.where(input > 0, gradOutput, gradOutput * (self.alpha * np.exp(negative)))",
        "self.gradInput = np.where(input > 0, gradOutput, gradOutput * (self.alpha * np.exp(negative)))"
        " * (input / np.where(input == 0, 0., input))")])
    assert large_inputs_check(results) in lost(results)


def large_inputs_check(results):
    """The name of the check on inputs 0 and 800 (the course's versions name 800 a note: their texts do not ask)."""
    [name] = [name for name in results if "magnitude 800" in name]
    return name


MAXPOOL_ALL_TIED_GRAD = ("np.multiply(gradOutput, first, out=grad_blocks[:, :, :, a, :, b])",
                         "np.multiply(gradOutput, blocks[:, :, :, a, :, b] == self.output,"
                         " out=grad_blocks[:, :, :, a, :, b])  # every tied maximum")


def test_maxpool_tie_rule_is_scored_only_where_the_text_states_it(tmp_path):
    course = judged(tmp_path, "MaxPool2d", "2019-21", [MAXPOOL_ALL_TIED_GRAD])
    assert not lost(course), lost(course)
    [ties] = [r for name, r in course.items() if name.startswith("ties")]
    assert ties.points == 1 and "not scored in this version" in ties.message
    kit = judged(tmp_path, "MaxPool2d", "kit", [MAXPOOL_ALL_TIED_GRAD])
    assert list(lost(kit)) == ["ties: the first maximum gets the gradient"]


BN_STALE_EVAL_BACKWARD = ("        if not self.training:\n            self.gradInput = gradOutput * self.inv_std\n"
                          "            return self.gradInput\n        n = input.shape[0]\n        x_hat = self.output\n",
                          "        n = input.shape[0]\n"
                          "        if self.training:\n            self.x_hat = self.output\n        x_hat = self.x_hat\n")


def test_batchnorm_stale_evaluation_backward_costs_only_its_own_kit_check(tmp_path):
    course = judged(tmp_path, "BatchNormalization", "2019-21", [BN_STALE_EVAL_BACKWARD])
    assert not lost(course), lost(course)
    kit = judged(tmp_path, "BatchNormalization", "kit", [BN_STALE_EVAL_BACKWARD])
    assert list(lost(kit)) == ["evaluation: backward treats the running statistics as constants"]
    assert sum(r.points for r in kit.values()) == 6 and sum(r.max_points for r in kit.values()) == 7


BMS_ZERO_START = ("self.mean_weight = 1.  # d mean / d batch_mean: the first batch alone\n"
                  "                self.old_mean = batch_mean",
                  "self.mean_weight = 1. - self.alpha\n"
                  "                self.old_mean = (1 - self.alpha) * batch_mean")


def test_batchmeansubtraction_first_batch_rule_is_the_kits_text(tmp_path):
    kit = judged(tmp_path, "BatchMeanSubtraction", "kit", [BMS_ZERO_START])
    message = lost(kit)["running mean: a moving average, subtracted in evaluation"]
    assert message.startswith("BatchMeanSubtraction.updateOutput") and "started from 0" in message
    assert not lost(judged(tmp_path, "BatchMeanSubtraction", "2017", [BMS_ZERO_START]))


def test_torch_style_conv2d_parameters_are_reached_through_getparameters(tmp_path):
    nb = reference()
    cell = next(c for c in nb.cells if c.cell_type == "code" and "class Conv2d(" in c.source)
    for old, new in (("self.gradW", "self.gradWeight"), ("self.gradb", "self.gradBias"), ("self.W", "self.weight"),
                     ("self.b", "self.bias")):
        cell.source = cell.source.replace(old, new)
    assert "self.W" not in cell.source
    path = tmp_path / "HW3_Modules.ipynb"
    nbformat.write(nb, str(path))
    ns = vars(load_notebook(path, name="kinds_conv_weight"))
    results = results_for(ns, "Conv2d", VERSIONS["kit"])
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]


def test_criterion_meanings_from_an_untrusted_payload():
    """What the kernel says its classes did decides the names only when well-formed; the losses tell the two
    meanings apart (a mean or a sum of -log p of the true class, on probabilities or on their logs)."""
    import numpy as np
    from grader.parts.modules import criteria_named
    from grader.selfcheck.cases import criterion_meaning, meaning_inputs
    p, t = meaning_inputs(7)
    loss = -np.sum(t * np.log(p)) / len(p)
    assert criterion_meaning([loss, 34.5], 7) == "probabilities"
    assert criterion_meaning([-0.2, loss * len(p)], 7) == "log-probabilities"
    assert criterion_meaning([None, None], 7) is None and criterion_meaning([loss, loss], 7) is None
    version = VERSIONS["2019-21"]
    good = {"ok": True, "values": {"ClassNLLCriterion": [loss, 34.5], "NLLLog": [-0.2, loss]}}
    assert criteria_named(version, ["ClassNLLCriterion", "NLLLog"], good, 7).names == \
        {"ClassNLLCriterion": "ClassNLLCriterion", "ClassNLLLogCriterion": "NLLLog"}
    for bad in (None, "text", {"ok": True, "values": ["x"]}, {"ok": True, "values": {"NLLLog": "nan"}},
                {"ok": False, "values": good["values"]}):
        assert criteria_named(version, ["ClassNLLCriterion", "NLLLog"], bad, 7) is version


def test_the_2019_kernel_has_skimage_util_pad_as_the_course_had_it():
    """The 2019-21 version's kernel start-up gives back skimage.util.pad (numpy.pad), only where it is missing."""
    import numpy as np
    import skimage.util
    had = getattr(skimage.util, "pad", None)
    try:
        if had is not None:
            del skimage.util.pad
        namespace = {}
        exec(VERSIONS["2019-21"].kernel_startup, namespace)
        assert skimage.util.pad is np.pad and not [k for k in namespace if not k.startswith("__builtins")]
        assert VERSIONS["derivative"].kernel_startup and not VERSIONS["kit"].kernel_startup
    finally:
        if had is None:
            del skimage.util.pad
        else:
            skimage.util.pad = had
