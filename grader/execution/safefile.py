"""Reading a file that a submission's kernel may have made, in the submission's private copy.

    text = read_inside(workdir, "build/metrics.json")     # str; raises FileNotFoundError or NotInside

The kernel could not read the host's files, but whatever it leaves in its folder is hostile: a symbolic link
(to the kit's own results, to /dev/zero), a FIFO (an ``open()`` that never returns: the whole batch would hang),
a socket, a file of gigabytes. So the grader opens such a file only if it is a regular file it expects:

* every folder on the way is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one before (no link
  anywhere on the path, whether it points in or out of the copy);
* the file itself with ``O_NOFOLLOW | O_NONBLOCK | O_NOCTTY`` (opening a FIFO returns at once), then checked with
  ``fstat`` on what was opened (no race between a check and the open): anything but a regular file is refused;
* it is read up to `limit` bytes; a larger file is refused.
"""
import errno
import os
import stat
from pathlib import PurePosixPath


class NotInside(Exception):
    """A file the kernel left that the grader will not read (a link, not a regular file, too large); the
    message says which, for the report."""


def _open_folder(folder, parts):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotInside(f"is inside {part}/, which is not a folder of the submission (a link?): "
                                    "not read") from None
                raise
            os.close(fd)
            fd = next_fd
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_regular(folder, relative, limit=2 ** 20):
    """The bytes of the regular file `relative` (a path under `folder`, '/'-separated).

    Raises:
        FileNotFoundError: no such file. NotInside: a link on the way or at the end, not a regular file (FIFO,
        socket, device, folder), or more than `limit` bytes. OSError: it cannot be read."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("..", "/") for p in parts):
        raise ValueError(f"not a relative path: {relative}")
    dir_fd = _open_folder(folder, parts[:-1])
    try:
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotInside("is a symbolic link (maybe out of the submission's folder): not read") from None
            if exc.errno == errno.ENXIO:   # a socket, or a FIFO nobody writes to on some systems
                raise NotInside("is not a regular file (a socket or a pipe): not read") from None
            raise
    finally:
        os.close(dir_fd)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode) else "a special file"
        raise NotInside(f"is {kind}, not a regular file: not read")
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotInside(f"is larger than {limit // 2 ** 20} MiB: not read")
    return data


def read_inside(folder, relative, limit=2 ** 20):
    """The text of a regular file the kernel wrote in `folder` (see read_regular); bytes that are not UTF-8
    become U+FFFD."""
    return read_regular(folder, relative, limit).decode("utf-8", errors="replace")
