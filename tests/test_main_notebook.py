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
from grader.selfcheck.notebook import load_notebook

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
    ns = run_cells(nb, {"os": __import__("os")}, "main-progress")
    assert ns["FRONT_END"] is False
    bar = ns["progress_bar"](10, "unit")
    assert bar.disable  # no bar where nobody watches it: nbclient, nbval, the grader
    bar.update(10)
    ns["report"](bar, "unit", "epoch 1/1")
    bar.close()
    assert capsys.readouterr().out.strip() == "unit: epoch 1/1"


def test_progress_is_a_tqdm_auto_bar_in_jupyter(nb, monkeypatch, capsys):
    """In a front-end the bar is tqdm.auto's (an ipywidgets bar in JupyterLab) with the epoch's summary beside it."""
    import tqdm.auto
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/HW3_main.ipynb")  # what jupyter_server sets
    monkeypatch.delenv("HW3_PROGRESS", raising=False)
    ns = run_cells(nb, {"os": __import__("os")}, "main-progress")
    assert ns["FRONT_END"] is True and ns["tqdm"] is tqdm.auto.tqdm
    bar = ns["progress_bar"](20, "unit")
    assert not bar.disable
    bar.update(20)
    ns["report"](bar, "unit", "epoch 1/1")
    assert (bar.n, bar.total, bar.desc, bar.postfix) == (20, 20, "unit", "epoch 1/1")
    bar.close()
    assert "unit" not in capsys.readouterr().out  # the summary sits beside the bar, not printed


def test_no_hand_made_progress_widget(nb):
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "IntProgress" not in sources and "FloatProgress" not in sources and "class Progress" not in sources


# The experiments are the homework: the student release must not hand them out.
SOLUTION_CELLS = ("main-logreg-full", "main-toy-mlp", "main-onehot", "main-act-model", "main-act-run",
                  "main-augment-def", "main-best-model", "main-best-train", "main-ae-model",
                  "main-ae-train", "main-codes", "main-code-clf", "main-chop", "main-finetune", "main-pca")
# The opinions: generated from the run's numbers in the kit, a markdown answer in the student's notebook.
MARKDOWN_ANSWERS = ("main-act-opinion", "main-ae-recipe", "main-pretrain-answers")


@pytest.fixture(scope="module")
def student():
    from grader.kit.release import student_notebook
    return {c.id: c for c in student_notebook(NOTEBOOK).cells}


def test_student_release_stubs_every_experiment(student):
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    from grader.kit.release import MARKDOWN_STUB
    for cell_id in SOLUTION_CELLS:
        source = student[cell_id].source
        assert "raise NotImplementedError" in source, f"{cell_id}: no stub in the student version"
        assert "### BEGIN SOLUTION" not in source
    for cell_id in MARKDOWN_ANSWERS:
        assert student[cell_id].cell_type == "markdown" and student[cell_id].source == MARKDOWN_STUB, cell_id
    for cell_id in ("main-act-run", "main-best-train", "main-ae-train", "main-code-clf", "main-finetune"):
        code = [line for line in student[cell_id].source.splitlines() if not line.lstrip().startswith("#")]
        assert not any("= train(" in line for line in code), f"{cell_id}: the training call is still there"
    assert "np.eye(" not in student["main-onehot"].source          # the one-hot answer is gone
    assert "PCA(n_components=30" not in student["main-pca"].source  # and so is the PCA call
    transform = TransformerManager().transform_cell
    for cell in student.values():
        if cell.cell_type == "code":
            ast.parse(transform(cell.source))  # every stubbed cell is still valid Python


def test_student_release_speaks_to_a_student(student):
    text = "\n".join(c.source for c in student.values())
    for kit_only in ("reference solution", "make run", "make test", "KIT ONLY", "STUDENT ONLY", "0.93", "<= 4.5"):
        assert kit_only not in text, f"the student's HW3_main.ipynb still says {kit_only!r}"
    title = student["main-title"].source
    assert 'os.environ["HW3_FAST"] = "1"' in title and "NotImplementedError" in title
    assert '# os.environ["HW3_FAST"] = "1"' in student["main-imports"].source  # the line the title points to
    # the reference's recipes stay fenced: the best model and the autoencoder's training
    for cell_id, recipe in (("main-best-model-md", "Conv2d(16 -> 64, 3x3)"), ("main-ae-recipe-short-md", "0.002"),
                            ("main-ae-config", "2e-3"), ("main-best-train", "2e-3")):
        assert recipe not in student[cell_id].source, f"{cell_id} hands out the reference's {recipe!r}"


def test_every_stub_is_introduced_by_a_your_part_text(nb):
    """A student learns what a stub must define from the text above it, not from reading later cells."""
    cells = nb.cells
    for i, c in enumerate(cells):
        if c.get("id") in SOLUTION_CELLS and c.id != "main-augment-def":
            before = "\n".join(x.source for x in cells[max(0, i - 3):i] if x.cell_type == "markdown")
            assert "**Your part" in before or c.id in ("main-code-clf", "main-chop", "main-finetune", "main-codes",
                                                      "main-best-train", "main-ae-train"), c.id
            if c.id in ("main-code-clf", "main-chop", "main-finetune", "main-codes", "main-best-train", "main-ae-train"):
                first_comment = next(line for line in c.source.splitlines() if line.startswith("#"))
                assert ":" in first_comment or "=" in first_comment, f"{c.id}: its first comment states what to define"


def test_later_cells_do_not_read_names_only_the_reference_defines(nb, student):
    """Names that only a solution region defines (like the reference's `comparison`) are not used by given cells."""
    import ast
    import re

    from IPython.core.inputtransformer2 import TransformerManager
    transform = TransformerManager().transform_cell

    def names(source, ctx):
        tree = ast.parse(transform(source))
        found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}
        if ctx is ast.Store:
            found |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        return found

    def reads(source):  # names a cell reads without assigning them itself: what it needs from earlier cells
        return names(source, ast.Load) - names(source, ast.Store)

    # what the student reads: the markdown and the comments (a stub's first comment says what it defines)
    stated = "\n".join(c.source if c.cell_type == "markdown" else
                       "\n".join(line for line in c.source.splitlines() if line.lstrip().startswith("#"))
                       for c in student.values())
    for c in nb.cells:
        if c.cell_type != "code" or not (c.id in MARKDOWN_ANSWERS or "### BEGIN SOLUTION" in c.source):
            continue
        # top-level regions only: a region inside a function defines locals
        regions = re.findall(r"^### BEGIN SOLUTION\n(.*?)^### END SOLUTION", c.source, flags=re.S | re.M)
        inside = set().union(*(names(r, ast.Store) for r in regions))
        outside = names(student[c.id].source, ast.Store) if c.id not in MARKDOWN_ANSWERS else set()
        for name in inside - outside:
            later = [x.id for x in nb.cells[nb.cells.index(c) + 1:] if x.cell_type == "code" and x.id in student
                     and x.id not in MARKDOWN_ANSWERS and name in reads(student[x.id].source)]  # (kit-only cells: not in it)
            if later:
                assert re.search(rf"`{name}`|#.*\b{name}\b", stated), (
                    f"{c.id}: the solution defines {name!r}, which {later} use, but no text tells the student to")


def test_run_names_and_nested_blocks_are_accepted(nb, modules):
    ns = run_cells(nb, dict(vars(modules)), "main-act-model")
    names = ["ReLU", "ReLU + BatchMeanSubtraction", "elu", "ELU, BatchMeanSubtraction", "Leaky ReLU".replace(" ", ""),
             "LeakyReLU with BatchMeanSubtraction", "SoftPlus", "softplus+batchmeansubtraction"]
    assert [ns["activation_of"](n) for n in names] == ["ReLU", "ReLU", "ELU", "ELU", "LeakyReLU", "LeakyReLU",
                                                       "SoftPlus", "SoftPlus"]
    assert [ns["uses_mean_subtraction"](n) for n in names] == [False, True] * 4
    with pytest.raises(ValueError, match="names none of the activations"):
        ns["activation_of"]("tanh")
    # a `block` that returns a Sequential: the batch statistics and He initialisation still reach every layer
    S, L, B, R = modules.Sequential, modules.Linear, modules.BatchMeanSubtraction, modules.ReLU
    np.random.seed(0)
    net = S(S(L(784, 16), B(), R()), S(L(16, 8), B(), R()), L(8, 10))
    X = np.random.default_rng(0).random((300, 784))
    net.train()
    net.forward(X[:3])
    ns["set_batch_means"](net, X)
    h = X
    for module in ns["leaves"](net):
        out = module.forward(h)
        if isinstance(module, B):
            np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-8)
        h = out
    assert len(list(ns["leaves"](net))) == 7


def test_best_model_turns_rows_into_images_and_returns_log_probabilities(nb, modules):
    ns = run_cells(nb, dict(vars(modules)), "main-best-model")
    images = ns["Images"]()
    X = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    assert images.forward(X).shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(images.backward(X, images.output), X)  # the gradient goes back to rows
    net = ns["best_model"]()
    net.train()
    net.forward(X)  # a training batch starts BatchNormalization's running statistics
    net.evaluate()
    out = net.forward(X)
    assert out.shape == (3, 10) and out.dtype == np.float32
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1, rtol=1e-5)


def test_test_time_augmentation_averages_the_probabilities_of_the_rotated_views(nb, modules):
    """The kit's test-time augmentation (main-best-tta-def): log of the mean of the wrapped network's probabilities
    over the image and its rotations; the mode reaches the wrapped network; it does not train."""
    ns = run_cells(nb, dict(vars(modules), FAST=False), "main-best-tta-def")
    rotated, TTA = ns["rotated"], ns["TestTimeAugmentation"]
    X = digit_like(4)
    np.testing.assert_allclose(rotated(X, 0), X, atol=1e-6)
    turned = rotated(X, 90).reshape(4, 28, 28)       # a quarter turn moves every pixel to a known place
    np.testing.assert_allclose(np.rot90(turned, k=-1, axes=(1, 2)), X.reshape(4, 28, 28), atol=1e-5)
    assert rotated(X, 6).dtype == np.float32 and np.abs(rotated(X, 6) - X).max() > 0.1
    np.random.seed(0)
    net = modules.Sequential(modules.Linear(784, 10, dtype=np.float32), modules.LogSoftMax())
    tta = TTA(net, (-6, 6))
    tta.evaluate()
    assert not net.training and not tta.training
    expected = np.log(np.mean([np.exp(net.forward(v)) for v in (X, rotated(X, -6), rotated(X, 6))], axis=0))
    out = tta.forward(X)
    assert out.shape == (4, 10)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1, rtol=1e-5)
    tta.train()
    assert net.training
    with pytest.raises(NotImplementedError, match="only evaluates"):
        tta.backward(X, np.ones_like(out))


def test_test_time_augmentation_is_a_candidate_in_full_mode_only(nb, modules):
    """A full run chooses between the network alone and its +-3 degree views on validation; fast mode offers only the
    network alone (three passes over the 10,000 test images cost as much as its whole training)."""
    assert run_cells(nb, dict(vars(modules), FAST=False), "main-best-tta-def")["TTA_DEGREES"] == (3,)
    assert run_cells(nb, dict(vars(modules), FAST=True), "main-best-tta-def")["TTA_DEGREES"] == ()


def test_optimizers_cell_runs_with_a_students_adam_without_a_docstring(nb, capsys):
    """A student's own adam_optimizer without a docstring (the cell rewritten whole) is a correct answer: the given
    cell that names the optimizers printed adam_optimizer.__doc__.splitlines()[0] and stopped the notebook with an
    AttributeError there, which cost 'runs to the end'."""
    def adam_optimizer(variables, gradients, config, state):
        pass

    def sgd_momentum(variables, gradients, config, state):
        """SGD with momentum."""

    run_cells(nb, {"adam_optimizer": adam_optimizer, "sgd_momentum": sgd_momentum}, "main-optimizers")
    assert capsys.readouterr().out.splitlines() == ["sgd_momentum: SGD with momentum.", "adam_optimizer: (no docstring)"]


def test_student_text_of_the_best_model_names_no_cell_the_release_lacks(student):
    """The students' text gives the timing without pointing at a 'reference network below' their notebook stubs."""
    text = student["main-best-md"].source
    assert "How long it takes" in text and "about 20 s per epoch" in text and "below" not in text.split("How long")[1]
    assert "earlier version of the reference" not in text


def test_autoencoder_text_says_the_given_configuration_asks_for_both_norms(nb, student):
    """The given configuration cell sets AE_NORM = "bn" and the recipe's measurement builds the default "bms": the
    text must not call "bn" optional ('only if you set AE_NORM') while the given cell sets it."""
    assert 'AE_NORM = "bn"' in cell(nb, "main-ae-config") and "autoencoder_net()" in cell(nb, "main-ae-seed")
    text = student["main-ae-md"].source
    assert "only if you set" not in text and 'set it to `"bms"` there' in text
