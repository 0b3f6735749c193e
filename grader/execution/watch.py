"""What the sandbox's launcher watches while the kernel runs: the folders it may write to (their size and files),
the client that started it, its socket folder (removed when the launcher is gone).

Standard library only: grader/execution/sandbox.py runs as a script, isolated, and loads this file by path.
"""
import os
import shutil
import time
from pathlib import Path

DISK_POLL = 0.25             # seconds between two measures of the folder
PARENT_POLL = 1.0            # seconds between two looks at whether the client is still there


def folder_usage(folder, stop_at=None):
    """(bytes on disk, files) under `folder`, links not followed; the walk stops early past `stop_at` files."""
    used, files, stack = 0, 0, [folder]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                used += info.st_blocks * 512
                files += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                if stop_at is not None and files > stop_at:
                    return used, files
    return used, files


def folder_caps(environ, cwd, disk_limit, files_limit):
    """(bytes, files) the working folder may hold: from the client (HW3_SANDBOX_DISK / _FILES: what the copy held
    before its first kernel plus the kernel's allowance), else what it holds now plus the defaults."""
    try:
        return int(environ["HW3_SANDBOX_DISK"]), int(environ["HW3_SANDBOX_FILES"])
    except (KeyError, ValueError):
        used, files = folder_usage(cwd)
        return used + disk_limit, files + files_limit


def watch_folder(folders, caps, kernel, note):
    """Stops the kernel when the folders it may write to (its working folder, its socket folders) grow past `caps`
    (bytes, files): the per-file limit alone let a notebook write 1.3 GiB of small files in 0.7 s. Writes `note`
    (why) for the client."""
    while kernel.poll() is None:
        why = over_caps(folders, caps)
        if why:
            try:   # the note first: the client looks for it as soon as it sees the kernel gone
                Path(note).write_text(why)
            except OSError:
                pass
            kernel.kill()
            return
        time.sleep(DISK_POLL)


def over_caps(folders, caps):
    """Why `folders` hold more than `caps` (bytes, files) in all, in the words the reports show; None if they don't.
    The launcher's measure, and the client's before it starts a kernel again in the same folder."""
    used, files = map(sum, zip(*(folder_usage(f, stop_at=caps[1]) for f in folders)))
    if used > caps[0] or files > caps[1]:
        what = f"more than {caps[0] // 2 ** 20} MiB" if used > caps[0] else f"more than {caps[1]} files"
        return f"the notebook filled its folder ({what}, its own files included)"
    return None


def remove_when_gone(folder):
    """Removes `folder` once this launcher has ended, however it ends: a small forked process waits for the end of
    a pipe only we hold (EOF when we are gone, SIGKILL included) and removes it. It leaves our process group, which
    the client kills as a whole, and needs no exec."""
    read, write = os.pipe()      # not inherited by the kernel (PEP 446): only this process holds `write`
    if os.fork() == 0:
        try:
            os.close(write)
            os.setsid()
            while os.read(read, 1):
                pass
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os._exit(0)
    os.close(read)
    _KEPT_OPEN.append(write)


_KEPT_OPEN = []


def end_with_client(parent, kernel):
    """Kills the kernel when the client that started us is gone (we were handed to another parent)."""
    while kernel.poll() is None:
        if os.getppid() != parent:
            kernel.kill()
            return
        time.sleep(PARENT_POLL)
