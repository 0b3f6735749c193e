"""Files a submission's kernel leaves in its copy are read only if they are regular files reached without a link
(grader/execution/safefile.py): a FIFO named build/metrics.json used to hang the whole batch."""
import os
import socket
import threading

import pytest

from grader.execution.safefile import NotInside, read_inside, read_regular


@pytest.fixture
def copy(tmp_path):
    (tmp_path / "build").mkdir()
    return tmp_path


def test_a_regular_file_is_read(copy):
    (copy / "build" / "metrics.json").write_bytes(b'{"a": 1} \xff')
    assert read_inside(copy, "build/metrics.json") == '{"a": 1} \ufffd'


def test_a_fifo_is_refused_at_once_never_waited_on(copy):
    os.mkfifo(copy / "build" / "metrics.json")
    done = []
    reader = threading.Thread(target=lambda: done.append(pytest.raises(NotInside, read_inside, copy,
                                                                       "build/metrics.json")), daemon=True)
    reader.start()
    reader.join(5)
    assert done and "FIFO" in str(done[0].value)


def test_links_anywhere_on_the_path_are_refused(copy, tmp_path_factory):
    outside = tmp_path_factory.mktemp("kit")
    (outside / "metrics.json").write_text("{}")
    (copy / "build" / "metrics.json").symlink_to(outside / "metrics.json")
    with pytest.raises(NotInside, match="symbolic link"):
        read_inside(copy, "build/metrics.json")
    (copy / "inside.json").write_text("{}")
    (copy / "build" / "in.json").symlink_to(copy / "inside.json")     # a link that stays inside: refused too
    with pytest.raises(NotInside, match="symbolic link"):
        read_inside(copy, "build/in.json")
    (copy / "out").symlink_to(outside)
    with pytest.raises(NotInside, match="not a folder of the submission"):
        read_inside(copy, "out/metrics.json")


def test_sockets_folders_and_large_files_are_refused(copy):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(copy / "build" / "sock.json"))
        with pytest.raises(NotInside, match="not a regular file"):
            read_inside(copy, "build/sock.json")
    (copy / "build" / "dir.json").mkdir()
    with pytest.raises(NotInside, match="folder"):
        read_inside(copy, "build/dir.json")
    (copy / "build" / "big.json").write_bytes(b" " * (2 ** 20 + 1))
    with pytest.raises(NotInside, match="larger than 1 MiB"):
        read_inside(copy, "build/big.json")
    with pytest.raises(FileNotFoundError):
        read_regular(copy, "build/none.json")


def test_a_fifo_in_a_submission_folder_is_neither_read_nor_copied(tmp_path):
    """A folder submission holding a FIFO named like a notebook, and another in a subfolder: the intake names the
    first and grades the real notebook; the private copy holds neither (copying a FIFO waits forever)."""
    import nbformat
    from corpus import MODULES, reference
    from grader.intake.discover import discover
    from grader.execution.workcopy import prepare
    folder = tmp_path / "alice"
    (folder / "old").mkdir(parents=True)
    nbformat.write(reference(MODULES), str(folder / MODULES))
    os.mkfifo(folder / "old" / "HW3_Modules.ipynb")
    os.mkfifo(folder / "notes.txt")
    [sub] = discover([folder], staging=tmp_path / "stage")
    assert sub.files == {MODULES: str(folder / MODULES)}
    assert any("old/HW3_Modules.ipynb: not a regular file" in p for p in sub.problems), sub.problems
    done = []
    worker = threading.Thread(target=lambda: done.append(prepare(sub, tmp_path / "work")), daemon=True)
    worker.start()
    worker.join(30)
    assert done, "prepare() hung on a FIFO"
    assert not (tmp_path / "work" / "notes.txt").exists() and (tmp_path / "work" / MODULES).is_file()
