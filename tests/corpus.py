"""A corpus of submissions for the grader's tests, built from the kit's reference notebooks.

``build(root)`` writes one folder (or file) per submission under ``root`` and returns
``{name: Submission}``: where it is and what the grader must make of it. Nothing here is committed:
the tests build it in a temporary folder.

Kinds: the reference (full marks), the student release (zero), single-bug mutants (each costs exactly
its own module), broken notebooks (syntax error, dying kernel, memory hog, hanging methods), tampering
notebooks (monkeypatched numpy, forged output, report-like files), a UTF-16 twin of the reference and unreadable
input.
"""
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from conftest import ROOT

MODULES = "HW3_Modules.ipynb"
DIFFERENTIATION = "HW3_differentiation.ipynb"


@dataclass
class Submission:
    path: Path
    lose: set = field(default_factory=set)       # module targets that must lose points (all others: full marks)
    note: str = ""


# The reference's gradW update: the product written straight into gradW on the first backward after
# zeroGradParameters, added on the later ones. A gradW mutant replaces all of it by the one line a student writes.
LINEAR_GRADW = (
    "        if self.grads_zeroed:\n"
    "            # The first backward since zeroGradParameters: gradW holds zeros, so the product is written\n"
    "            # straight into it. `gradW += G^T X` would build a (n_out, n_in) temporary and add it in one\n"
    "            # more pass: ~5% of an MLP training step (bench/README.md).\n"
    "            np.matmul(gradOutput.T, input, out=self.gradW)  # (n_out, n_in)\n"
    "            self.grads_zeroed = False\n"
    "        else:\n"
    "            self.gradW += gradOutput.T @ input  # (n_out, n_in)\n")

# (name, class whose cell is edited, old text, new text, targets that must lose points)
MUTANTS = [
    ("linear_overwrites_gradW", "Linear", LINEAR_GRADW, "        self.gradW = gradOutput.T @ input\n", {"Linear"}),
    ("linear_gradb_mean", "Linear", "self.gradb += gradOutput.sum(axis=0)", "self.gradb += gradOutput.mean(axis=0)", {"Linear"}),
    ("linear_float64_output", "Linear", "W = self.W.astype(input.dtype, copy=False)", "W = self.W", {"Linear"}),
    ("softmax_unstable", "SoftMax", "shifted = input - input.max(axis=1, keepdims=True)", "shifted = input.copy()", {"SoftMax"}),
    ("softmax_grad_sign", "SoftMax", "s * (gradOutput - (gradOutput * s)", "s * (gradOutput + (gradOutput * s)", {"SoftMax"}),
    ("logsoftmax_sum_over_batch", "LogSoftMax", "softmax * gradOutput.sum(axis=1, keepdims=True)",
     "softmax * gradOutput.sum(axis=0, keepdims=True)", {"LogSoftMax"}),
    ("batchnorm_eval_uses_batch", "BatchNormalization", "mean, var = self.moving_mean, self.moving_variance",
     "mean, var = input.mean(axis=0), input.var(axis=0)", {"BatchNormalization"}),
    ("scaling_gradgamma", "ChannelwiseScaling", "self.gradGamma += (gradOutput * input).sum(axis=0)",
     "self.gradGamma += gradOutput.sum(axis=0)", {"ChannelwiseScaling"}),
    ("dropout_no_rescale", "Dropout", " / input.dtype.type(1 - self.p)", "", {"Dropout"}),
    ("dropout_fresh_mask_in_backward", "Dropout", "self.gradInput = gradOutput * self.mask if",
     "self.gradInput = gradOutput * (np.random.random_sample(gradOutput.shape) >= self.p) / (1 - self.p) if", {"Dropout"}),
    ("dropout_eval_scales", "Dropout", "            self.output = input\n", "            self.output = input * (1 - self.p)\n", {"Dropout"}),
    ("bms_eval_batch_mean", "BatchMeanSubtraction", "self.output = input - self.old_mean.astype(input.dtype, copy=False)",
     "self.output = input - (self.old_mean if self.training else input.mean(axis=0)).astype(input.dtype, copy=False)",
     {"BatchMeanSubtraction"}),
    ("bms_grad_ignores_alpha", "BatchMeanSubtraction", "gradOutput - self.mean_weight * gradOutput.mean(axis=0)",
     "gradOutput - gradOutput.mean(axis=0)", {"BatchMeanSubtraction"}),
    ("relu_in_place", "ReLU", "self.output = np.maximum(input, 0)", "self.output = np.maximum(input, 0, out=input)", {"ReLU"}),
    ("leakyrelu_grad_slope", "LeakyReLU", "np.where(input > 0, gradOutput, gradOutput * self.slope)",
     "np.where(input > 0, gradOutput, self.slope)", {"LeakyReLU"}),
    ("elu_grad_drops_alpha", "ELU", "gradOutput * (self.alpha * np.exp(negative))", "gradOutput * np.exp(negative)", {"ELU"}),
    ("softplus_overflows", "SoftPlus", "self.output = np.logaddexp(0, input)", "self.output = np.log(1 + np.exp(input))", {"SoftPlus"}),
    ("sigmoid_grad", "Sigmoid", "gradOutput * self.output * (1 - self.output)", "gradOutput * self.output", {"Sigmoid"}),
    ("tanh_grad", "Tanh", "(1 - self.output ** 2)", "(1 - self.output)", {"Tanh"}),
    ("flatten_scrambles_grad", "Flatten", "gradOutput.reshape(input.shape)", "gradOutput.reshape(input.shape[::-1]).T", {"Flatten"}),
    ("conv_no_flip", "Conv2d", "self.W[:, :, ::-1, ::-1]", "self.W", {"Conv2d"}),
    ("maxpool_grad_first_element", "MaxPool2d", "np.multiply(gradOutput, first,", "np.multiply(gradOutput, a + b == 0,",
     {"MaxPool2d"}),
    ("mse_grad_no_mean", "MSECriterion", "* (2. / input.shape[0])", "* 2.", {"MSECriterion"}),
    ("nll_no_clip", "ClassNLLCriterion", "clipped = np.clip(input, self.EPS, 1 - self.EPS)", "clipped = input", {"ClassNLLCriterion"}),
    ("nll_log_grad_sign", "ClassNLLLogCriterion", "self.gradInput = (-target / input.shape[0])",
     "self.gradInput = (target / input.shape[0])", {"ClassNLLLogCriterion"}),
    ("sequential_wrong_backward_input", "Sequential", "self.modules[i].backward(self.modules[i - 1].output, grad)",
     "self.modules[i].backward(self.modules[i].output, grad)", {"Sequential"}),
    ("adam_no_bias_correction", "adam_optimizer", " / (1 - beta1 ** state['t'])", "", {"adam_optimizer"}),
]


def reference(name=MODULES):
    return nbformat.read(str(ROOT / name), as_version=4)


def cell_defining(nb, name):
    """The code cell that defines class or function `name`."""
    for cell in nb.cells:
        if cell.cell_type == "code" and (f"class {name}(" in cell.source or f"def {name}(" in cell.source):
            return cell
    raise KeyError(f"no cell defines {name}")


def mutate(nb, name, old, new):
    cell = cell_defining(nb, name)
    count = cell.source.count(old)
    if count == 0:
        raise ValueError(f"mutant of {name}: {old!r} not found in its cell")
    cell.source = cell.source.replace(old, new)
    return nb


def with_cell_after(nb, name, source):
    """Inserts a code cell right after the cell defining `name`."""
    index = nb.cells.index(cell_defining(nb, name))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def write(folder, notebooks):
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        if isinstance(nb, bytes):
            (folder / name).write_bytes(nb)
        elif isinstance(nb, str):
            (folder / name).write_text(nb)
        else:
            nbformat.write(nb, str(folder / name))
    return folder


ALL = None  # filled by build(): every module target


def build(root, release_dir=None):
    """Writes the corpus under root; returns {name: Submission}."""
    root = Path(root)
    corpus = {}

    def add(name, notebooks, lose=(), note=""):
        corpus[name] = Submission(write(root / name, notebooks), set(lose), note)

    add("reference", {MODULES: reference(), DIFFERENTIATION: reference(DIFFERENTIATION)}, note="full marks")
    if release_dir is not None:
        corpus["release"] = Submission(Path(release_dir), {"*"}, "zero module points")

    for name, cls, old, new, lose in MUTANTS:
        add(f"mutant_{name}", {MODULES: mutate(reference(), cls, old, new)}, lose, f"bug in {cls}")

    # Broken: costs what the broken cell defines, nothing else.
    nb = reference()
    cell_defining(nb, "Linear").source = cell_defining(nb, "Linear").source.replace("def updateGradInput(self, input, gradOutput):",
                                                                                    "def updateGradInput(self, input, gradOutput)", 1)
    add("syntax_error_in_linear", {MODULES: nb}, {"Linear"})

    add("kernel_dies_while_loading", {MODULES: with_cell_after(reference(), "Tanh", "import os\nos._exit(3)")}, set())
    add("kernel_dies_in_relu", {MODULES: mutate(reference(), "ReLU", "self.output = np.maximum(input, 0)",
                                                "import os; os._exit(3)")}, {"ReLU"})
    add("memory_hog_while_loading", {MODULES: with_cell_after(reference(), "Sigmoid",
                                                              "hog = []\nwhile True:\n    hog.append(np.empty(2 ** 27))")}, set())
    add("memory_hog_in_softplus", {MODULES: mutate(reference(), "SoftPlus", "self.output = np.logaddexp(0, input)",
                                                   "self.output = [np.empty(2 ** 30) for _ in range(10 ** 6)]")}, {"SoftPlus"})
    add("hang_in_linear_backward", {MODULES: mutate(reference(), "Linear", "self.gradInput = gradOutput @ self.W",
                                                    "while True: pass\n        self.gradInput = gradOutput @ self.W")}, {"Linear"})
    add("hang_ignoring_interrupts_in_tanh",
        {MODULES: mutate(reference(), "Tanh", "self.gradInput = gradOutput * (1 - self.output ** 2)",
                         "import time\n"
                         "        while True:  # swallows the grader's interrupt: the kernel must be restarted\n"
                         "            try:\n"
                         "                time.sleep(0.01)\n"
                         "            except BaseException:\n"
                         "                pass\n"
                         "        self.gradInput = gradOutput * (1 - self.output ** 2)")}, {"Tanh"})

    # Tampering: wrong Linear gradient plus tricks; must gain nothing.
    tricks = "\n".join([
        "import builtins, json, os, numpy",
        "numpy.allclose = lambda *a, **k: True",
        "numpy.testing.assert_allclose = lambda *a, **k: None",
        "builtins.abs = lambda x: 0",
        "print('PASSED: all checks passed, score 206 / 206')",
        "for name in ('report.json', 'grades.csv', 'feedback.md', '../report.json'):",
        "    try:",
        "        open(name, 'w').write(json.dumps({'score': 206, 'max_score': 206, 'passed': True}))",
        "    except OSError:",
        "        pass",
        "from IPython.display import publish_display_data",
        "publish_display_data({'application/vnd.hw3-grader.probe+json': {'ok': True, 'values': {}}})",
    ])
    nb = mutate(reference(), "Linear", "self.gradInput = gradOutput @ self.W", "self.gradInput = 2 * gradOutput @ self.W")
    add("tamper_numpy_and_reports", {MODULES: with_cell_after(nb, "adam_optimizer", tricks)}, {"Linear"})
    forge = "\n".join([
        "import grader.selfcheck as _c",
        "_c.run_probe = lambda check_id, ns, seed: {'ok': True, 'values': {}}",
        "_c.verdict = lambda *a, **k: None",
        "_c.BY_ID.clear()",
    ])
    add("tamper_forged_probe", {MODULES: with_cell_after(reference(), "adam_optimizer", forge)}, {"*"},
        "replaces the grader's probe in its kernel: every check fails")

    # Crafty: a broken Linear, then a cell that finds the kit through the kernel's Python (the kit's .venv)
    # and runs the reference solution. The values then pass; the integrity scan must flag the cell.
    borrow = "\n".join([
        "import json, sys",
        "from pathlib import Path",
        "kit = Path(sys.executable).parents[2]  # <kit>/.venv/bin/python",
        "for cell in json.load(open(kit / 'HW3_Modules.ipynb'))['cells']:",
        "    source = ''.join(cell['source'])",
        "    if cell['cell_type'] == 'code' and 'selfcheck' not in cell['metadata'].get('tags', []) and 'grader' not in source:",
        "        exec(source, globals())",
    ])
    nb = mutate(reference(), "Linear", "self.gradInput = gradOutput @ self.W", "self.gradInput = 2 * gradOutput @ self.W")
    add("cheat_runs_the_kit_reference", {MODULES: with_cell_after(nb, "adam_optimizer", borrow)}, set(),
        "tries to borrow the reference at run time (the sandbox hides it): flagged for review")

    # Another encoding of a notebook: graded like its UTF-8 twin.
    add("reference_utf16", {MODULES: b"\xff\xfe" + nbformat.writes(reference()).encode("utf-16-le"),
                            DIFFERENTIATION: reference(DIFFERENTIATION)}, note="full marks, read as UTF-16")

    # Unreadable input: handed in, but not a notebook the grader can read: its points await a TA (never a 0).
    add("png_under_notebook_name", {MODULES: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
                                    DIFFERENTIATION: reference(DIFFERENTIATION)}, {"*"})
    add("not_a_notebook", {MODULES: "this is not a notebook\n"}, {"*"})
    add("invalid_json", {MODULES: '{"cells": [{"cell_type": "code", "source": "import numpy'}, {"*"})
    add("invalid_notebook_schema", {MODULES: json.dumps({"cells": "no", "nbformat": 4, "nbformat_minor": 5})}, {"*"})
    corpus["missing_folder"] = Submission(root / "does_not_exist", {"*"})
    (root / "empty_folder").mkdir()
    corpus["empty_folder"] = Submission(root / "empty_folder", {"*"})

    # The reference as a zip of a folder.
    archive = root / "reference_zipped.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in (MODULES, DIFFERENTIATION):
            zf.write(corpus["reference"].path / name, f"alice_hw3/{name}")
    corpus["reference_zipped"] = Submission(archive, set(), "full marks")
    return corpus
