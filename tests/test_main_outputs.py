"""Course main notebooks graded from their saved outputs (grader/parts/main_outputs.py): the shared case
real/main-course-version, a notebook without outputs ("not run", to review, never 0), errors, accuracies in every
spelling, the advanced track, versions from titles and file names, and the kit's own notebook left to execution."""
import base64
import copy
import json
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT, SHARED_CASES
from grader.parts import main_outputs
from grader.review.marks import rescore

CASE = SHARED_CASES / "real" / "main-course-version" / "homework_main-basic.ipynb"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()


def case():
    return nbformat.read(str(CASE), as_version=4)


def scored(nb, name="homework_main-basic.ipynb"):
    version, checks = main_outputs.checks(nb, name)
    return version, rescore({"key": "1", "checks": checks})


def course_notebook(*cells, name="homework_main-basic.ipynb"):
    """A small course notebook: (source, printed output or None for not run, error or None) per code cell."""
    nb = nbformat.v4.new_notebook()
    for number, (source, printed, error) in enumerate(cells, 1):
        cell = nbformat.v4.new_code_cell(source)
        if printed is not None or error:
            cell.execution_count = number
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed or "")]
            if error:
                cell.outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue=error, traceback=[]))
        nb.cells.append(cell)
    return nb


EXPERIMENTS = ("for act in [ReLU, ELU, LeakyReLU, SoftPlus]:\n    net = make(act, BatchNormalization)", "done", None)


def test_the_course_main_notebook_is_read_from_its_outputs():
    """real/main-course-version: 7/7 automatically (ran 4, test accuracy 2, experiments 1); the opinion awaits a
    TA's review with its point outside the automatic maximum: never re-run into 0/10."""
    version, report = scored(case())
    assert version == "2019-21 basic"
    assert (report["score"], report["max_score"], report["awaiting_review"]) == (7, 7, 1)
    assert not main_outputs.is_kit(case())


def test_a_notebook_without_outputs_is_not_run_and_goes_to_review():
    nb = case()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    _, report = scored(nb)
    assert (report["score"], report["max_score"], report["awaiting_review"]) == (0, 0, 8)
    assert all("not run" in c["message"] for c in report["checks"])


def test_an_error_in_the_outputs_costs_ran_and_the_rest_is_still_read():
    nb = course_notebook(("import numpy as np", "", None), EXPERIMENTS,
                         ("train()", "epoch 3", "shapes (64,10) (64,1)"),
                         ("print(acc)", "Test accuracy: 97.8 %", None))
    _, report = scored(nb)
    ran, accuracy, experiments, _ = report["checks"]
    assert not ran["passed"] and "cell 3 shows an error: ValueError: shapes" in ran["message"]
    assert accuracy["passed"] and "0.9780" in accuracy["message"] and experiments["passed"]


@pytest.mark.parametrize("printed, verdict", [
    ("test accuracy: 0.9123", True), ("Accuracy on test set = 91.2%", True), ("тестовая точность 0,95", True),
    ("test acc 0.31", False), ("validation accuracy 0.97", None), ("loss 0.12", None)])
def test_accuracies_are_read_in_every_spelling(printed, verdict):
    _, report = scored(course_notebook(EXPERIMENTS, ("evaluate()", printed, None)))
    accuracy = report["checks"][1]
    assert (accuracy["passed"] if "review" not in accuracy else None) == verdict


def test_a_code_cell_not_run_costs_ran_but_the_templates_empty_cells_do_not():
    nb = course_notebook(EXPERIMENTS, ("# Your code goes here. ###########", None, None),
                         ("print('test accuracy', 0.93)", "test accuracy 0.93", None))
    assert scored(nb)[1]["checks"][0]["passed"]
    nb.cells.append(nbformat.v4.new_code_cell("net.train()"))
    assert not scored(nb)[1]["checks"][0]["passed"]


def test_the_advanced_track_asks_for_a_cnn():
    cnn = ("net = Sequential(); net.add(Conv2d(1, 8, 3)); net.add(MaxPool2d(2)); net.add(BatchNormalization(0.9))",
           "ok", None)
    nb = course_notebook(cnn, ("print(acc)", "test accuracy 0.975", None))
    assert scored(nb, "homework_main-advanced.ipynb")[1]["checks"][2]["passed"]
    nb = course_notebook(EXPERIMENTS, ("print(acc)", "test accuracy 0.975", None))
    assert "review" in scored(nb, "homework_main-advanced.ipynb")[1]["checks"][2]


def test_the_version_comes_from_the_title_or_the_file_name():
    nb = course_notebook(("x = 1", "", None))
    assert main_outputs.version(nb, "HW3_main.ipynb") == "2017"
    assert main_outputs.version(nb, "DL24_homework_main (1).ipynb") == "2018"
    assert main_outputs.version(nb, "homework_main-basic-Copy1.ipynb") == "2019-21 basic"
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Homework: Not So Basic Artificial Neural Networks"))
    assert main_outputs.version(nb, "whatever.ipynb") == "2019-21 advanced"


def accuracy_answer(before, source, shown):
    """A course notebook that ran, ending with a markdown cell `before` (or none) and a code cell `source` whose output
    is the result `shown` (an execute_result, as Jupyter shows a cell's last expression)."""
    nb = course_notebook(EXPERIMENTS, ("x_train, y_train, x_test, y_test = load()", "", None))
    if before:
        nb.cells.append(nbformat.v4.new_markdown_cell(before))
    cell = nbformat.v4.new_code_cell(source, execution_count=9)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": shown}, execution_count=9)]
    nb.cells.append(cell)
    return nb


PRINT_HERE = "Print here your accuracy. It should be around 90%."


@pytest.mark.parametrize("before, source, shown, verdict", [
    (PRINT_HERE, "accuracy(final_net, X_val, y_val)", "0.9812", True),       # where the text asks for it
    (PRINT_HERE, "acc", "np.float64(0.9812)", True),                         # numpy 2's repr
    (PRINT_HERE, "acc * 100", "98.12", True),
    (None, "np.mean(net.forward(X_test).argmax(axis=1) == y_test)", "0.9744", True),   # computed on the test set
    (None, "accuracy_score(y_test, predictions)", "0.31", False),            # printed, and not above 0.5
    (None, "criterion.forward(net.forward(X_test), Y_test)", "0.0812", None),   # a loss on the test set
    (None, "acc", "0.9812", None),                                           # what it is, nothing says
    (PRINT_HERE, "print(report)", "precision 0.98 recall 0.97", None),       # not one bare number
])
def test_an_accuracy_shown_as_a_bare_number_where_the_text_asks_for_it_is_read(before, source, shown, verdict):
    """The 2017 and 2018 templates ask "Print here your accuracy" above an empty cell; students answer with an
    expression whose output is the number alone (`0.9812`, numpy 2's `np.float64(0.9812)`). Such a number is the
    accuracy there, or in a cell that computes one on the test set. Before, every such notebook sent its 2 points to a
    TA ("no test accuracy found")."""
    accuracy = scored(accuracy_answer(before, source, shown))[1]["checks"][1]
    assert (None if accuracy.get("review") else accuracy["passed"]) is verdict, accuracy


AUTOENCODER_TEMPLATE = "cnet = Sequential()\ncnet.add(Linear(30, 2))\ncnet.add(SoftMax())\nautoenc.add(cnet[0])"


@pytest.mark.parametrize("heading, state, passed", [
    ("# Autoencoder (optional) ", "not run", True), ("# Autoencoder (optional) ", "failed", True),
    ("# Autoencoder", "not run", False), ("# Autoencoder", "failed", False),   # 2018: a part of the homework
])
def test_the_2017_optional_autoencoder_left_undone_is_no_skipped_work(heading, state, passed):
    """2017's text: "# Autoencoder (optional)", "This part is OPTIONAL, you may not do it. It will not be scored",
    above a template cell of code that fails unless the part is done (`autoenc.add(cnet[0])`). Left unrun, or run
    and failing, it cost 'ran' (4 points). 2018's autoencoder is not optional: there it still does."""
    nb = course_notebook(EXPERIMENTS, ("print(acc)", "Test accuracy: 0.97", None),
                         (AUTOENCODER_TEMPLATE, "" if state == "failed" else None,
                          "name 'autoenc' is not defined" if state == "failed" else None))
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(heading))
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("This part is **OPTIONAL**, you may not do it."))
    ran = scored(nb, "HW3_main.ipynb")[1]["checks"][0]
    assert ran["passed"] is passed, ran
    nb.cells.append(nbformat.v4.new_markdown_cell("# Another part"))   # the optional section ends at its level
    nb.cells.append(nbformat.v4.new_code_cell("never_run()"))
    assert scored(nb, "HW3_main.ipynb")[1]["checks"][0]["passed"] is False


def normalisation_notebook(title, question, layer):
    """A course basic-track notebook that ran: the four activations compared with `layer` tried, the version's
    question (or none) kept above it."""
    experiments = (f"for act in [ReLU, ELU, LeakyReLU, SoftPlus]:\n    net = make(act, {layer}(0.9))", "done", None)
    nb = course_notebook(experiments, ("print(acc)", "Test accuracy: 0.97", None))
    nb.cells[:0] = [nbformat.v4.new_markdown_cell(text) for text in (title, question) if text]
    return nb


Q2017 = "- **Try** inserting `BatchMeanSubtraction` between `Linear` module and activation functions."
Q2018 = "- **Try** inserting `BatchNormalization` (folowed by `ChannelwiseScaling`) between `Linear` module and activation"


@pytest.mark.parametrize("title, question, layer, name, passed", [
    ("# Home work 3: Basic Artificial Neural Networks", Q2017, "BatchMeanSubtraction", "HW3_main.ipynb", True),
    ("# Home work 3: Basic Artificial Neural Networks", None, "BatchMeanSubtraction", "HW3_main.ipynb", True),
    ("# Homework: Basic Artificial Neural Networks", Q2017, "BatchMeanSubtraction", "homework_main.ipynb", True),
    ("# Homework: Basic Artificial Neural Networks", None, "BatchMeanSubtraction", "hw.ipynb", True),
    ("# Homework: Basic Artificial Neural Networks", Q2018, "BatchNormalization", "homework_main.ipynb", True),
    ("# Homework: Basic Artificial Neural Networks", Q2018, "BatchMeanSubtraction", "homework_main.ipynb", None),
    ("# Homework: Basic Artificial Neural Networks", None, "BatchMeanSubtraction", "homework_main-basic.ipynb", None),
])
def test_the_2017_text_asks_for_batch_mean_subtraction_and_2018_on_for_batch_normalization(title, question, layer,
                                                                                           name, passed):
    """The experiments row follows the version's text: 2017's students try BatchMeanSubtraction (the text has no
    BatchNormalization), 2018's and 2019-21's BatchNormalization; the question kept in the notebook says which, and
    where nothing tells (2017's repository template and 2018's share a title) either does. Before, a 2017 notebook
    that did what its text asks awaited review 'not found: batchnormalization'."""
    experiments = scored(normalisation_notebook(title, question, layer), name)[1]["checks"][2]
    verdict = None if experiments.get("review") else experiments["passed"]
    assert verdict is passed, experiments
    if passed:
        assert layer.lower() in experiments["message"]


def test_the_title_2017_shares_with_later_years_gives_way_to_the_file_name():
    nb = course_notebook(("x = 1", "", None))
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Homework: Basic Artificial Neural Networks"))
    assert main_outputs.version(nb, "homework_main-basic.ipynb") == "2019-21 basic"
    assert main_outputs.version(nb, "HW3_main.ipynb") == "2017"
    assert main_outputs.version(nb, "my_notebook.ipynb") == "2018"


def test_the_kits_own_main_notebook_is_left_to_execution():
    assert main_outputs.is_kit(nbformat.read(str(ROOT / "HW3_main.ipynb"), as_version=4))


def test_only_real_pngs_go_to_the_review_page():
    nb = copy.deepcopy(course_notebook(("plot()", "", None)))
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}),
                           nbformat.v4.new_output("display_data", data={"image/png": "\"><script>x</script>"})]
    assert main_outputs._images(nb.cells) == [PNG]


def graded_beside_the_cases_modules(nb, folder):
    """The report of main notebook `nb` in `folder` beside the shared case's modules notebook, graded as a TA would,
    through the command line."""
    folder.mkdir()
    shutil.copy(CASE.parent / "homework_modules.ipynb", folder)
    nbformat.write(nb, str(folder / CASE.name))
    report = folder.parent / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", str(folder), "--json", str(report)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    [result] = json.loads(report.read_text())
    return result


def test_a_training_cell_stopped_by_hand_awaits_review_not_a_lost_ran(tmp_path):
    """A KeyboardInterrupt left in the outputs (a long run cut short, the later cells run): a TA decides "ran"; any
    other error beside it still costs it. Graded as a TA would, through the command line, with the shared case's
    modules notebook beside it."""
    nb = case()
    stopped = nbformat.v4.new_code_cell("for epoch in range(100):\n    train_epoch(net)", execution_count=17)
    stopped.outputs = [nbformat.v4.new_output("error", ename="KeyboardInterrupt", evalue="", traceback=[])]
    codes = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(codes[len(codes) // 2], stopped)
    result = graded_beside_the_cases_modules(nb, tmp_path / "stopped")
    ran = next(c for c in result["checks"] if c["target"] == "main notebook" and c["name"].startswith("every code"))
    assert ran.get("review") and "stopped by hand (KeyboardInterrupt)" in ran["review"]["reason"], ran
    assert ran["points"] == 0 and result["awaiting_review"] == 4 + 1   # ran, and the opinion
    other = course_notebook(("import numpy as np", "", None), ("train()", "epoch 3", "shapes (64,10) (64,1)"))
    other.cells[0].outputs.append(nbformat.v4.new_output("error", ename="KeyboardInterrupt", evalue="", traceback=[]))
    _, report = scored(other)
    assert report["checks"][0]["passed"] is False and not report["checks"][0].get("review")


def test_a_cell_of_comments_only_never_run_is_no_skipped_work(tmp_path):
    """A scratch cell whose code was commented out (`# X_train.shape`), never run, in a notebook that ran: nothing in
    it could run, so 'ran' keeps its 4 points (it cost them). A cell with code left unrun still costs them. Through
    the command line, the shared case's modules notebook beside it."""
    nb = case()
    codes = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(codes[3], nbformat.v4.new_code_cell("# X_train.shape\n\n#plt.imshow(X_train[0].reshape(28, 28))"))
    result = graded_beside_the_cases_modules(nb, tmp_path / "commented")
    main = [c for c in result["checks"] if c["target"] == "main notebook"]
    assert sum(c["points"] for c in main) == 7 and result["awaiting_review"] == 1, main   # the opinion: a TA's
    assert result["score"] == result["max_score"]
    unrun = course_notebook(EXPERIMENTS, ("# X_train.shape", None, None), ("x = 1  # scratch", None, None),
                            ("print('test accuracy', 0.93)", "test accuracy 0.93", None))
    ran = scored(unrun)[1]["checks"][0]
    assert ran["passed"] is False and "cell 3 was not run (1 code cell(s)" in ran["message"], ran
