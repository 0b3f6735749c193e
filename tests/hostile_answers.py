"""Submissions that attack what the grader believes (issue 19, section 2), built from the kit's own notebooks.

Each builder writes one submission folder and returns it; ``tests/test_hostile_answers.py`` grades them and holds
the verdicts. Nothing here is committed as a notebook: the tests build them in a temporary folder.

* :func:`precomputed_payloads`: the students' release, untouched, plus one cell that replaces the grader's probes
  in its kernel with payloads computed in advance on the reference (on the only seed a student has: the
  self-check's); the differentiation notebook likewise.
* :func:`forged_probe_outputs`: correct modules, plus a hook that publishes output of the probe's own MIME type
  before every cell the grader runs (what the first-seen rule took for the probe's answer).
* :func:`finite_difference_backward`: every backward written as a generic central difference of the forward.
* :func:`numerical_answers`: the differentiation answers computed with the notebook's own ``numerical_gradient``.
* :func:`metrics_only_main`: a main notebook that only assigns ``metrics``; :func:`inflated_main`: one whose selected
  model is untrained while its metrics claim a trained one's accuracy.
* :func:`looks_like_2017`: a correct notebook of the 2017 template (11 modules) handed in to a kit course.
"""
import json

import nbformat

from conftest import ROOT
from grader.parts import differentiation as D
from grader.parts import probes as P
from grader import selfcheck as C
from grader.selfcheck.notebook import load_notebook
from grader.selfcheck.catalogue import checks_for

MODULES = "HW3_Modules.ipynb"
DIFFERENTIATION = "HW3_differentiation.ipynb"
MAIN = "HW3_main.ipynb"


def reference(name=MODULES):
    return nbformat.read(str(ROOT / name), as_version=4)


def write(folder, notebooks):
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(folder / name))
    return folder


def stored_payloads(seed):
    """{"modules": {check id: payload}, "differentiation": {exercise: payload}}: what the reference's probes send
    on the inputs of `seed` (an attacker holding a correct solution, or a friend's, computes this at home)."""
    modules = vars(load_notebook(ROOT / MODULES, name="attacker_reference_modules"))
    answers = D.reference()[1]
    return {"modules": {c.id: C.run_probe(c.id, modules, seed, "kit") for c in checks_for("kit")},
            "differentiation": {ex: P.run_probe(ex, answers, seed + 1) for ex in D.EXERCISES}}


REPLAY = '''
import json as _json
import grader.selfcheck as _c, grader.parts.probes as _p   # what the grader's probe calls in the kernel
_STORED = _json.loads({stored!r})
_c.run_probe = lambda namespace, check_id, seed, version="kit": _STORED["modules"][check_id]
_p.run_probe = lambda namespace, exercise, seed: _STORED["differentiation"][exercise]
'''


def precomputed_payloads(folder, release_dir, seed=C.SELFCHECK_SEED):
    """The release's notebooks (every solution a stub) plus a last cell that answers every probe from storage."""
    stored = json.dumps(stored_payloads(seed))
    notebooks = {}
    for name in (MODULES, DIFFERENTIATION):
        nb = nbformat.read(str(release_dir / name), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(REPLAY.format(stored=stored)))
        notebooks[name] = nb
    return write(folder, notebooks)


FORGE = '''
from IPython import get_ipython
from IPython.display import publish_display_data


def _forge(*args):   # before every cell the grader runs, a "probe answer" that says everything failed
    publish_display_data({"application/vnd.hw3-grader.probe+json": {"ok": False, "error": "forged",
                                                                     "metrics": {"mnist_test_accuracy": 0.99}}})


get_ipython().events.register("pre_run_cell", _forge)
'''


def forged_probe_outputs(folder):
    """The reference modules, correct, plus a hook publishing probe-typed output before every cell."""
    nb = reference()
    nb.cells.append(nbformat.v4.new_code_cell(FORGE))
    return write(folder, {MODULES: nb})


NUMERIC_BACKWARD = '''
def _numeric_gradient(f, x, g, h=1e-5):
    """d sum(f(x) * g) / dx by central differences."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = np.sum(f(x) * g)
        x[i] = old - h
        minus = np.sum(f(x) * g)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _numeric_updateGradInput(self, input, gradOutput):
    forward = type(self).updateOutput
    self.gradInput = _numeric_gradient(lambda x: np.array(forward(copy.deepcopy(self), x), copy=True), input,
                                       gradOutput).astype(input.dtype)
    return self.gradInput


import copy
for _layer in (Linear, SoftMax, LogSoftMax, ChannelwiseScaling, ReLU, LeakyReLU, ELU, SoftPlus, Sigmoid, Tanh,
               Conv2d, MaxPool2d):
    _layer.updateGradInput = _numeric_updateGradInput
'''


def finite_difference_backward(folder):
    """The reference, with every layer's updateGradInput replaced by a central difference of its forward."""
    nb = reference()
    nb.cells.append(nbformat.v4.new_code_cell(NUMERIC_BACKWARD))
    return write(folder, {MODULES: nb})


def answered(folder, answers):
    """The reference modules beside the kit's differentiation notebook whose answer cells `answers` ({cell id: source})
    replace."""
    nb = reference(DIFFERENTIATION)
    for cell in nb.cells:
        if cell.get("id") in answers:
            cell.source = answers[cell.get("id")]
    return write(folder, {MODULES: reference(), DIFFERENTIATION: nb})


def numerical_answers(folder):
    """The kit's differentiation notebook with every answer of ex1-ex3 taken from numerical_gradient."""
    return answered(folder, {
        "ex1-answer": "def grad_xTx(x):\n    return numerical_gradient(lambda x_: x_ @ x_, x)",
        "ex2-answer": "def grad_trAB_wrt_A(A, B):\n    return numerical_gradient(lambda A_: np.trace(A_ @ B), A)",
        "ex3-answer": ("def grad_xAc_wrt_x(x, A, c):\n    return numerical_gradient(lambda x_: x_ @ A @ c, x)\n\n\n"
                       "def grad_xAc_wrt_A(x, A, c):\n    return numerical_gradient(lambda A_: x @ A_ @ c, A)"),
    })


COMPLEX_STEP = '''import numpy as np

def complex_step(f, X):
    """d f / d X, entry by entry: the imaginary part of f(X + ih) over h (exact to rounding)."""
    X = np.asarray(X, dtype=float)
    G = np.zeros(X.shape)
    for idx in np.ndindex(X.shape):
        Z = X.astype(complex)
        Z[idx] += 1e-30j
        G[idx] = np.imag(f(Z)) * 1e30
    return G

'''


def complex_step_answers(folder):
    """The kit's differentiation notebook with every answer of ex1-ex3 taken by the complex step (9/9, unlisted)."""
    return answered(folder, {
        "ex1-answer": COMPLEX_STEP + "def grad_xTx(x):\n    return complex_step(lambda x_: x_ @ x_, x)",
        "ex2-answer": "def grad_trAB_wrt_A(A, B):\n    return complex_step(lambda A_: np.trace(A_ @ B), A)",
        "ex3-answer": ("def grad_xAc_wrt_x(x, A, c):\n    return complex_step(lambda x_: x_ @ A @ c, x)\n\n\n"
                       "def grad_xAc_wrt_A(x, A, c):\n    return complex_step(lambda A_: x @ A_ @ c, A)"),
    })


METRICS_ONLY = '''
metrics = {"mnist_val_accuracy": 0.985, "mnist_test_accuracy": 0.984, "finetuned_test_accuracy": 0.97,
           "baseline_test_accuracy": 0.96, "autoencoder_val_loss": 4.2, "pca30_val_loss": 9.9, "fast_mode": True,
           "seconds": 30.0,
           "activation_comparison": {name: {"final_training_loss": 0.1, "seconds_per_epoch": 1.0}
                                     for name in ("ReLU", "ELU", "LeakyReLU", "SoftPlus",
                                                  "ReLU + BMS", "ELU + BMS", "LeakyReLU + BMS", "SoftPlus + BMS")}}
'''


def metrics_only_main(folder):
    """Correct modules and differentiation, and a main notebook of one cell: the metrics, typed in."""
    main = nbformat.v4.new_notebook()
    main.cells = [nbformat.v4.new_code_cell(METRICS_ONLY)]
    return write(folder, {MODULES: reference(), DIFFERENTIATION: reference(DIFFERENTIATION), MAIN: main})


INFLATED = '''
%run HW3_Modules.ipynb
np.random.seed(0)
selection = {"best_net": Sequential(Linear(784, 10), LogSoftMax())}   # never trained: ~10 % of the digits right
''' + METRICS_ONLY


def inflated_main(folder):
    """A main notebook whose selected model is untrained while its metrics claim 0.984 on the test set."""
    main = nbformat.v4.new_notebook()
    main.cells = [nbformat.v4.new_code_cell(INFLATED)]
    return write(folder, {MODULES: reference(), DIFFERENTIATION: reference(DIFFERENTIATION), MAIN: main})


LOOKUP = '''
%run HW3_Modules.ipynb
from data.mnist import load_mnist
X_train, y_train, X_test, y_test = load_mnist()

class Lookup(Module):
    """The test set's labels looked up by image; a weight it never reads, so that it has parameters."""
    def __init__(self):
        super().__init__()
        self.W, self.gradW = np.ones((10, 10)), np.zeros((10, 10))
        self.table = {x.tobytes(): int(y) for x, y in zip(X_test, y_test)}
    def updateOutput(self, input):
        self.output = np.eye(10)[[self.table.get(x.tobytes(), 0) for x in input]]
        return self.output
    def getParameters(self):
        return [self.W]

selection = {"best_net": Lookup()}
''' + METRICS_ONLY.replace("0.984", "1.0")

CONSTANT = '''
import numpy as np

class One:
    """Every image is a 1: 11.35 % of MNIST's test set, reported as such."""
    def forward(self, input):
        return np.eye(10)[np.ones(len(input), int)]

selection = {"best_net": One()}
''' + METRICS_ONLY.replace("0.984", "0.1135")


def _main_only(folder, source):
    main = nbformat.v4.new_notebook()
    main.cells = [nbformat.v4.new_code_cell(source)]
    return write(folder, {MODULES: reference(), DIFFERENTIATION: reference(DIFFERENTIATION), MAIN: main})


def lookup_main(folder):
    """A main notebook of one cell: typed metrics and a 'model' that looks the test set's labels up (10/10 before)."""
    return _main_only(folder, LOOKUP)


def constant_main(folder):
    """A main notebook of one cell: typed metrics and a model that answers 1 for every image, its accuracy reported
    truly (8/10 before: only the accuracy row failed)."""
    return _main_only(folder, CONSTANT)


def looks_like_2017(folder):
    """A correct notebook of the course's 2017 template (its 11 modules), as tests/versions/builder.py writes it."""
    from versions import builder
    return write(folder, {MODULES: builder.notebook("2017")})
