"""Hostile archives (grader/intake/unpack.py, through the intake): every name is treated as an attack, nothing in an
archive stops the batch, and the limits count the whole submission. The attacking zips are written here; the
two shared field cases (zip-backslash-member, zip-bad-member-name) are graded in test_grader_field_cases.py."""
import io
import json
import os
import stat
import zipfile
import zlib

import pytest

from corpus import MODULES, reference
from conftest import SHARED_CASES
from grader.intake import unpack as U
from grader.intake.discover import discover

import nbformat


def nb_bytes():
    return nbformat.writes(reference(MODULES)).encode()


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    """A zip of {name or ZipInfo: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def everything_under(folder):
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", [
    "..\\..\\..\\escaped-canary.txt", "hw3\\..\\..\\escaped-canary.txt", "../../escaped-canary.txt",
    "hw3/../../escaped-canary.txt", "/tmp/escaped-canary.txt", "\\escaped-canary.txt",
    "C:\\escaped-canary.txt", "C:escaped-canary.txt", "hw3/C:/escaped-canary.txt", "hw3/..\\../escaped-canary.txt",
])
def test_a_member_that_climbs_out_is_skipped_with_a_note(tmp_path, name):
    """Every route out of the unpack folder, with '/' or '\\' (a zip made on Windows): skipped, noted, never
    written anywhere (the scratch folder around the unpack folder is four levels deep and stays as it was)."""
    scratch = tmp_path / "a" / "b" / "c" / "d"
    scratch.mkdir(parents=True)
    archive = scratch / "submission.zip"
    archive.write_bytes(zip_bytes({"hw3\\HW3_Modules.ipynb": nb_bytes(), name: b"canary"}))
    before = everything_under(tmp_path)
    notes, problems = U.unpack(archive, scratch / "out")
    assert any("skipped" in n and "outside the archive" in n for n in notes), notes
    assert not problems
    assert everything_under(tmp_path) - before == {p.relative_to(tmp_path) for p in
                                                   [scratch / "out", scratch / "out" / "hw3",
                                                    scratch / "out" / "hw3" / "HW3_Modules.ipynb"]}
    assert not list(tmp_path.rglob("escaped-canary.txt"))


def test_a_symlink_member_is_skipped_and_no_file_is_written_through_a_link(tmp_path):
    link = zipfile.ZipInfo("hw3/evil")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = tmp_path / "s.zip"
    archive.write_bytes(zip_bytes({link: b"/etc", "hw3/HW3_Modules.ipynb": nb_bytes()}))
    notes, _ = U.unpack(archive, tmp_path / "out")
    assert any("symbolic link" in n for n in notes) and not (tmp_path / "out" / "hw3" / "evil").exists()
    # the last check, right before writing: a folder of dest that is a link out of it is refused
    (tmp_path / "out2").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "out2" / "hw3").symlink_to(tmp_path / "outside")
    assert U.target_inside(tmp_path / "out2", "hw3/x.txt") is None
    assert U.target_inside(tmp_path / "out2", "ok/x.txt") == (tmp_path / "out2" / "ok" / "x.txt").resolve()


def _bad_name_zip():
    """A member flagged UTF-8 whose name is not UTF-8, a member whose deflate data is corrupt, a good notebook."""
    placeholder, bad = "notes-\u00e9\u00e9.txt".encode(), b"notes-\xff\xfe\xff\xfe.txt"
    data = bytearray(zip_bytes({"notes-\u00e9\u00e9.txt": b"my notes\n", "scratch.txt": b"scratch " * 64,
                                "HW3_Modules.ipynb": nb_bytes()}))
    data = bytearray(bytes(data).replace(placeholder, bad))
    at = data.index(b"scratch.txt") + len(b"scratch.txt")     # the local header has no extra field here
    data[at] = 0x07                                            # a reserved deflate block type
    return bytes(data)


def test_an_invalid_utf8_name_and_corrupt_data_cost_only_those_members(tmp_path):
    archive = tmp_path / "hw3.zip"
    archive.write_bytes(_bad_name_zip())
    with pytest.raises(UnicodeDecodeError):   # what stopped the whole batch before
        zipfile.ZipFile(archive)
    with pytest.raises(zlib.error):
        zipfile.ZipFile(io.BytesIO(_bad_name_zip().replace(b"notes-\xff\xfe\xff\xfe", b"notes-abcd"))).read("scratch.txt")
    notes, problems = U.unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "HW3_Modules.ipynb").read_bytes() == nb_bytes()
    assert len(problems) == 1 and "notes-\ufffd\ufffd\ufffd\ufffd.txt" in problems[0] and "scratch.txt" in problems[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["HW3_Modules.ipynb"]


@pytest.mark.parametrize("data, words", [
    (b"PK\x05\x06" + b"\x00" * 18, "the archive is empty"),
    (b"\x00" * 100, "not a readable zip archive"),
    (lambda: zip_bytes({"a.txt": b"x" * 1000})[:-30], "not a readable zip archive"),   # cut in its directory
])
def test_any_unreadable_archive_is_one_line(tmp_path, data, words):
    archive = tmp_path / "x.zip"
    archive.write_bytes(data() if callable(data) else data)
    with pytest.raises(U.ArchiveError, match=words):
        U.unpack(archive, tmp_path / "out")


def test_a_zip_in_zip_file_count_bomb_is_refused_for_the_whole_submission(tmp_path):
    """200,000 empty files in ten zips of 20,000, in one 1.3 MB upload: each inner zip is within a per-archive
    limit; the submission's budget is not. The student gets one line, the notebook beside it is still graded
    and a Canvas classmate in the same download is untouched."""
    inner = zip_bytes({f"f{i:05d}": b"" for i in range(20_000)})
    bomb = zip_bytes({f"part{k}.zip": inner for k in range(10)} | {"HW3_Modules.ipynb": nb_bytes()})
    assert len(bomb) < 1.5e6
    download = tmp_path / "canvas"
    download.mkdir()
    (download / "bomber_1001_2001_hw3.zip").write_bytes(bomb)
    (download / "honest_1002_2002_hw3.zip").write_bytes(zip_bytes({"HW3_Modules.ipynb": nb_bytes()}))
    subs = {s.key: s for s in discover([download], staging=tmp_path / "stage")}
    assert MODULES in subs["1002"].files and not subs["1002"].problems
    assert MODULES in subs["1001"].files
    assert any("more than 20000 files" in p and "zip bomb" in p for p in subs["1001"].problems), subs["1001"].problems
    assert sum(1 for _ in (tmp_path / "stage").rglob("*")) < U.MAX_FILES + 100


def test_an_honest_notebook_that_compresses_283_times_is_not_a_bomb(tmp_path):
    """A 106 MB notebook of saved outputs (the same lines printed over and over) compresses ~283x: judged by
    what it unpacks to in total, it is honest work and is unpacked."""
    notebook = json.loads(nb_bytes())
    line = "epoch 1/10  loss 0.2345  accuracy 0.9312\n"
    notebook["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": line * 2_580_000}]
    text = json.dumps(notebook).encode()
    archive = tmp_path / "hw3.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("HW3_Modules.ipynb", text)
    ratio = len(text) / archive.stat().st_size
    assert len(text) > 106e6 and ratio > 200, (len(text), ratio)
    [sub] = discover([archive], staging=tmp_path / "stage")
    assert MODULES in sub.files and not sub.problems, sub.problems
    assert os.path.getsize(sub.files[MODULES]) == len(text)


def test_bytes_are_counted_over_every_archive_of_the_submission(tmp_path, monkeypatch):
    """Two zips each under the limit, together over it: the second is refused (a byte bomb split in parts)."""
    monkeypatch.setattr(U, "MAX_BYTES", 3 * 2 ** 20)
    part = zip_bytes({"zeros.bin": b"\0" * (2 * 2 ** 20)})
    archive = tmp_path / "hw3.zip"
    archive.write_bytes(zip_bytes({"a.zip": part, "b.zip": part, "HW3_Modules.ipynb": nb_bytes()}))
    [sub] = discover([archive], staging=tmp_path / "stage")
    assert MODULES in sub.files
    assert len(sub.problems) == 1 and "b.zip" in sub.problems[0] and "MiB in all" in sub.problems[0], sub.problems


def test_the_shared_backslash_case_never_writes_outside(tmp_path):
    """../shared/cases/field/zip-backslash-member through the intake, in a scratch folder four levels deep."""
    archive = SHARED_CASES / "field" / "zip-backslash-member" / "submission.zip"
    scratch = tmp_path / "1" / "2" / "3" / "4"
    scratch.mkdir(parents=True)
    [sub] = discover([archive], staging=scratch / "stage")
    assert MODULES in sub.files
    assert any("escaped-canary.txt" in n and "outside the archive" in n for n in sub.notes), sub.notes
    assert not list(tmp_path.rglob("escaped-canary.txt"))
