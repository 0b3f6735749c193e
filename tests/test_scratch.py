"""The grader's temporary folders go with the process that made them, however it ends (grader/scratch.py):
work copies of submissions used to stay in /tmp after a crash, Ctrl-C or a killed worker."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

MAKER = """
import sys, time
sys.path.insert(0, %r)
from grader import scratch
copy = scratch.mkdtemp(prefix="hw3-task-")
open(copy + "/HW3_Modules.ipynb", "w").write("a copy of a submission")
with scratch.TemporaryDirectory(prefix="hw3-arg-") as other:
    print(scratch.root(), copy, other, flush=True)
    time.sleep(300)
"""


def gone_within(path, seconds):
    deadline = time.monotonic() + seconds
    while Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not Path(path).exists()


@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_a_grader_that_ends_any_way_leaves_no_copy_behind(ending):
    maker = subprocess.Popen([sys.executable, "-c", MAKER % str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        root, copy, other = maker.stdout.readline().split()
        assert Path(copy, "HW3_Modules.ipynb").is_file() and Path(other).is_dir()
        assert Path(copy).parent == Path(other).parent == Path(root)
    finally:
        maker.send_signal(ending)
        maker.wait(30)
    assert gone_within(root, 10), os.listdir(root)
    watchers = subprocess.run(["pgrep", "-f", root], capture_output=True, text=True).stdout.split()
    assert watchers == []    # the watcher has ended too


def test_a_forked_child_gets_its_own_folder():
    from grader import scratch
    mine = scratch.root()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, scratch.root().encode())
        os._exit(0)
    os.close(write)
    theirs = os.read(read, 4096).decode()
    os.waitpid(pid, 0)
    assert theirs != mine and Path(mine).is_dir()
    assert gone_within(theirs, 10)   # the child ended with os._exit: its watcher removed its folder
