"""Tests for HW3_main.ipynb that the nbval run of `make test` does not cover.

nbval executes the notebook top to bottom in fast mode (and its assertion cells check each section's
results). These tests are cheap and look at what that run cannot:

(a) the committed notebook: clean (no outputs, no execution counts), valid, stable unique cell ids, and
    the loading contract (HW3_SELFCHECK=0, then %run HW3_Modules.ipynb; HW3_FAST read once; metrics last);
(b) the helpers the experiments rely on, run from the notebook's own cells: the vectorised augmentation
    moves and rotates pixels exactly where it should; `set_batch_means` centres every
    BatchMeanSubtraction's input; progress falls back to text outside a Jupyter front-end.

Cells are addressed by their stable ids ("main-augment", ...).
"""
import re

import nbformat
import numpy as np
import pytest

from conftest import ROOT
from grader.notebook import load_notebook

NOTEBOOK = ROOT / "HW3_main.ipynb"
METRIC_KEYS = ("mnist_val_accuracy", "mnist_test_accuracy", "autoencoder_val_loss", "pca30_val_loss",
               "finetuned_test_accuracy", "baseline_test_accuracy", "activation_comparison", "fast_mode", "seconds")


@pytest.fixture(scope="module")
def nb():
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    nbformat.validate(notebook)
    return notebook


def cell(nb, cell_id):
    """The source of the cell with id `cell_id`."""
    matches = [c.source for c in nb.cells if c.get("id") == cell_id]
    assert matches, f"HW3_main.ipynb has no cell with id {cell_id!r}; the tests address cells by id"
    return matches[0]


@pytest.fixture(scope="module")
def modules():
    return load_notebook(ROOT / "HW3_Modules.ipynb", name="hw3_modules")


def run_cells(nb, namespace, *cell_ids):
    """Execute the given cells of HW3_main.ipynb in `namespace` (a dict) and return it."""
    for cell_id in cell_ids:
        exec(compile(cell(nb, cell_id), f"HW3_main.ipynb:{cell_id}", "exec"), namespace)
    return namespace


# (a) the committed notebook ------------------------------------------------------------------------

def test_committed_clean(nb):
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, (
                f"cell {c.id} carries outputs: clear them (Kernel > Restart and Clear Outputs) before committing")
    assert "/work/" not in NOTEBOOK.read_text(), "the notebook contains a machine path"


def test_cell_ids_unique_and_stable(nb):
    ids = [c.get("id") for c in nb.cells]
    assert all(i and i.startswith("main-") for i in ids), "every cell needs a stable id starting with 'main-'"
    assert len(ids) == len(set(ids)), "duplicate cell ids"


def test_loads_framework_first(nb):
    first_code = next(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r'os\.environ\["HW3_SELFCHECK"\] = "0"[\s\S]*%run HW3_Modules\.ipynb', first_code), (
        "the first code cell must set HW3_SELFCHECK=0 and then %run HW3_Modules.ipynb")


def test_fast_mode_read_once(nb):
    reads = [c.id for c in nb.cells if c.cell_type == "code" and "HW3_FAST" in c.source]
    assert reads == ["main-imports"], f"HW3_FAST must be read once, in main-imports; found in {reads}"


def test_last_cell_writes_every_metric(nb):
    last = [c for c in nb.cells if c.cell_type == "code"][-1].source
    assert 'metrics.json' in last
    for key in METRIC_KEYS:
        assert f'"{key}"' in last, f"the metrics cell does not check for {key!r}"


# (b) the helpers, from the notebook's own cells ----------------------------------------------------

class FixedRng:
    """Stands in for np.random.Generator: `uniform` always returns its upper bound."""

    def uniform(self, low, high, size):
        return np.full(size, high, dtype=float)


@pytest.fixture(scope="module")
def augment(nb):
    return run_cells(nb, {"np": np}, "main-augment-def")["augment"]


def digit_like(n=3):
    """Images with distinct values at distinct pixels, zero on a 3-pixel border (nothing falls off)."""
    rng = np.random.default_rng(0)
    images = np.zeros((n, 28, 28), np.float32)
    images[:, 3:25, 3:25] = rng.random((n, 22, 22), dtype=np.float32)
    return images.reshape(n, 784)


def test_augment_identity(augment):
    X = digit_like()
    np.testing.assert_allclose(augment(X, np.random.default_rng(0), max_degrees=0, max_shift=0), X, atol=1e-6)


def test_augment_shift_moves_every_pixel(augment):
    X = digit_like()
    shifted = augment(X, FixedRng(), max_degrees=0, max_shift=2.0).reshape(-1, 28, 28)
    expected = np.roll(X.reshape(-1, 28, 28), (2, 2), axis=(1, 2))  # down 2 rows, right 2 columns
    np.testing.assert_allclose(shifted, expected, atol=1e-5)


def test_augment_rotation_by_90_degrees(augment):
    X = digit_like()
    rotated = augment(X, FixedRng(), max_degrees=90.0, max_shift=0).reshape(-1, 28, 28)
    turned = [np.rot90(X.reshape(-1, 28, 28), k, axes=(1, 2)) for k in (1, -1)]
    errors = [np.abs(rotated - t).max() for t in turned]
    assert min(errors) < 1e-4, f"a 90-degree rotation should be exact up to interpolation; errors {errors}"


def test_augment_no_python_loop_over_images(nb):
    source = cell(nb, "main-augment-def")
    assert not re.search(r"^\s*for\b", source, flags=re.M), "augment must be vectorised: no Python loop"


def test_set_batch_means_centres_each_layer(nb, modules):
    ns = run_cells(nb, dict(vars(modules)), "main-act-model")
    np.random.seed(0)
    net = ns["mlp"]("ReLU", batch_mean_subtraction=True)
    X = np.random.default_rng(0).random((500, 784), dtype=np.float32)
    net.train()
    net.forward(X[:7])  # a small batch: its means are far from the population's
    ns["set_batch_means"](net, X)
    assert not net.training
    h = X
    for module in net.modules:
        out = module.forward(h)
        if isinstance(module, modules.BatchMeanSubtraction):
            np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
        h = out


def test_progress_is_text_outside_a_front_end(nb, monkeypatch, capsys):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("HW3_PROGRESS", raising=False)
    ns = run_cells(nb, {"os": __import__("os"), "display": print}, "main-progress")
    assert ns["FRONT_END"] is False
    progress = ns["Progress"](10, "unit")
    progress.step(10)
    progress.log("epoch 1/1")
    assert capsys.readouterr().out.strip() == "unit: epoch 1/1"


def test_progress_is_a_widget_in_jupyter(nb, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/HW3_main.ipynb")  # what jupyter_server sets
    monkeypatch.delenv("HW3_PROGRESS", raising=False)
    shown = []
    ns = run_cells(nb, {"os": __import__("os"), "display": shown.append}, "main-progress")
    assert ns["FRONT_END"] is True
    progress = ns["Progress"](20, "unit")
    progress.step(20)
    progress.log("epoch 1/1")
    bar, label = shown[0].children
    assert (bar.value, bar.max, label.value) == (20, 20, "epoch 1/1")


# The experiments are the homework: the student release must not hand them out.
SOLUTION_CELLS = ("main-logreg-full", "main-toy-mlp", "main-onehot", "main-act-model", "main-act-run",
                  "main-act-opinion", "main-augment-def", "main-best-model", "main-best-train", "main-ae-model",
                  "main-ae-train", "main-codes", "main-code-clf", "main-chop", "main-finetune",
                  "main-pretrain-answers", "main-pca")


def test_student_release_stubs_every_experiment(nb):
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    from grader.release import student_notebook
    student = {cell.id: cell for cell in student_notebook(ROOT / "HW3_main.ipynb").cells}
    for cell_id in SOLUTION_CELLS:
        source = student[cell_id].source
        assert "raise NotImplementedError" in source, f"{cell_id}: no stub in the student version"
        assert "### BEGIN SOLUTION" not in source
    for cell_id in ("main-act-run", "main-best-train", "main-ae-train", "main-code-clf", "main-finetune"):
        assert "= train(" not in student[cell_id].source, f"{cell_id}: the training call is still there"
    assert "np.eye(" not in student["main-onehot"].source          # the one-hot answer is gone
    assert "PCA(n_components=30" not in student["main-pca"].source  # and so is the PCA call
    transform = TransformerManager().transform_cell
    for cell in student.values():
        if cell.cell_type == "code":
            ast.parse(transform(cell.source))  # every stubbed cell is still valid Python
