"""A handed-in notebook the grader cannot read awaits a TA, never a 0 (grader/parts/unreadable.py); what really is a
notebook in another encoding is decoded and graded (grader/intake/notebooks.py's decode).

One Canvas download graded through the command line (--fast): a UTF-8 notebook and its UTF-16 twin, a notebook with
three cp1252 bytes in a markdown cell, a PNG under the notebook's name, a cut-off notebook, a saved web page with a
script, and a submission whose modules notebook is missing; then the TA's marks merged with --marks.
"""
import copy
import csv
import json
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from corpus import DIFFERENTIATION, MODULES, reference
from html_page import page_parts
from grader import selfcheck as C
from grader.execution.workcopy import prepare
from grader.options import Options
from grader.parts import main_notebook
from grader.report.report import Grading
from grader.report.writers import write_reports
from grader.selfcheck import versions as V

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
       b"\x00\x00\x00\x19IDATx\x9cc\xfc\xff\xff?\x03%\x80\x89\x81B0j\xc0\xa8\x01\xa3\x06\x0c\x1b\x03\x00\xb2"
       b"\x1e\x1f\xe1\xa6\xb2\x8b\xa8\x00\x00\x00\x00IEND\xaeB`\x82")
WEB_PAGE = ("<!DOCTYPE html>\n<html><head><title>HW3_Modules.ipynb at main</title>"
            "<script>alert('owned')</script></head><body><img src=x onerror=alert(2)></body></html>\n")
KIT_MAX = sum(c.points for c in C.CHECKS)   # the kit's modules: 171
STUDENTS = {"4001": "utf8", "4002": "utf16", "4003": "cp1252", "4004": "png", "4005": "cutoff", "4006": "missing",
            "4007": "webpage", "4008": "main-png-fast"}


def cp1252_notebook():
    """The reference modules with 'café “quoted”' in its first markdown cell, those three characters as cp1252
    bytes (0xE9, 0x93, 0x94): UTF-8 but for three stray bytes, as an editor pasting Windows-1252 text leaves it."""
    nb = reference(MODULES)
    markdown = next(cell for cell in nb.cells if cell.cell_type == "markdown")
    markdown.source += "\n\nA note: café “quoted”"
    data = nbformat.writes(nb).encode("utf-8")
    for char, byte in (("é", b"\xe9"), ("“", b"\x93"), ("”", b"\x94")):
        data = data.replace(char.encode("utf-8"), byte)
    return data


def run_grader(*args):
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(reports by key, the run, the JSON path, the download folder)."""
    tmp = tmp_path_factory.mktemp("unreadable")
    canvas = tmp / "canvas"
    canvas.mkdir()
    utf8 = nbformat.writes(reference(MODULES))
    diff = nbformat.writes(reference(DIFFERENTIATION)).encode("utf-8")
    files = {
        "utf8_4001_9001_HW3_Modules.ipynb": utf8.encode("utf-8"),
        "utf16_4002_9002_HW3_Modules.ipynb": b"\xff\xfe" + utf8.encode("utf-16-le"),
        "cpstray_4003_9003_HW3_Modules.ipynb": cp1252_notebook(),
        "png_4004_9004_HW3_Modules.ipynb": PNG,
        "png_4004_9014_HW3_differentiation.ipynb": diff,
        "cutoff_4005_9005_HW3_Modules.ipynb": utf8.encode("utf-8")[:20000],
        "missing_4006_9016_HW3_differentiation.ipynb": diff,
        "webpage_4007_9007_HW3_Modules.ipynb": WEB_PAGE.encode("utf-8"),
        "mainpng_4008_9008_HW3_Modules.ipynb": utf8.encode("utf-8"),
        "mainpng_4008_9018_HW3_main.ipynb": PNG,
    }
    for name, data in files.items():
        (canvas / name).write_bytes(data)
    json_path = tmp / "out" / "grades.json"
    run = run_grader(canvas, "--fast", "--json", json_path)
    reports = {r["key"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}
    assert set(reports) == set(STUDENTS)
    return reports, run, json_path, canvas


def modules_checks(report):
    return [c for c in report["checks"] if c["target"] in C.TARGETS]


def awaiting_checks(report):
    return [c for c in report["checks"] if isinstance(c.get("review"), dict)]


def test_a_utf16_notebook_with_a_bom_is_graded_like_its_utf8_twin(batch):
    reports, *_ = batch
    twin, utf16 = reports["4001"], reports["4002"]
    assert [(c["name"], c["points"]) for c in utf16["checks"]] == [(c["name"], c["points"]) for c in twin["checks"]]
    assert (utf16["score"], utf16["max_score"]) == (twin["score"], twin["max_score"]) == (KIT_MAX, KIT_MAX + 36)
    assert any("read as UTF-16 text" in note for note in utf16["notes"]), utf16["notes"]
    assert utf16["awaiting_review"] == 0 and not any("not a valid" in e for e in utf16["errors"])


def test_a_utf8_notebook_with_three_cp1252_bytes_is_graded_and_the_repair_reported(batch):
    reports, *_ = batch
    report = reports["4003"]
    assert (report["score"], report["max_score"], report["awaiting_review"]) == (KIT_MAX, KIT_MAX + 36, 0)
    repairs = [note for note in report["notes"] if note.startswith(f"{MODULES} was repaired")]
    assert repairs and "replaced 3 bytes that are not UTF-8" in repairs[0], report["notes"]


@pytest.mark.parametrize("key, words", [("4004", "a PNG image under a notebook's name"),
                                        ("4005", "not complete JSON, cut off"),
                                        ("4007", "a web page saved under a notebook's name")])
def test_an_unreadable_notebook_awaits_review_outside_the_score_and_maximum(batch, key, words):
    """One review item for the notebook, worth its whole maximum, in neither score nor max_score; no 0 anywhere.
    (Only 4004 handed in a differentiation notebook: 36 / 36; the others' is not found, 0 / 36.)"""
    reports, *_ = batch
    report = reports[key]
    [item] = awaiting_checks(report)
    assert report["score"] == (36 if key == "4004" else 0)
    assert not modules_checks(report), "the notebook's checks are one item awaiting review, not 171 zeros"
    assert item["max_points"] == KIT_MAX and item["points"] == 0 and report["awaiting_review"] == KIT_MAX
    assert item["review"]["question"] == "unreadable-HW3_Modules" and MODULES in item["review"]["title"]
    assert words in item["review"]["reason"] and "ask the student" in item["review"]["reason"]
    assert words in item["message"] and "await a TA's review" in item["message"]
    diff = [c for c in report["checks"] if c["target"] == "differentiation"]
    assert report["max_score"] == sum(c["max_points"] for c in diff) == 36   # handed in (4004) or not found
    assert any(words in e and "await a TA's review" in e for e in report["errors"]), report["errors"]
    assert not any("none of" in e for e in report["errors"]), report["errors"]   # it was handed in
    text = json.dumps(report)
    for internal in ("NotebookError", "UnreadableNotebook", "JSONDecodeError", "Traceback", "Exception"):
        assert internal not in text


def test_a_missing_notebook_is_still_zero(batch):
    reports, *_ = batch
    report = reports["4006"]
    modules = modules_checks(report)
    assert modules and sum(c["max_points"] for c in modules) == KIT_MAX and not any(c["points"] for c in modules)
    assert report["awaiting_review"] == 0 and report["max_score"] == KIT_MAX + report["score"]
    assert f"{MODULES} not found in the submission" in report["errors"]


def test_an_unreadable_main_notebook_under_fast_is_named_but_not_counted(batch):
    """--fast does not grade the main notebook: an unreadable one is named in the errors, and nothing awaits review."""
    reports, *_ = batch
    report = reports["4008"]
    assert report["awaiting_review"] == 0 and not awaiting_checks(report)
    assert sum(c["points"] for c in modules_checks(report)) == KIT_MAX
    assert any("HW3_main.ipynb: not a valid Jupyter notebook (a PNG image" in e and "not graded in this run" in e
               for e in report["errors"]), report["errors"]


def test_a_corrupted_notebook_raises_no_automatic_score_or_maximum(batch):
    """The PNG student hands in the same differentiation notebook as the missing-modules one: the same automatic score,
    a maximum lower by exactly the modules' points (which await a TA), and the batch's full marks unchanged."""
    reports, _, json_path, _ = batch
    png, missing = reports["4004"], reports["4006"]
    assert png["score"] == missing["score"] and png["max_score"] == missing["max_score"] - KIT_MAX
    rows = list(csv.reader(open(json_path.with_name("grades_canvas.csv"), encoding="utf-8")))
    assert rows[1][5] == f"{max(reports['4001']['max_score'], missing['max_score']):g}"   # Points Possible


def test_the_canvas_and_moodle_rows_of_an_unreadable_notebook_show_awaiting_not_zero(batch, tmp_path):
    reports, _, json_path, _ = batch
    rows = {row[1]: row for row in csv.reader(open(json_path.with_name("grades_canvas.csv"), encoding="utf-8"))}
    for key in ("4004", "4005", "4007"):
        assert rows[key][5] == "", rows[key]          # no grade yet: an upload changes nothing for that student
    assert rows["4006"][5] == f"{reports['4006']['score']:g}" and rows["4001"][5] == f"{KIT_MAX}"
    moodle = [dict(r, platform="moodle") for r in reports.values()]
    written = write_reports(moodle, tmp_path / "m.json", lms="moodle")
    by_id = {row["Identifier"]: row for row in csv.DictReader(open(written["moodle"], encoding="utf-8"))}
    png = by_id["Participant 4004"]
    assert png["Grade"] == "" and png["Last modified (grade)"] == "" and png["Feedback comments"] == ""
    assert png["Status"].startswith("awaiting a TA's review (171 points)") and MODULES in png["Status"]
    assert by_id["Participant 4006"]["Grade"] == f"{reports['4006']['score']:g}"
    kit = {row["key"]: row for row in csv.DictReader(open(json_path.with_suffix(".csv"), encoding="utf-8"))}
    assert kit["4004"]["modules"] == "awaiting review" and kit["4004"]["awaiting_review"] == "171"
    assert kit["4006"]["Linear"] == "0" and kit["4006"]["modules"] == ""


def test_the_terminal_summary_and_the_feedback_say_awaiting_review(batch):
    reports, run, json_path, _ = batch
    line = next(line for line in run.stdout.splitlines() if line.startswith("png (4004) "))   # the table's row
    assert "awaiting review" in line and " 0 / " not in line, line
    assert "AWAITING A TA'S REVIEW (3;" in run.stdout
    assert "4004): HW3_Modules.ipynb could not be read (171 points await review" in run.stdout
    feedback = (json_path.with_name("grades_feedback") / "4004.md").read_text(encoding="utf-8")
    assert "| modules | awaits a TA's review (171 points) |" in feedback
    assert "171 points await a TA's review" in feedback and "0 / 171" not in feedback


def test_the_review_page_shows_the_file_escaped_and_size_limited(batch):
    _, _, json_path, _ = batch
    page = (json_path.with_name("grades_review") / "unreadable-HW3_Modules.html").read_text(encoding="utf-8")
    seen = page_parts(page)
    assert not [name for name, _ in seen.attrs if name.startswith("on")], "no event handler from the file"
    assert not any("owned" in script or "alert" in script for script in seen.scripts), "no script from the file"
    assert "<script>alert('owned')</script>" in seen.text and "onerror=alert(2)" in seen.text   # shown as text
    assert "3 students, 3 distinct answers" in page and "(a PNG image)" in page
    assert len(page) < 60_000   # a cut-off notebook's 20,000 bytes are shown as their first 30 lines


def test_a_tas_mark_for_an_unreadable_notebook_counts_up_to_its_maximum(batch):
    reports, _, json_path, canvas = batch
    marks = json_path.with_name("marks-unreadable.json")
    marks.write_text(json.dumps({"kind": "hw3-review-marks", "version": 1, "marks": [
        {"student": key, "question": "unreadable-HW3_Modules", "group": awaiting_checks(reports[key])[0]["review"]["group"],
         "points": points, "comment": "graded from the file sent again"} for key, points in (("4004", 500), ("4005", 100))]}),
        encoding="utf-8")
    run = run_grader(canvas, "--fast", "--json", json_path, "--resume", "--marks", marks)
    marked = {r["key"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}
    png, cut = marked["4004"], marked["4005"]
    assert (png["score"], png["max_score"], png["awaiting_review"]) == (reports["4004"]["score"] + KIT_MAX,
                                                                        reports["4004"]["max_score"] + KIT_MAX, 0)
    assert (cut["score"], cut["max_score"], cut["awaiting_review"]) == (100, KIT_MAX + 36, 0)
    rows = {row[1]: row for row in csv.reader(open(json_path.with_name("grades_canvas.csv"), encoding="utf-8"))}
    assert rows["4004"][5] == f"{png['score']:g}" and rows["4005"][5] == "100" and rows["4007"][5] == ""
    assert "AWAITING A TA'S REVIEW (1;" in run.stdout


def test_an_unreadable_modules_notebook_takes_the_version_of_the_other_notebooks(tmp_path):
    """It tells nothing itself: a course 2017 differentiation notebook beside it makes it 2017's (its maximum is the
    2017 modules'); nothing beside it, the kit's."""
    course = tmp_path / "course"
    course.mkdir()
    (course / MODULES).write_bytes(PNG)
    diff = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Home work 3: Differentiation"),
                                           nbformat.v4.new_markdown_cell("## ex. 1")])
    nbformat.write(diff, str(course / DIFFERENTIATION))
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / MODULES).write_bytes(PNG)
    for folder, version in ((course, "2017"), (alone, "kit")):
        grading = Grading({"submission": folder.name, "key": folder.name}, Options())
        grading.prepared = prepare(folder, tmp_path / f"work-{folder.name}" / "submission")
        grading.judge_by(grading.prepared)
        report = grading.report().as_dict()
        [item] = [c for c in report["checks"] if c["target"] == "modules"]
        expected = sum(c.points for c in C.checks_of(version=V.version(version), targets=V.version(version).targets))
        assert report["version"] == version and item["max_points"] == expected and report["awaiting_review"] >= expected
        assert item["review"]["question"] == "unreadable-HW3_Modules" + ("" if version == "kit" else f"-{version}")


def test_the_kit_main_notebook_beside_an_unreadable_modules_notebook_awaits_review_too(tmp_path):
    """Without --fast the kit's main notebook runs HW3_Modules.ipynb (%run): beside a PNG under that name it cannot
    run, so it is not run and its points await the TA with the modules' (before: its failed %run scored 0/10)."""
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / MODULES).write_bytes(PNG)
    (folder / main_notebook.NOTEBOOK).write_bytes((ROOT / main_notebook.NOTEBOOK).read_bytes())
    json_path = tmp_path / "out" / "grades.json"
    run_grader(folder, "--json", json_path)
    [report] = json.loads(json_path.read_text(encoding="utf-8"))
    main_max = sum(points for _, points in main_notebook.RUBRIC)
    [main] = [c for c in report["checks"] if c["target"] == main_notebook.TARGET]      # one row: nothing of it ran
    assert main["name"] == "HW3_main.ipynb could not run: HW3_Modules.ipynb could not be read"
    assert main["points"] == 0 and main["max_points"] == main_max
    assert main["review"]["question"] == "unreadable-HW3_main" and main["review"]["status"] == "awaiting"
    assert "it runs HW3_Modules.ipynb (%run), which could not be read (a PNG image" in main["message"]
    assert report["awaiting_review"] == KIT_MAX + main_max
    counted = [c for c in report["checks"] if not isinstance(c.get("review"), dict)]
    assert {c["target"] for c in counted} == {"differentiation"} and report["score"] == 0     # not handed in: 0
    assert report["max_score"] == sum(c["max_points"] for c in counted)
    assert any("HW3_main.ipynb: not run: it runs HW3_Modules.ipynb" in e and "await a TA's review" in e
               for e in report["errors"]), report["errors"]


def framework_in(notebook):
    """`notebook` (a NotebookNode) with the reference modules' code cells appended: the framework pasted into it."""
    nb = copy.deepcopy(notebook)
    nb.cells += [copy.deepcopy(c) for c in reference(MODULES).cells if c.cell_type == "code"]
    return nb


INSIDE = ("HW3_main.ipynb", "my_framework.ipynb")
SEALED = {"rar": ("HW3_Ivanov.rar", "a RAR archive"), "targz": ("hw3.tar.gz", "a tar.gz archive"),
          "password": ("HW3.zip", "a password-protected zip")}


def exports():
    """{kind: the reference modules notebook exported as .py, .html or .pdf}."""
    from nbconvert import HTMLExporter, PythonExporter
    modules = reference(MODULES)
    return {"py": PythonExporter().from_notebook_node(modules)[0], "html": HTMLExporter().from_notebook_node(modules)[0],
            "pdf": "%PDF-1.4\n% printed from the browser\n"}


def password_zip(tmp):
    """A zip holding HW3_Modules.ipynb whose headers say it is encrypted."""
    import zipfile
    locked = tmp / "locked.zip"
    with zipfile.ZipFile(locked, "w") as zf:
        zf.writestr("HW3_Modules.ipynb", "{}")
    data = bytearray(locked.read_bytes())
    for at in (6, data.rfind(b"PK\x01\x02") + 8):   # the encrypted flag, in the local and the central header
        data[at] |= 0x1
    return bytes(data)


@pytest.fixture(scope="module")
def handed_in_otherwise(tmp_path_factory):
    """The submissions whose modules notebook was handed in some other way (inside another notebook, as an export, in an
    archive the grader cannot open, not at all), graded in one run of the command line (--fast): (reports by folder
    name and by Canvas id, the run)."""
    tmp = tmp_path_factory.mktemp("otherwise")
    modules, diff = nbformat.writes(reference(MODULES)).encode(), nbformat.writes(reference(DIFFERENTIATION)).encode()
    main = nbformat.read(str(ROOT / main_notebook.NOTEBOOK), 4)
    folders = {f"inside-{name}": {name: nbformat.writes(framework_in(main)).encode(), DIFFERENTIATION: diff}
               for name in INSIDE}
    folders["no-framework"] = {main_notebook.NOTEBOOK: (ROOT / main_notebook.NOTEBOOK).read_bytes(), DIFFERENTIATION: diff}
    for kind, text in exports().items():
        folders[f"export-{kind}"] = {f"HW3 Modules.{kind.upper() if kind == 'pdf' else kind}": text.encode(),
                                     DIFFERENTIATION: diff}
    folders["export-beside"] = {MODULES: modules, DIFFERENTIATION: diff, "HW3_Modules.html": exports()["html"].encode()}
    folders["sealed-rar"] = {"HW3_Ivanov.rar": b"Rar!\x1a\x07\x00" + bytes(64)}
    folders["sealed-targz"] = {"hw3.tar.gz": b"\x1f\x8b\x08\x00" + bytes(64), MODULES: modules}
    folders["sealed-password"] = {"HW3.zip": password_zip(tmp)}
    folders["sealed-data-only"] = {MODULES: modules, "t10k-images-idx3-ubyte.gz": b"\x1f\x8b"}
    folders["canvas"] = {"rarstudent_777_1_HW3.rar": b"Rar!\x1a\x07\x00" + bytes(64),
                         "okstudent_888_2_HW3_Modules.ipynb": modules}
    for name, files in folders.items():
        (tmp / name).mkdir()
        for file_name, data in files.items():
            (tmp / name / file_name).write_bytes(data)
    json_path = tmp / "out" / "grades.json"
    run = run_grader(*(tmp / name for name in folders), "--fast", "--json", json_path)
    reports = {r["key"]: r for r in json.loads(json_path.read_text(encoding="utf-8"))}   # a folder's key: its name
    assert set(reports) == (set(folders) - {"canvas"}) | {"777", "888"}
    return reports, run


@pytest.mark.parametrize("file_name", INSIDE)
def test_modules_handed_in_inside_another_notebook_await_review_not_zero(handed_in_otherwise, file_name):
    """No HW3_Modules.ipynb, but the framework's classes pasted into the main notebook (or a notebook whose name fits
    no notebook of the homework): the modules' points await a TA who reads them there, never 'not found' and 0."""
    report = handed_in_otherwise[0][f"inside-{file_name}"]
    [item] = [c for c in report["checks"] if c["target"] == "modules"]
    assert item["name"] == "HW3_Modules.ipynb not handed in: the framework is in another notebook"
    assert item["max_points"] == KIT_MAX and item["review"]["status"] == "awaiting"
    assert f"{file_name} defines the framework's classes (Linear, Module, Sequential)" in item["message"]
    assert report["awaiting_review"] == KIT_MAX and report["max_score"] == report["score"] > 0   # the rest: graded
    assert not any("not found" in e for e in report["errors"]), report["errors"]


def test_a_notebook_without_the_framework_leaves_a_missing_modules_notebook_at_zero(handed_in_otherwise):
    """A main notebook that only uses the framework (no class Module, Linear or Sequential of its own) does not stand in
    for the modules notebook: not handed in, 0."""
    report = handed_in_otherwise[0]["no-framework"]
    assert report["awaiting_review"] == 0 and f"{MODULES} not found in the submission" in report["errors"]
    assert sum(c["max_points"] for c in report["checks"] if c["target"] in C.TARGETS) == KIT_MAX


def test_a_notebook_handed_in_as_an_export_awaits_a_ta_never_a_zero(handed_in_otherwise):
    """HW3_Modules.py (File > Download as Python, VS Code's export), .html or .pdf instead of the notebook: the student's
    work, which the grader cannot run; its points await a TA, who sees the start of the file, never 0 'not found'.
    A notebook handed in beside its own export is graded as usual."""
    reports = handed_in_otherwise[0]
    for kind in exports():
        report = reports[f"export-{kind}"]
        [item] = [c for c in report["checks"] if c["target"] == "modules"]
        assert item["max_points"] == KIT_MAX and item["review"]["status"] == "awaiting", item
        assert f"an export (.{kind}) of the notebook, which the grader cannot run" in item["message"], item["message"]
        assert report["awaiting_review"] == KIT_MAX and report["max_score"] == report["score"] == 36
        assert not any("not found" in e for e in report["errors"]), report["errors"]
        assert any("ask the student for the notebook itself (HW3_Modules.ipynb" in e for e in report["errors"])
    assert "# coding: utf-8" in reports["export-py"]["checks"][0]["review"]["work"]   # the start of the file
    beside = reports["export-beside"]
    assert beside["score"] == beside["max_score"] == KIT_MAX + 36 and beside["awaiting_review"] == 0


def test_notebooks_in_an_archive_the_grader_cannot_open_await_a_ta_never_a_zero(handed_in_otherwise):
    """The work handed in as HW3.rar, a .7z, a .tar.gz or a password-protected zip (beside nothing, or beside the
    modules notebook): the notebooks not found may well be in it, so their points await a TA, who opens it; before,
    0/207 with 'none of ... found'. A data file (MNIST's .gz) beside all the notebooks changes nothing, and a
    notebook missing beside no archive stays 0."""
    reports = handed_in_otherwise[0]
    for name, (sealed, what) in SEALED.items():
        report = reports[f"sealed-{name}"]
        awaiting = {c["target"]: c for c in report["checks"] if isinstance(c.get("review"), dict)}
        expected = {"differentiation"} | ({"modules"} if name != "targz" else set())
        assert set(awaiting) == expected, (name, report["checks"][:2])
        assert all(f"the submission holds {sealed}, {what} the grader cannot open, which may hold it" in c["message"]
                   for c in awaiting.values()), awaiting
        assert report["awaiting_review"] == sum(c["max_points"] for c in awaiting.values()) > 0
        assert not any("not found in the submission" in e or "none of" in e for e in report["errors"]), report["errors"]
    assert reports["sealed-targz"]["score"] == KIT_MAX
    plain = reports["sealed-data-only"]
    assert plain["awaiting_review"] == 0 and f"{DIFFERENTIATION} not found in the submission" in plain["errors"]


def test_a_canvas_student_who_uploaded_only_a_rar_awaits_a_ta_and_is_not_told_nothing_can_be_graded(handed_in_otherwise):
    """A Canvas download where one student uploaded HW3.rar alone: every notebook's points await a TA (the archive goes
    along), and no line says that nothing of it can be graded; the other student is graded as usual."""
    reports = handed_in_otherwise[0]
    rar = reports["777"]
    assert rar["graded"] and rar["score"] == rar["max_score"] == 0 and rar["awaiting_review"] == KIT_MAX + 36
    assert not any("can be graded" in e for e in rar["errors"]), rar["errors"]
    assert all("HW3.rar, a RAR archive the grader cannot open" in e for e in rar["errors"]), rar["errors"]
    assert reports["888"]["score"] == KIT_MAX
