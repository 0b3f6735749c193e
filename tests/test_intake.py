"""The intake (grader/intake/) and the lenient reading of notebooks (grader/intake/notebooks.py), without kernels:
Canvas and Moodle downloads grouped per student, lenient notebook names, and bad input (empty, bomb,
password-protected and nested zips, files that are not notebooks, symlinks, names that are not UTF-8)."""
import json
import os
import pickle
import zipfile

import nbformat
import pytest

from conftest import ROOT
from corpus import DIFFERENTIATION, MODULES, reference
from grader.intake.discover import Submission, discover, match_tier
from grader.intake.unpack import MAX_DEPTH, MAX_FILES
from grader.intake.notebooks import read_lenient
from grader.selfcheck.notebook import NotebookError


def nb_text(name=MODULES):
    return nbformat.writes(reference(name))


def zip_of(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize("name, kit", [
    ("HW3_Modules.ipynb", MODULES), ("hw3_modules.ipynb", MODULES), ("HW3 Modules (1).ipynb", MODULES),
    ("HW3_Modules-Copy1.ipynb", MODULES), ("HW3_Modules-1.ipynb", MODULES), ("DL24_HW3_Modules.ipynb", MODULES),
    ("HW3_differentiation (2).ipynb", DIFFERENTIATION), ("ivanov-hw3-main.ipynb", "HW3_main.ipynb"),
    ("Untitled.ipynb", None), ("HW3_Modules.pdf", None), ("domain.ipynb", None),
])
def test_notebook_names_match_leniently(name, kit):
    fit = match_tier(name)
    assert (fit[0] if fit else None) == kit


def test_canvas_flat_folder_is_grouped_per_user_id(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "smithbob_1001_9001_HW3_Modules.ipynb").write_text(nb_text())
    (folder / "smithbob_1001_9002_HW3_differentiation.ipynb").write_text(nb_text(DIFFERENTIATION))
    (folder / "wellsjane_LATE_1002_9003_HW3_Modules-1.ipynb").write_text(nb_text())
    zip_of(folder / "leeann_1003_9004_my_hw3.zip", {"hw3/HW3_Modules.ipynb": nb_text(),
                                                    "hw3/HW3_differentiation.ipynb": nb_text(DIFFERENTIATION)})
    archive = tmp_path / "submissions.zip"   # what Canvas hands out: the flat folder, zipped
    with zipfile.ZipFile(archive, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    assert {s.key for s in discover([archive], staging=tmp_path / "stage-zip")} == {"1001", "1002", "1003"}
    subs = {s.key: s for s in discover([folder], staging=tmp_path / "stage")}
    assert set(subs) == {"1001", "1002", "1003"}
    assert all(s.platform == "canvas" and not s.problems for s in subs.values())
    assert set(subs["1001"].files) == {MODULES, DIFFERENTIATION} and subs["1001"].label == "smithbob"
    assert subs["1002"].files[MODULES].endswith("wellsjane_LATE_1002_9003_HW3_Modules-1.ipynb")
    assert "HW3_Modules-1.ipynb graded as HW3_Modules.ipynb" in subs["1002"].notes
    assert any("late" in n for n in subs["1002"].notes)
    assert set(subs["1003"].files) == {MODULES, DIFFERENTIATION}
    assert subs["1001"].folder is None   # the flat folder is everyone's: no sibling files go along


def test_moodle_folders_per_participant_and_a_zipped_download(tmp_path):
    root = tmp_path / "moodle"
    for name, pid, files in [("Ann Lee", "501", {"HW3_Modules.ipynb": nb_text()}),
                             ("Борис Иванов", "502", {"HW3_Modules (1).ipynb": nb_text()})]:
        d = root / f"{name}_{pid}_assignsubmission_file_"
        d.mkdir(parents=True)
        for f, text in files.items():
            (d / f).write_text(text)
    d = root / "Cy Young_503_assignsubmission_file_"
    d.mkdir()
    zip_of(d / "ДЗ3.zip", {"ДЗ3/HW3_Modules.ipynb": nb_text()})
    (root / "Cy Young_503_assignsubmission_onlinetext_").mkdir()
    (root / "Cy Young_503_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>see the zip</p>")
    archive = tmp_path / "COURSE-HW3-123.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in root.rglob("*"):
            if p.is_file():
                zf.write(p, str(p.relative_to(root)))
    for source in (root, archive):
        subs = {s.key: s for s in discover([source], staging=tmp_path / f"stage-{source.name}")}
        assert set(subs) == {"501", "502", "503"}, subs
        assert subs["502"].label == "Борис Иванов" and subs["502"].platform == "moodle"
        assert "HW3_Modules (1).ipynb graded as HW3_Modules.ipynb" in subs["502"].notes
        assert all(MODULES in s.files and not s.problems for s in subs.values()), subs


def test_submission_is_plain_and_picklable(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / MODULES).write_text(nb_text())
    [sub] = discover([tmp_path / "alice"])
    assert isinstance(sub, Submission) and sub.key == "alice"
    assert pickle.loads(pickle.dumps(sub)) == sub
    json.dumps(sub.as_dict())


def test_two_candidates_for_one_notebook_are_reported_never_picked(tmp_path):
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "HW3_Modules.ipynb").write_text(nb_text())
    changed = reference()
    changed.cells[0].source += "\nchanged"
    nbformat.write(changed, str(folder / "HW3_Modules (1).ipynb"))
    (folder / "HW3_differentiation.ipynb").write_text(nb_text(DIFFERENTIATION))
    (folder / "HW3_differentiation-Copy1.ipynb").write_text(nb_text(DIFFERENTIATION))   # same content: fine
    [sub] = discover([folder])
    assert MODULES not in sub.files
    assert [os.path.basename(p) for p in sub.ambiguous[MODULES]] == ["HW3_Modules.ipynb", "HW3_Modules (1).ipynb"]
    assert DIFFERENTIATION in sub.files and DIFFERENTIATION not in sub.ambiguous


def test_identical_copies_for_one_notebook_are_graded_once_and_named_in_the_notes(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    for name in ("HW3_Modules (1).ipynb", "HW3_Modules-Copy1.ipynb"):   # the same bytes, neither the kit's name
        (folder / name).write_text(nb_text())
    [sub] = discover([folder])
    assert MODULES in sub.files and MODULES not in sub.ambiguous
    chosen = os.path.basename(sub.files[MODULES])
    [other] = {"HW3_Modules (1).ipynb", "HW3_Modules-Copy1.ipynb"} - {chosen}
    assert sub.notes[:2] == [f"{chosen} graded as {MODULES}", f"the same file as {chosen}, graded once: {other}"]
    assert sub.handed_in_as == {MODULES: chosen}


@pytest.mark.parametrize("build, words", [
    (lambda p: zip_of(p, {}), "the archive is empty"),
    (lambda p: zip_of(p, {f"f{i}.txt": "" for i in range(MAX_FILES + 1)}), "zip bomb"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "not a readable zip archive"),
    (lambda p: p.write_bytes(_encrypted_zip()), "password-protected"),
])
def test_bad_archives_get_one_clear_line(tmp_path, build, words):
    path = tmp_path / "student.zip"
    build(path)
    [sub] = discover([path], staging=tmp_path / "stage")
    assert not sub.files and len(sub.problems) == 1 and words in sub.problems[0], sub.problems


def _encrypted_zip():
    """A zip whose only member has the 'encrypted' flag (what a password-protected upload looks like)."""
    import io
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("HW3_Modules.ipynb", "x")
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 1
    return bytes(data)


def test_nested_zips_are_unpacked_and_bounded(tmp_path):
    inner = zip_of(tmp_path / "inner.zip", {"hw3/HW3_Modules.ipynb": nb_text()})
    zip_of(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes()})
    [sub] = discover([tmp_path / "outer.zip"], staging=tmp_path / "stage")
    assert MODULES in sub.files and not sub.problems
    deep = zip_of(tmp_path / "d0.zip", {"hw3/HW3_Modules.ipynb": nb_text()})
    for level in range(1, MAX_DEPTH + 2):
        deep = zip_of(tmp_path / f"d{level}.zip", {f"d{level - 1}.zip": deep.read_bytes()})
    [sub] = discover([deep], staging=tmp_path / "stage2")
    assert not sub.files and any("nested deeper" in p for p in sub.problems), sub.problems


def test_each_symbolic_link_of_a_students_folder_is_named_once(tmp_path):
    """A symlinked notebook, folder and helper module: one line each (the notebook's was said twice, once with the
    TA's whole path); the links are not followed."""
    folder = tmp_path / "erin"
    folder.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "HW3_Modules.ipynb").write_text(nb_text())
    (outside / "utils.py").write_text("X = 1\n")
    (folder / "HW3_differentiation.ipynb").write_text(nb_text())
    os.symlink(outside / "HW3_Modules.ipynb", folder / "HW3_Modules.ipynb")
    os.symlink(outside, folder / "linked")
    os.symlink(outside / "utils.py", folder / "utils.py")
    [sub] = discover([folder])
    links = sorted(p for p in sub.problems if "symbolic link" in p)
    assert links == [f"{name}: a symbolic link, not followed" for name in ("HW3_Modules.ipynb", "linked", "utils.py")]
    assert MODULES not in sub.files and "HW3_differentiation.ipynb" in sub.files


def test_not_a_notebook_symlinks_and_non_utf8_names(tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / "HW3_Modules.pdf").write_bytes(b"%PDF-1.4")
    [sub] = discover([folder])
    assert not sub.files and "none of" in sub.problems[0]
    outside = tmp_path / "elsewhere.ipynb"
    outside.write_text(nb_text())
    os.symlink(outside, folder / "HW3_Modules.ipynb")
    [sub] = discover([folder])
    assert not sub.files and any("symbolic link" in p for p in sub.problems)
    odd = tmp_path / os.fsdecode(b"dan\xff")
    odd.mkdir()
    (odd / MODULES).write_text(nb_text())
    [sub] = discover([odd])
    assert MODULES in sub.files and "\ufffd" in sub.label
    json.dumps(sub.as_dict()).encode("utf-8")


def test_lenient_reading_repairs_what_jupyter_opens(tmp_path):
    data = json.loads(nb_text())
    data["nbformat_minor"] = 4
    data["cells"][0]["outputs"] = []
    data["cells"][1]["id"] = data["cells"][2]["id"]   # duplicate id
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(data))
    nb, repairs = read_lenient(path)
    nbformat.validate(nb)
    assert any("4.5" in r for r in repairs) and any("outputs" in r for r in repairs) and any("id" in r for r in repairs)
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}]}]}
    path.write_text(json.dumps(v3))
    nb, repairs = read_lenient(path)
    assert nb.cells[0].source == "x = 1" and repairs == [] or "upgraded" in " ".join(repairs)
    for text in ("not a notebook", json.dumps({"cells": "no", "nbformat": 4, "nbformat_minor": 5})):
        path.write_text(text)
        with pytest.raises(NotebookError, match="not a valid Jupyter notebook"):
            read_lenient(path)


def test_a_folder_holding_the_students_zip_is_graded_from_the_zip(tmp_path):
    folder = tmp_path / "erin"
    folder.mkdir()
    zip_of(folder / "erin_hw3.zip", {"HW3/HW3_Modules.ipynb": nb_text(), "__MACOSX/HW3/._HW3_Modules.ipynb": "junk"})
    [sub] = discover([folder], staging=tmp_path / "stage")
    assert MODULES in sub.files and not sub.problems, sub


def test_a_bad_zip_in_a_canvas_zip_is_reported_for_its_student(tmp_path):
    """A password-protected or empty zip inside Canvas's zip: its student is in the batch with one clear line
    (it used to vanish: the refusal was a note of the outer archive, which belongs to no student)."""
    import io
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    archive = zip_of(tmp_path / "submissions.zip", {
        "smithbob_1001_9001_HW3_Modules.ipynb": nb_text(),
        "garciafrank_1006_9006_hw3.zip": _encrypted_zip(),
        "millergina_1007_9007_empty.zip": empty.getvalue(),
        "leeann_1003_9004_my_hw3.zip": zip_of(tmp_path / "ok.zip", {"hw3/HW3_Modules.ipynb": nb_text()}).read_bytes(),
    })
    subs = {s.key: s for s in discover([archive], staging=tmp_path / "stage")}
    assert set(subs) == {"1001", "1003", "1006", "1007"}
    assert subs["1006"].problems == ["hw3.zip: the archive is password-protected; ask the student for an unprotected one"]
    assert len(subs["1007"].problems) == 1 and "the archive is empty" in subs["1007"].problems[0]
    assert MODULES in subs["1003"].files and not subs["1003"].problems
    # inside a student's own zip, the same refusal is one line too (not two: it is not reported twice)
    student = zip_of(tmp_path / "student.zip", {"hw3/HW3_Modules.ipynb": nb_text(), "hw3/old.zip": _encrypted_zip()})
    [sub] = discover([student], staging=tmp_path / "stage2")
    assert MODULES in sub.files and len(sub.problems) == 1 and "old.zip" in sub.problems[0], sub.problems


def test_two_versions_of_one_notebook_are_told_apart_in_the_notes(tmp_path):
    """A Moodle participant who uploaded HW3_Modules.ipynb and v2/HW3_Modules.ipynb: the notes name both
    by their folders (the shallower is graded), never 'not graded: HW3_Modules.ipynb' for the graded name."""
    folder = tmp_path / "moodle" / "Grace Hopper_2009_assignsubmission_file_"
    (folder / "v2").mkdir(parents=True)
    (folder / MODULES).write_text(nb_text())
    changed = reference()
    changed.cells[0].source += "\nchanged"
    nbformat.write(changed, str(folder / "v2" / MODULES))
    [sub] = discover([tmp_path / "moodle"], staging=tmp_path / "stage")
    assert sub.files[MODULES] == str(folder / MODULES)
    assert sub.notes == ["also found for HW3_Modules.ipynb, not graded: v2/HW3_Modules.ipynb"], sub.notes


def test_utf8_names_of_a_zip_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    """Info-ZIP, macOS and PHP (Moodle's download) write UTF-8 names without the zip's UTF-8 flag; zipfile alone
    reads them as cp437 and the gradebook would show '╨É╨╜╨╜╨░' for 'Анна'."""
    real = "Анна Петрова_2003_assignsubmission_file_/HW3_Modules.ipynb"
    placeholder = "X" * len(real.encode("utf-8"))
    path = zip_of(tmp_path / "moodle.zip", {placeholder: nb_text()})
    data = path.read_bytes()
    assert data.count(placeholder.encode()) == 2   # the local header and the central directory, no flag set
    path.write_bytes(data.replace(placeholder.encode(), real.encode("utf-8")))
    [sub] = discover([path], staging=tmp_path / "stage")
    assert (sub.key, sub.label, sub.platform) == ("2003", "Анна Петрова", "moodle") and MODULES in sub.files


@pytest.mark.parametrize("text, words", [
    ("", "the file is empty"),
    ("  \n", "the file is empty"),
    ("<!DOCTYPE html>\n<html><head><title>HW3_Modules.ipynb at main</title>", "a web page saved under a notebook's name"),
    ("\n<html lang='en'>", "a web page"),
])
def test_empty_files_and_saved_web_pages_are_named_as_such(tmp_path, text, words):
    path = tmp_path / MODULES
    path.write_text(text)
    with pytest.raises(NotebookError, match="not a valid Jupyter notebook") as caught:
        read_lenient(path)
    assert words in str(caught.value) and "ask the student" in str(caught.value)


def test_a_cut_off_or_foreign_notebook_is_named_with_what_to_do_and_no_internal_names(tmp_path):
    path = tmp_path / MODULES
    whole = (ROOT / "HW3_Modules.ipynb").read_text(encoding="utf-8")
    for text, words in ((whole[:20000], "cut off"), ('{"cells": "no", "nbformat": 4, "nbformat_minor": 5}',
                                                      "not a notebook's"), ("x = 1\n", "not complete JSON")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(NotebookError) as caught:
            read_lenient(path)
        message = str(caught.value)
        assert words in message and "hand it in again" in message and "Error" not in message, message


def test_a_moodle_folder_without_notebooks_says_what_it_holds(tmp_path):
    folder = tmp_path / "moodle" / "Frank Ocean_2008_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("I could not finish")
    (folder / "HW3_Modules.pdf").write_bytes(b"%PDF-1.4")
    [sub] = discover([tmp_path / "moodle"], staging=tmp_path / "stage")
    assert sub.key == "2008" and not sub.files
    assert sub.problems == ["no notebook in the submission (found: HW3_Modules.pdf, notes.txt); none of "
                            "HW3_Modules.ipynb, HW3_differentiation.ipynb, HW3_main.ipynb can be graded"], sub.problems


def test_a_large_class_download_is_not_taken_for_a_zip_bomb(tmp_path, monkeypatch):
    """A Canvas zip of a whole class (notebooks with outputs, MNIST copied along) unpacks to more than MAX_BYTES
    without being dense: it is unpacked (up to MAX_OVERALL_RATIO times its own size); a dense one is still refused."""
    import grader.intake.unpack as unpack
    monkeypatch.setattr(unpack, "MAX_BYTES", 2 ** 20)   # a class of 1 MiB stands for a class of 512 MiB
    outputs = json.loads(nb_text())
    outputs["cells"][0]["metadata"]["noise"] = os.urandom(300_000).hex()   # incompressible, like base64 PNGs
    notebook = json.dumps(outputs)
    members = {f"student{i}_{1000 + i}_{9000 + i}_HW3_Modules.ipynb": notebook for i in range(4)}
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    assert sum(len(t) for t in members.values()) > 2 ** 21
    subs = discover([archive], staging=tmp_path / "stage")
    assert len(subs) == 4 and all(MODULES in s.files and not s.problems for s in subs), [s.problems for s in subs]
    dense = zip_of(tmp_path / "dense.zip", {f"s{i}_{1000 + i}_{9000 + i}_HW3_Modules.ipynb": " " * 900_000 for i in range(3)})
    [sub] = discover([dense], staging=tmp_path / "stage2")
    assert not sub.files and len(sub.problems) == 1 and "zip bomb" in sub.problems[0], sub.problems


@pytest.mark.parametrize("bom, codec, name", [(b"\xff\xfe", "utf-16-le", "UTF-16"), (b"\xfe\xff", "utf-16-be", "UTF-16"),
                                              (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
                                              (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32")])
def test_a_notebook_saved_as_utf16_or_utf32_with_a_bom_reads_as_its_utf8_twin(tmp_path, bom, codec, name):
    """Windows editors and Windows PowerShell's `>` save UTF-16 (or UTF-32) with a byte-order mark."""
    path = tmp_path / MODULES
    path.write_bytes(bom + nb_text().encode(codec))
    nb, repairs = read_lenient(path)
    assert nb == nbformat.reads(nb_text(), as_version=4)
    assert repairs == [f"read as {name} text (saved so by a Windows editor or PowerShell; Jupyter saves UTF-8)"]


@pytest.mark.parametrize("codec, name", [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32"),
                                         ("utf-32-be", "UTF-32")])
def test_a_notebook_saved_as_utf16_or_utf32_without_a_bom_reads_as_its_utf8_twin(tmp_path, codec, name):
    """Python's `open(..., encoding="utf-16-le")` and some editors write no byte-order mark: the zero bytes of the
    first characters tell the encoding (RFC 4627 section 3)."""
    path = tmp_path / MODULES
    path.write_bytes(nb_text().encode(codec))
    nb, repairs = read_lenient(path)
    assert nb == nbformat.reads(nb_text(), as_version=4)
    assert repairs == [f"read as {name} text without a byte-order mark (saved so by an editor or a script; "
                       "Jupyter saves UTF-8)"]


@pytest.mark.parametrize("data", [b"\x00\x01\x02\x03" * 300, b"\x00{\x00\x01" * 300, b"{\x00\x00\x00\x07\x00\x00\x00" * 300])
def test_binary_data_whose_zero_bytes_look_like_utf16_or_utf32_stays_unreadable(tmp_path, data):
    from grader.intake.notebooks import UnreadableNotebook
    path = tmp_path / MODULES
    path.write_bytes(data)
    with pytest.raises(UnreadableNotebook) as caught:
        read_lenient(path)
    assert caught.value.why.startswith("binary data, not text")


def test_stray_bytes_that_are_not_utf8_are_replaced_and_counted(tmp_path):
    path = tmp_path / MODULES
    path.write_bytes(nb_text().encode("utf-8").replace(b"import numpy", b"import numpy # caf\xe9 \x93q\x94", 1))
    nb, repairs = read_lenient(path)
    assert "# caf\ufffd \ufffdq\ufffd" in "".join(cell.source for cell in nb.cells)
    assert repairs == ["replaced 3 bytes that are not UTF-8 with \ufffd (characters typed in another encoding, "
                       "e.g. Windows-1252)"]


def test_a_notebook_saved_in_cp1251_is_read_however_many_bytes_are_not_utf8(tmp_path):
    """The measured case of the threshold's comment: all markdown in Russian, saved as cp1251 (36 % of its bytes are
    not UTF-8, as many as in binary files): no control bytes, so it is text, and it is read with its code intact."""
    nb = reference(DIFFERENTIATION)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = "Найдите производную функции по матрице, покажите вывод. " * 10
    path = tmp_path / DIFFERENTIATION
    path.write_bytes(nbformat.writes(nb).encode("cp1251"))
    read, repairs = read_lenient(path)
    assert [c.source for c in read.cells if c.cell_type == "code"] == [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(repairs) == 1 and "bytes that are not UTF-8" in repairs[0]


@pytest.mark.parametrize("data, kind", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "a PNG image"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 5 /Filter /FlateDecode >>\nstream\n" + bytes(range(256)) * 4,
     "a PDF document"),
    (None, "a zip archive"),
    (bytes(range(256)) * 16, "binary data, not text"),
])
def test_a_binary_file_under_a_notebooks_name_stays_unreadable_and_says_what_it_is(tmp_path, data, kind):
    from grader.intake.notebooks import UnreadableNotebook
    path = tmp_path / MODULES
    if data is None:   # a zip of the notebooks, handed in under the notebook's name
        zip_of(tmp_path / "hw3.zip", {MODULES: nb_text()})
        data = (tmp_path / "hw3.zip").read_bytes()
    path.write_bytes(data)
    with pytest.raises(UnreadableNotebook) as caught:
        read_lenient(path)
    assert caught.value.why.startswith(kind) and "the .ipynb file" in caught.value.todo


def test_a_few_control_bytes_below_the_binary_share_are_judged_as_json(tmp_path):
    """Below 1 % control bytes the file is text: it is then judged as JSON (a raw control byte is not valid JSON)."""
    from grader.intake.notebooks import UnreadableNotebook
    path = tmp_path / MODULES
    path.write_bytes(nb_text().encode("utf-8").replace(b"import numpy", b"import numpy\x0c", 1))
    with pytest.raises(UnreadableNotebook) as caught:
        read_lenient(path)
    assert "not complete JSON" in caught.value.why


def test_the_excerpt_of_an_unreadable_file_is_plain_text_and_size_limited(tmp_path):
    from grader.intake.notebooks import excerpt
    path = tmp_path / MODULES
    path.write_bytes(b"<html>\x1b[2J<script>x</script>\n" + b"line\n" * 1000)
    text = excerpt(path)
    assert text.startswith("<html>\ufffd[2J<script>") and "\x1b" not in text   # escaped where it is shown
    assert text.count("\n") <= 31 and len(text) <= 1505 and text.endswith("...")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert excerpt(path) == "(a PNG image)"


def test_a_notebook_larger_than_the_grader_reads_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """Parsed, a notebook takes about 9 times its size in the grader's memory: one past MAX_NOTEBOOK_BYTES is
    unreadable (its points await a TA, who is told what to ask for), and its bytes are never read."""
    from pathlib import Path
    from grader.intake import notebooks
    path = tmp_path / "HW3_Modules.ipynb"
    with open(path, "wb") as f:
        f.truncate(notebooks.MAX_NOTEBOOK_BYTES + 1)   # sparse: no disk used
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the notebook was read"))
    with pytest.raises(notebooks.UnreadableNotebook) as refused:
        notebooks.read_lenient(path)
    assert "more than the grader reads (256 MiB)" in refused.value.why and "clear all outputs" in refused.value.todo
