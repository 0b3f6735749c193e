"""The grader's temporary folders (work copies of submissions, unpacked archives, kernel sockets), all inside one
folder per process that is removed when the process ends, however it ends.

    with scratch.TemporaryDirectory(prefix="hw3-task-") as tmp: ...      # as tempfile's, inside this process's
    folder = scratch.mkdtemp(prefix="hw3-intake-")                        # folder /tmp/hw3-run-*

A crash, Ctrl-C or SIGKILL (a Dask worker killed by its nanny, a machine's job killed by its queue) used to leave
every copy of the submissions being graded in /tmp. Here the first use starts a watcher: a small process of its
own session (a process group's SIGKILL does not reach it) that waits for the end of a pipe only this process
holds — end of file when this process is gone, whatever ended it — then removes the folder and exits. A normal
exit removes it at once (atexit).
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

PREFIX = "hw3-run-"
# The watcher: no site, no kit, standard library only; reads its stdin to the end, then removes the folder.
WATCHER = ("import shutil, sys\n"
           "while sys.stdin.buffer.read(65536):\n"
           "    pass\n"
           "shutil.rmtree(sys.argv[1], ignore_errors=True)\n")

_state = {"pid": None, "root": None, "watcher": None}


def root():
    """This process's scratch folder (made, and watched, on first use; a forked child gets one of its own)."""
    if _state["pid"] != os.getpid() or _state["root"] is None or not os.path.isdir(_state["root"]):
        folder = tempfile.mkdtemp(prefix=PREFIX)
        watcher = subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHER, folder], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                   close_fds=True)
        _state.update(pid=os.getpid(), root=folder, watcher=watcher)
        atexit.register(_remove, folder, watcher)
    return _state["root"]


def _remove(folder, watcher):
    if os.getpid() != _state["pid"]:
        return
    shutil.rmtree(folder, ignore_errors=True)
    try:
        watcher.stdin.close()     # the watcher ends (nothing left to remove)
        watcher.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass


def mkdtemp(prefix="hw3-"):
    return tempfile.mkdtemp(prefix=prefix, dir=root())


def TemporaryDirectory(prefix="hw3-"):
    return tempfile.TemporaryDirectory(prefix=prefix, dir=root(), ignore_cleanup_errors=True)
