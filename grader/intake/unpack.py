"""Unpacking a student's zip as if every name in it were hostile: the one function every unpack path uses.

    budget = Budget.for_archive("alice.zip")          # one per submission: every zip in it draws on it
    notes, problems = unpack("alice.zip", dest, "alice.zip", budget)

* **No member is written outside `dest`.** A name is split on both ``/`` and ``\\`` (zips made on Windows use
  ``\\``); a name with ``..``, a drive letter (``C:``), a leading separator (an absolute path) or a NUL, and a
  symbolic-link member, is skipped with a note. Right before writing, the final resolved path is checked
  against `dest` once more and the file is created with ``O_EXCL | O_NOFOLLOW`` (nothing already there, no link
  followed).
* **Nothing in an archive stops the batch.** A member whose name carries the UTF-8 flag but is not UTF-8 (which
  makes :mod:`zipfile` raise ``UnicodeDecodeError`` on opening the archive) is skipped and named; a member whose
  data is corrupt (``zlib.error``, a bad CRC, ...) is skipped and named; the rest is unpacked. An archive that
  cannot be read at all raises :class:`ArchiveError` (one line: which archive, why, what to do).
* **Limits count the whole submission** (:class:`Budget`): files, bytes and nesting depth over all its archives,
  zips in zips included. A zip bomb is judged by what it unpacks to in total (bytes and files), never by its
  compression ratio alone: a 106 MB notebook of saved outputs that compresses 283 times is honest work.

Sources: the zip format's flag bit 11 (UTF-8 names) and central directory, PKWARE APPNOTE.TXT 4.4.4 and 4.3.12;
path traversal in archives ("Zip Slip", snyk.io/research/zip-slip-vulnerability).
"""
import io
import os
import re
import shutil
import stat
import struct
import zipfile
from pathlib import Path

MAX_BYTES = 512 * 2 ** 20     # bytes one submission may unpack to (all its archives together), at least...
MAX_OVERALL_RATIO = 20        # ...and up to this many times its outermost archive's size (a class's download)
MAX_FILES = 20_000            # files one submission may unpack to, all its archives together
MAX_DEPTH = 3                 # zips inside zips inside zips
IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints", ".git", ".venv", "venv", "__pycache__", "node_modules")
_UTF8_FLAG = 0x800
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """An archive that cannot be taken in at all (the message names it, says why and what to do)."""


class OverBudget(ArchiveError):
    """An archive that would take its submission over a limit of its Budget."""


class Budget:
    """What one submission may still unpack: files and bytes, counted over every archive it holds.

    Args:
        size: bytes of the outermost archive (a class's bulk download may unpack to MAX_OVERALL_RATIO times it).
    """

    def __init__(self, size=0, files=None, max_bytes=None, depth=None):
        self.bytes_limit = max(max_bytes or MAX_BYTES, MAX_OVERALL_RATIO * size)
        self.files_limit = files = files or MAX_FILES
        self.depth = MAX_DEPTH if depth is None else depth
        self.bytes_left = self.bytes_limit
        self.files_left = files

    @classmethod
    def for_archive(cls, path):
        path = Path(path)
        return cls(path.stat().st_size if path.is_file() else 0)

    def reserve(self, label, files, nbytes):
        """Charges an archive's declared content; raises OverBudget (nothing charged) if it does not fit."""
        if files > self.files_left:
            raise OverBudget(f"{label}: the submission's archives hold more than {self.files_limit} files in all "
                             f"(a zip bomb?); not unpacked")
        if nbytes > self.bytes_left:
            raise OverBudget(f"{label}: the submission's archives unpack to more than {self.bytes_limit // 2 ** 20} "
                             f"MiB in all (a zip bomb?); not unpacked")
        self.files_left -= files
        self.bytes_left -= nbytes


def split_name(name):
    """The parts of a member's name split on both separators, or None if the name leaves its folder: a part
    '..', a drive letter, a leading separator (absolute), a NUL."""
    if not name or "\x00" in name or name[0] in "/\\" or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".")]
    if any(p == ".." or re.match(r"^[A-Za-z]:$", p) for p in parts):
        return None
    # Control characters are legal in zip names, not in a file a TA opens; a part too long for the file system
    # is cut (the notebook's name is matched leniently later).
    return [re.sub(r"[\x00-\x1f\x7f]", "_", p)[:200] for p in parts]


def target_inside(dest, name):
    """The path under `dest` a member named `name` is written to, or None if it would be anywhere else (checked
    on the final resolved path: a folder of `dest` that is a link out of it is caught too)."""
    parts = split_name(name)
    if not parts:
        return None
    root = Path(dest).resolve()
    target = root.joinpath(*parts)
    resolved = target.resolve()
    if resolved != target or not resolved.is_relative_to(root) or resolved == root:
        return None
    return target


def member_name(info):
    """A member's name as its maker wrote it. Zips from Info-ZIP, macOS, PHP (Moodle) store UTF-8 names without
    the UTF-8 flag, which zipfile then reads as cp437 ('Анна' becomes '╨É╨╜╨╜╨░'): such a name is read back
    as UTF-8 when its bytes are UTF-8, else kept as cp437 (what the zip format says)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def shown(name):
    """A name as text that prints and encodes anywhere (lone surrogates, invalid bytes become U+FFFD)."""
    return os.fsencode(str(name)).decode("utf-8", "replace") if isinstance(name, (str, Path)) else str(name)


class _Overlay(io.RawIOBase):
    """A read-only view of a file with some bytes replaced (to clear a lying UTF-8 flag without copying)."""

    def __init__(self, f, patches):
        self.f, self.patches, self.pos = f, patches, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = self.f.seek(offset, whence)
        return self.pos

    def tell(self):
        return self.pos

    def readinto(self, buffer):
        data = self.f.read(len(buffer))
        start = self.pos
        if data and any(start <= p < start + len(data) for p in self.patches):
            data = bytearray(data)
            for p, value in self.patches.items():
                if start <= p < start + len(data):
                    data[p - start] = value
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _bad_names(f):
    """Reads the central directory itself: (entries declared, {offset of a flag byte: value without the UTF-8
    flag}, {local header offset: name} of the members flagged UTF-8 whose names are not UTF-8, on which zipfile
    would raise UnicodeDecodeError when opening the archive)."""
    endrec = zipfile._EndRecData(f)
    if not endrec:
        raise zipfile.BadZipFile("File is not a zip file")
    size_cd, offset_cd = endrec[zipfile._ECD_SIZE], endrec[zipfile._ECD_OFFSET]
    concat = endrec[zipfile._ECD_LOCATION] - size_cd - offset_cd
    if endrec[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
        concat -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    start = offset_cd + concat
    if start < 0:
        raise zipfile.BadZipFile("bad offset for the central directory")
    f.seek(start)
    data = f.read(min(size_cd, 1 << 30))
    patches, bad, pos = {}, {}, 0
    while pos + zipfile.sizeCentralDir <= len(data):
        entry = struct.unpack(zipfile.structCentralDir, data[pos:pos + zipfile.sizeCentralDir])
        if entry[zipfile._CD_SIGNATURE] != zipfile.stringCentralDir:
            break
        name_at = pos + zipfile.sizeCentralDir
        raw = data[name_at:name_at + entry[zipfile._CD_FILENAME_LENGTH]]
        if entry[zipfile._CD_FLAG_BITS] & _UTF8_FLAG:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                # the flag bits are at offset 8 of the entry, little-endian: bit 11 is bit 3 of byte 9
                patches[start + pos + 9] = data[pos + 9] & ~(_UTF8_FLAG >> 8) & 0xFF
                bad[entry[zipfile._CD_LOCAL_HEADER_OFFSET] + concat] = raw.decode("utf-8", "replace")
        pos = name_at + entry[zipfile._CD_FILENAME_LENGTH] + entry[zipfile._CD_EXTRA_FIELD_LENGTH] \
            + entry[zipfile._CD_COMMENT_LENGTH]
    return endrec[zipfile._ECD_ENTRIES_TOTAL], patches, bad


def _write(zf, info, target, label):
    """Writes one member at `target`, checked once more right before (no folder on the way a link, nothing there
    already); never more bytes than the member declared (and the budget was charged for)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.parent.resolve() != target.parent:
        raise ArchiveError(f"{label}: skipped {shown(target.name)} (a path outside the archive)")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    left = info.file_size
    with zf.open(info) as src, os.fdopen(fd, "wb") as out:
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                break
            left -= len(chunk)
            if left < 0:
                raise OverBudget(f"{label}: unpacks to more than its size says (a zip bomb?); not unpacked")
            out.write(chunk)


def _extract(f, dest, label, budget, skip):
    """Unpacks one archive (not the archives inside it); returns (notes, bad members), raises ArchiveError."""
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        if not infos or all(i.is_dir() for i in infos):
            raise ArchiveError(f"{label}: the archive is empty; ask the student to upload the notebooks again")
        if any(i.flag_bits & 0x1 for i in infos):
            raise ArchiveError(f"{label}: the archive is password-protected; ask the student for an unprotected one")
        keep, notes, bad = [], [], []
        for info in infos:
            name = member_name(info)
            if info.header_offset in skip:   # its name is not what its flag says: named by the caller
                continue
            parts = split_name(name)
            if parts is None:
                notes.append(f"{label}: skipped {shown(name)} (a path outside the archive)")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                notes.append(f"{label}: skipped {shown(name)} (a symbolic link)")
                continue
            if info.is_dir() or any(p in IGNORED_PARTS for p in parts):
                continue
            keep.append((info, name))
        budget.reserve(label, len(keep), sum(i.file_size for i, _ in keep))
        dest.mkdir(parents=True, exist_ok=True)
        for info, name in keep:
            target = target_inside(dest, name)
            if target is None:
                notes.append(f"{label}: skipped {shown(name)} (a path outside the archive)")
                continue
            try:
                _write(zf, info, target, label)
            except FileExistsError:
                notes.append(f"{label}: skipped {shown(name)} (a second file of that name)")
            except OverBudget:
                raise
            except ArchiveError as exc:
                notes.append(str(exc))
            except OSError as exc:   # a file where a folder goes, a name the file system refuses
                notes.append(f"{label}: skipped {shown(name)} (cannot be written here: {exc.strerror})")
            except Exception as exc:   # zlib.error, bad CRC, unsupported method, truncated data...
                target.unlink(missing_ok=True)
                bad.append(f"{shown(name)} (its data is corrupt: {type(exc).__name__})")
    return notes, bad


def unpack(archive, dest, label=None, budget=None, depth=0, nested=True):
    """Unpacks a zip into `dest`; with `nested`, the zips inside it too (up to the budget's depth), each in a
    folder named after it, in place of it.

    Returns:
        (notes, problems): notes are skipped members and what was done; problems are lines for the student's
        report (members that could not be read, inner archives that could not be unpacked).
    Raises:
        ArchiveError: this archive cannot be read at all (not a zip, empty, password-protected, over the budget).
    """
    archive, dest = Path(archive), Path(dest)
    label = label or shown(archive.name)
    budget = budget if budget is not None else Budget.for_archive(archive)
    try:
        with open(archive, "rb") as raw:
            entries, patches, bad_names = _bad_names(raw)
            if entries > budget.files_left:
                raise OverBudget(f"{label}: the submission's archives hold more than {budget.files_limit} files in "
                                 "all (a zip bomb?); not unpacked")
            view = io.BufferedReader(_Overlay(raw, patches)) if patches else raw
            view.seek(0)
            notes, bad = _extract(view, dest, label, budget, bad_names)
    except ArchiveError:
        raise
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{label}: not a readable zip archive ({exc}); ask the student to upload it again") from exc
    except Exception as exc:   # anything else reading it: this student's problem, never the batch's
        raise ArchiveError(f"{label}: cannot unpack the archive ({type(exc).__name__}: {shown(exc)}); ask the "
                           "student to upload it again") from exc
    bad = [f"{shown(n)} (its name is flagged UTF-8 but is not)" for n in bad_names.values()] + bad
    problems = [f"{label}: {len(bad)} file(s) could not be unpacked: {', '.join(bad)}; the rest was unpacked"] if bad else []
    if nested:
        more_notes, more_problems = _unpack_inner(dest, label, budget, depth)
        notes += more_notes
        problems += more_problems
    return notes, problems


def _unpack_inner(dest, label, budget, depth):
    """The zips found under `dest`, unpacked in place (each replaced by a folder of its name)."""
    notes, problems = [], []
    for inner in sorted(p for p in dest.rglob("*") if p.suffix.lower() == ".zip" and p.is_file()
                        and not p.is_symlink()):
        inner_label = f"{label}/{shown(inner.relative_to(dest))}"
        if depth + 1 > budget.depth:
            problems.append(f"{inner_label}: not unpacked (archives nested deeper than {budget.depth})")
            inner.unlink()
            continue
        target = inner.with_name(inner.name[:-4])
        target = target if not target.exists() else inner.with_name(inner.name[:-4] + "_unzipped")
        try:
            more_notes, more_problems = unpack(inner, target, inner_label, budget, depth + 1)
        except ArchiveError as exc:
            problems.append(str(exc))
            _remove(target)
            inner.unlink()
            continue
        notes += more_notes
        problems += more_problems
        inner.unlink()
    return notes, problems


SEALED = {".rar": "a RAR archive", ".7z": "a 7-Zip archive", ".tar": "a tar archive", ".tgz": "a tar.gz archive",
          ".tar.gz": "a tar.gz archive", ".tar.bz2": "a tar.bz2 archive", ".tar.xz": "a tar.xz archive"}


def sealed(path):
    """What `path` is when it is an archive the grader does not open (RAR, 7-Zip, tar; a zip that is password-protected
    or damaged: the intake named it in the errors), else None."""
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                return "a password-protected zip" if any(i.flag_bits & 0x1 for i in archive.infolist()) else None
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
            return "a damaged zip"
    return next((what for suffix, what in SEALED.items() if name.endswith(suffix)), None)


def _remove(folder):
    shutil.rmtree(folder, ignore_errors=True)
