"""The course's own differentiation and main notebooks as students hand them in, graded through the command line
(grader/parts/course.py): the shared cases real/differentiation-latex-course and real/main-course-version get their
right verdicts, points awaiting a TA's review are outside the score and maximum, handing in the differentiation
notebook never lowers the percentage, and a TA's marks file merges into every gradebook and feedback (re-runnable).
"""
import csv
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED_CASES

DIFF = SHARED_CASES / "real" / "differentiation-latex-course"
MAIN = SHARED_CASES / "real" / "main-course-version"


def grade(*paths, json_path, extra=()):
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, paths), "--json", str(json_path), *extra], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return {r["submission"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The two cases (full mode), and the differentiation case without its differentiation notebook; that one holds
    the main case's main notebook under a name of its own (`hw3 (2).ipynb`: read from its outputs, no kernel, so it
    costs the batch nothing)."""
    tmp = tmp_path_factory.mktemp("course")
    modules_only = tmp / "modules-only"
    modules_only.mkdir()
    shutil.copyfile(DIFF / "homework_modules.ipynb", modules_only / "homework_modules.ipynb")
    shutil.copyfile(MAIN / "homework_main-basic.ipynb", modules_only / "hw3 (2).ipynb")
    json_path = tmp / "grades.json"
    reports = grade(DIFF, MAIN, modules_only, json_path=json_path)
    return (tmp, json_path, reports[str(DIFF)], reports[str(MAIN)], reports[str(modules_only)],
            {"main-renamed": reports[str(modules_only)]})


def rows(report, target):
    return {c["name"]: c for c in report["checks"] if c["target"] == target}


def test_the_course_differentiation_notebook_gets_its_verdict(batch):
    _, _, diff, _, modules_only, _ = batch
    questions = rows(diff, "differentiation")
    assert len(questions) == 5, "the course's five questions, not the kit's twelve exercises"
    for name, check in questions.items():
        if name.startswith(("ex. 1", "ex. 2", "ex. 3", "ex. 4:")):
            assert check["passed"] or "review" in check, check
        else:   # ex4c: the chain rule, a factor 2 lost
            assert not check["passed"]
    assert diff["awaiting_review"] == sum(c["max_points"] for c in questions.values() if "review" in c)
    assert diff["score"] / diff["max_score"] >= modules_only["score"] / modules_only["max_score"] == 1
    text = json.dumps(diff)
    for internal in ("KeyError", "grad_xTx", "NameError", "ex5"):
        assert internal not in text


def test_the_course_main_notebook_is_read_from_its_outputs(batch):
    _, _, _, main, _, _ = batch
    main_rows = rows(main, "main notebook")
    automatic = [c for c in main_rows.values() if "review" not in c]
    assert sum(c["points"] for c in automatic) == sum(c["max_points"] for c in automatic) == 7
    assert main["awaiting_review"] == 1 and main["score"] == main["max_score"]
    assert any("homework_main-basic.ipynb graded as HW3_main.ipynb" in n for n in main["notes"])


def test_a_course_main_notebook_of_a_name_of_its_own_is_found_by_its_contents(batch):
    """real/main-course-version's main notebook saved as `hw3 (2).ipynb`: found by its text (it runs the modules
    notebook and works on MNIST), read from its outputs as under its own name (beside the 2018 modules of the
    differentiation case). Before: "not graded (the name matches none of the homework's notebooks)", and its 7 points
    left out of the maximum."""
    _, _, _, main, _, extra = batch
    renamed = extra["main-renamed"]
    assert "hw3 (2).ipynb: a name of its own, the main notebook's contents" in renamed["notes"]
    assert "hw3 (2).ipynb graded as HW3_main.ipynb" in renamed["notes"]
    def verdicts(report):
        return {name: (c["points"], c["max_points"], bool(c.get("review")))
                for name, c in rows(report, "main notebook").items()}
    assert verdicts(renamed) == verdicts(main)
    assert sum(points for points, _, _ in verdicts(renamed).values()) == 7
    assert renamed["score"] == renamed["max_score"]


def test_review_pages_feedback_and_gradebook_say_what_awaits_review(batch):
    tmp, json_path, diff, _, _, _ = batch
    review = tmp / "grades_review"
    assert (review / "index.html").is_file() and (review / "ex4c.html").is_file()
    assert (review / "assets" / "katex" / "katex.min.js").is_file()
    feedback = next((tmp / "grades_feedback").glob("*differentiation-latex-course*.md")).read_text(encoding="utf-8")
    assert "3 points await a TA's review" in feedback
    with open(json_path.with_suffix(".csv"), encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["submission"] == str(DIFF))
    assert float(row["awaiting_review"]) == diff["awaiting_review"]


def test_a_tas_marks_merge_into_every_gradebook_and_merging_again_changes_nothing(batch):
    tmp, json_path, diff, _, _, _ = batch
    check = rows(diff, "differentiation")["ex. 4, chain rule: dJ/dF, dF/dS, dJ/dS (F = AS)"]
    marks = tmp / "marks-ex4c.json"
    marks.write_text(json.dumps({"kind": "hw3-review-marks", "version": 1, "marks": [
        {"student": diff["key"], "question": "ex4c", "group": check["review"]["group"], "points": 1,
         "comment": "the factor 2 is lost in dJ/dF"}]}), encoding="utf-8")
    for _ in range(2):
        merged = grade(DIFF, MAIN, tmp / "modules-only", json_path=json_path,
                       extra=["--resume", "--marks", str(marks)])[str(DIFF)]
        assert (merged["score"], merged["max_score"], merged["awaiting_review"]) == (
            diff["score"] + 1, diff["max_score"] + 3, diff["awaiting_review"] - 3)
        feedback = next((tmp / "grades_feedback").glob("*differentiation-latex-course*.md")).read_text(encoding="utf-8")
        assert "marked by a TA, 1/3. the factor 2 is lost in dJ/dF" in feedback
    journal = [json.loads(line) for line in json_path.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    assert all("marked" not in json.dumps(entry) for entry in journal), "the journal keeps the grading, not the marks"


def test_a_missing_answer_function_is_named_not_the_graders_lookup():
    """Students saw `grad_xTx() raised KeyError: 'grad_xTx'` (the grader's own lookup) for a function they never
    defined: the probe names what is missing, the message says where it belongs."""
    from grader.parts.differentiation import judge
    from grader.parts.probes import run_probe
    payload = run_probe("ex1", {"helpers": 1}, 0)
    assert payload == {"ok": False, "missing": ["grad_xTx"]}
    passed, message = judge("ex1", payload, {})
    assert not passed and "no function grad_xTx() in your notebook" in message and "KeyError" not in message


def test_a_course_looking_main_notebook_beside_the_kit_s_modules_is_run_as_the_kit_s():
    """Read off each notebook (the default), a main notebook is graded from its saved outputs only beside the
    course's modules, or alone when its title or file name is the course's: beside the kit's, or alone and
    unmarked, it is run and its figures recomputed, so a kit submission cannot trade the run for saved outputs it
    typed (tests/test_hostile_answers.py grades such a notebook: 0 points)."""
    import nbformat
    from types import SimpleNamespace
    from grader.parts.course import course_notebooks
    main = nbformat.read(str(MAIN / "homework_main-basic.ipynb"), as_version=4)
    kit = nbformat.read(str(ROOT / "HW3_Modules.ipynb"), as_version=4)
    course = nbformat.read(str(MAIN / "homework_modules.ipynb"), as_version=4)
    with_kit = SimpleNamespace(notebooks={"HW3_Modules.ipynb": kit, "HW3_main.ipynb": main})
    with_course = SimpleNamespace(notebooks={"HW3_Modules.ipynb": course, "HW3_main.ipynb": main})
    alone = SimpleNamespace(notebooks={"HW3_main.ipynb": main},
                            submission=SimpleNamespace(files={"HW3_main.ipynb": str(MAIN / "homework_main-basic.ipynb")}))
    assert course_notebooks(with_kit, "auto", "kit") == {}
    assert course_notebooks(with_course, "auto", "2019-21") == {"HW3_main.ipynb": "main"}
    assert course_notebooks(alone, "auto", "kit") == {"HW3_main.ipynb": "main"}   # no modules: its file name
    unmarked = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('accuracy 0.99')")])
    assert course_notebooks(SimpleNamespace(notebooks={"HW3_main.ipynb": unmarked}), "auto", "kit") == {}
    renamed = SimpleNamespace(notebooks={"HW3_main.ipynb": unmarked},
                              submission=SimpleNamespace(files={"HW3_main.ipynb": "x/homework_main-basic.ipynb"}))
    assert course_notebooks(renamed, "auto", "kit") == {"HW3_main.ipynb": "main"}   # a course file name
    assert course_notebooks(with_course, "kit", "kit") == {}
    assert course_notebooks(with_kit, "2019-21", "2019-21") == {"HW3_main.ipynb": "main"}


def test_answers_typed_into_code_cells_are_read_as_in_markdown(tmp_path):
    """The course's LaTeX notebook with answers in code cells, as comments: "# Answer: dy/dx = 2x" (a word before the
    equation) and "# $$\\frac{dy}{dA} = B^T$$" (LaTeX in a comment) are read and pass; a wrong one in a comment still
    fails. Before, both right ones awaited a TA ("no equation dy/dx = ... found")."""
    import nbformat
    from derivations.batch import cells_for
    nb = nbformat.v4.new_notebook()
    answers = {"$$\\frac{dy}{dx} = 2x$$": "# Answer: dy/dx = 2x",
               "Ответ: $\\frac{\\partial y}{\\partial A} = B^T$": "# $$\\frac{dy}{dA} = B^T$$",
               "$$\\frac{dJ}{dS} = 2A^T(AS - X)$$": "# Ответ: dJ/dS = A^T(AS - X)"}
    nb.cells = [nbformat.v4.new_code_cell(answers[source]) if source in answers else nbformat.v4.new_markdown_cell(source)
                for _, source, _ in cells_for(0)]
    assert sum(c.cell_type == "code" for c in nb.cells) == 3
    folder = tmp_path / "code-answers"
    folder.mkdir()
    nbformat.write(nb, str(folder / "homework_differentiation.ipynb"))
    shutil.copyfile(DIFF / "homework_modules.ipynb", folder / "homework_modules.ipynb")
    [report] = grade(folder, json_path=tmp_path / "grades.json", extra=("--fast",)).values()
    diff = {c["name"][:6]: c for c in rows(report, "differentiation").values()}
    for question in ("ex. 1:", "ex. 2:"):
        assert diff[question]["passed"] and diff[question]["points"] == 3 and not diff[question].get("review"), diff
    assert diff["ex. 4:"]["points"] == 0 and not diff["ex. 4:"].get("review"), diff["ex. 4:"]   # half the gradient
