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

_state = {"pid": None, "roots": {}}      # this process's folders, by the folder they are in


def root(base=None):
    """This process's scratch folder in `base` (default: tempfile's, i.e. TMPDIR), made and watched on first use;
    a forked child gets one of its own."""
    base = base or tempfile.gettempdir()
    if _state["pid"] != os.getpid():
        _state.update(pid=os.getpid(), roots={})
    folder = _state["roots"].get(base)
    if folder is None or not os.path.isdir(folder):
        folder = tempfile.mkdtemp(prefix=PREFIX, dir=base)
        watcher = subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHER, folder], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                   close_fds=True)
        _state["roots"][base] = folder
        atexit.register(_remove, folder, watcher)
    return folder


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


# A kernel's ipc sockets are files named <folder>/kernel-<n>: a Unix socket's path has at most 107 bytes (108 with
# its NUL, Linux's sun_path). Under a long TMPDIR (a CI's or a cluster job's folder four levels deep) the kernel
# could not make its sockets, and the grader waited for a kernel that would never answer.
SOCKET_FOLDER_MAX = 107 - len("/kernel-99")
SHORT_BASES = ("/tmp", "/dev/shm", "/var/tmp")
_RANDOM = len("/") + 8         # what tempfile adds to a prefix: a separator and 8 random characters


def _fits(folder, *prefixes):
    """Whether a folder made in `folder` with these prefixes, one inside the other, leaves room for a socket."""
    return len(os.fsencode(folder)) + sum(len(p) + _RANDOM for p in prefixes) <= SOCKET_FOLDER_MAX


def socket_folder(prefix="hw3-ipc-"):
    """A new folder for a kernel's ipc sockets, short enough for them: in this process's folder when it is, else
    in a watched folder of this process under the first of SHORT_BASES that can hold it.

    Raises:
        RuntimeError: no such folder (TMPDIR and every one of SHORT_BASES too long or not writable)."""
    if _fits(root(), prefix):
        return mkdtemp(prefix)
    for base in SHORT_BASES:
        if os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK) and _fits(base, PREFIX, prefix):
            return tempfile.mkdtemp(prefix=prefix, dir=root(base))
    raise RuntimeError(f"the temporary folder {tempfile.gettempdir()!r} is too long for a kernel's sockets (a Unix "
                       f"socket's path has at most 107 bytes) and none of {', '.join(SHORT_BASES)} can be written: "
                       f"set TMPDIR to a shorter folder")


def TemporaryDirectory(prefix="hw3-"):
    return tempfile.TemporaryDirectory(prefix=prefix, dir=root(), ignore_cleanup_errors=True)
