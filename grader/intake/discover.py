"""Intake: from what a TA downloads to one :class:`Submission` per student.

    submissions = discover(["canvas_download.zip", "moodle_folder/", "alice/", "bob.zip"])
    for s in submissions:
        s.key, s.label, s.files, s.notes, s.problems

Accepted, alone or mixed, as folders or as ``.zip`` files (zips inside them and nested zips are unpacked):

* a plain submission: a folder (or a zip of one) holding the homework's notebooks — one student;
* a **Canvas** bulk download ("Download Submissions"): a flat folder of every student's files, each named
  ``<sortable name>[_LATE]_<user id>_<submission id>_<the student's file name>``, e.g.
  ``lastfirst_LATE_12345_67890_HW3_Modules-1.ipynb`` (Canvas appends ``-1``, ``-2`` when a student uploads
  two files of the same name). The files of one user id make one submission; the key is the Canvas user id
  (the layout as tools that unpack Canvas downloads describe it, e.g. github.com/mikewesthad/canvas-unzipper:
  ``smithbob_340934_208490284_BobsWork.zip``);
* a **Moodle** "Download all submissions": a folder per participant and plugin,
  ``<Full Name>_<participant id>_assignsubmission_file_/`` (Moodle 3.1 and later; older versions and the
  "download as folders" option off give flat files ``<Full Name>_<participant id>_assignsubmission_file_<file>``).
  The key is the participant id, the one the offline grading worksheet's ``Identifier`` column carries
  (Moodle's source: mod/assign/classes/downloader.php, ``get_student_prefix()`` and
  ``load_submissionplugin_filelist()``: ``clean_filename(fullname . '_' . uniqueid)`` then
  ``'_' . subtype . '_' . type . '_'``; blind marking writes ``Participant`` for the name).

Notebook names are matched leniently: case, spaces and punctuation, a browser's ``(1)``, Jupyter's ``-Copy1``,
Canvas's ``-1``, a course prefix or suffix (``DL24_hw3_modules.ipynb``), the Russian words (``ДЗ3_модули.ipynb``); a
differentiation or main notebook whose name fits nothing is found by its contents (names.py, by_content.py). Every choice goes into the
submission's ``notes`` ("HW3_Modules (1).ipynb graded as HW3_Modules.ipynb"); two different files that fit one
notebook equally well are recorded in ``ambiguous`` and neither is graded (the grader never picks silently): that
notebook's points await a TA (grader/execution/workcopy.py).

Bad input never stops the batch: an empty, password-protected, corrupt or oversized zip (a zip bomb: bounded in
files and bytes over the whole submission, see grader/intake/unpack.py, which every unpack goes through), a member that
cannot be read, a file that is not a notebook, a symlink, a name with bytes that are not UTF-8 — each gives one
line in the submission's ``problems`` and the rest goes on.
A student without a folder of their own (a platform's flat folder) has the other files they handed in (a helper module
the notebooks import, `utils.py`) in ``extras``, copied beside the notebooks; from a student's zip, its folder goes along.
A Submission holds plain strings, lists and dicts (picklable, JSON-ready): paths, never open files.
"""
import filecmp
import os
import re
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import DIFFERENTIATION, MAIN, NOTEBOOKS
from grader import scratch
from grader.intake import by_content, unpack as unpacking
from grader.intake.names import loose_name, match_tier   # match_tier: also imported from here

IGNORED_PARTS = unpacking.IGNORED_PARTS

CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$", re.IGNORECASE)
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.+)$")

@dataclass
class Submission:
    """One student's work as found on disk.

    key: the platform's student identifier (Canvas user id, Moodle participant id), else a name unique in the batch.
    label: what a person reads (the student's name, or the path given).
    files: kit notebook name -> path of the file graded as that notebook.
    folder: the student's own folder whose other files go along (None for a platform's shared flat folder).
    """
    key: str
    label: str
    files: dict = field(default_factory=dict)
    folder: str = None
    platform: str = "folder"     # "canvas", "moodle" or "folder"
    name: str = ""               # the student's name as the platform wrote it
    notes: list = field(default_factory=list)      # what was graded as what, what was repaired
    problems: list = field(default_factory=list)   # bad input, in one line each
    ambiguous: dict = field(default_factory=dict)  # kit notebook name -> [the different files that fit it equally]
    extras: dict = field(default_factory=dict)     # without a folder of its own: a loose file's name -> its path
    handed_in_as: dict = field(default_factory=dict)   # kit notebook name -> the file's name, where the two differ

    def as_dict(self):
        return asdict(self)


class IntakeError(ValueError):
    """An archive or a file that cannot be taken in (the message says why and what to do)."""


def shown(path):
    """A path or name as text that prints and encodes anywhere (bytes that are not UTF-8 become U+FFFD)."""
    return os.fsencode(str(path)).decode("utf-8", "replace")


# ------------------------------------------------------------------ archives (grader/intake/unpack.py)

def unpack(archive, dest, label=None, budget=None, nested=True, depth=0):
    """Unpacks a zip (and, with `nested`, the zips inside it) safely; returns notes and problems (see
    grader.intake.unpack.unpack). Raises IntakeError when the archive cannot be taken in at all."""
    try:
        return unpacking.unpack(archive, dest, label, budget, depth=depth, nested=nested)
    except unpacking.ArchiveError as exc:
        raise IntakeError(str(exc)) from exc


# ------------------------------------------------------------------ choosing the notebooks

def _candidates(root, problems):
    """Every .ipynb under root (not following symlinks), with its depth; symlinks reported."""
    found = []
    root = Path(root)
    if root.is_symlink():
        problems.append(f"{shown(root)}: a symbolic link, not followed")
        return found
    if root.is_file():
        return [(root, 0)] if root.suffix.lower() == ".ipynb" else []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_PARTS and not d.startswith("."))
        for d in list(dirnames):
            if (here / d).is_symlink():
                problems.append(f"{shown((here / d).relative_to(root))}: a symbolic link, not followed")
                dirnames.remove(d)
        for f in sorted(filenames):
            p = here / f
            if f.startswith("._"):      # macOS resource forks
                continue
            if p.is_symlink():
                if f.lower().endswith(".ipynb"):
                    problems.append(f"{shown(p.relative_to(root))}: a symbolic link, not followed")
                continue
            if f.lower().endswith(".ipynb") and not stat.S_ISREG(p.lstat().st_mode):   # a FIFO would hang a read
                problems.append(f"{shown(p.relative_to(root))}: not a regular file (a pipe or a device?), not read")
                continue
            if f.lower().endswith(".ipynb"):
                found.append((p, len(p.relative_to(root).parts) - 1))
    return found


def _same_content(a, b):
    """Whether two files hold the same bytes, compared in blocks (never both read whole: a file may be GBs)."""
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _told_apart(paths, display):
    """The display names of paths; equal names get their folders below the paths' common folder
    ('HW3_Modules.ipynb' and 'v2/HW3_Modules.ipynb', never the same name twice)."""
    names = [display(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
    return ["/".join([shown(part) for part in Path(p).parent.relative_to(common).parts] + [name])
            if names.count(name) > 1 else name for p, name in zip(paths, names)]


def choose(candidates, submission, display=lambda p: shown(Path(p).name)):
    """Fills submission.files from (path, depth) candidates, best name then shallowest; ties are problems."""
    by_kit = {}
    unmatched = []
    for path, depth in candidates:
        fit = match_tier(display(path))
        if fit is None:
            unmatched.append(path)
        else:
            by_kit.setdefault(fit[0], []).append(((fit[1], depth), path))
    for kit in (DIFFERENTIATION, MAIN):   # named as the student pleased: found by its text
        if kit not in by_kit and unmatched:
            unmatched = by_content.take_by_content(kit, by_kit, unmatched, submission.notes, display)
    if MAIN in by_kit:   # the course's two tracks: the one that ran (by_content.ran_track_first)
        by_kit[MAIN] = by_content.ran_track_first(by_kit[MAIN], submission.notes, display)
    for kit in NOTEBOOKS:
        options = sorted(by_kit.get(kit, []), key=lambda o: (o[0], display(o[1]) != kit, str(o[1])))
        if not options:
            continue
        best_rank = options[0][0]
        best = [p for rank, p in options if rank == best_rank]
        distinct = [best[0]] + [p for p in best[1:] if not _same_content(p, best[0])]
        if len(distinct) > 1:   # never picked silently: its points await a TA (grader/execution/workcopy.py)
            submission.ambiguous[kit] = [str(p) for p in distinct]
            continue
        chosen, copies = best[0], best[1:]   # copies: the same bytes as `chosen`, graded once
        submission.files[kit] = str(chosen)
        others = [p for rank, p in options if p not in best]
        told = _told_apart([chosen] + copies + others, display)
        if told[0] != kit:
            submission.notes.append(f"{told[0]} graded as {kit}")
            submission.handed_in_as[kit] = told[0]
        if copies:
            submission.notes.append(f"the same file as {told[0]}, graded once: " + ", ".join(told[1:1 + len(copies)]))
        if others:
            submission.notes.append(f"also found for {kit}, not graded: " + ", ".join(told[1 + len(copies):]))
    if unmatched:
        submission.notes.append("not graded (the name matches none of the homework's notebooks): "
                                + ", ".join(display(p) for p in unmatched))


# ------------------------------------------------------------------ layouts

class _Staging:
    def __init__(self, root=None):
        if root is None:
            root = scratch.mkdtemp(prefix="hw3-intake-")   # removed when the process ends, however
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def new(self, hint):
        self.count += 1
        slug = re.sub(r"[^\w.-]+", "_", shown(hint))[:40] or "x"
        return self.root / f"{self.count:04d}-{slug}"


def _entries(folder):
    """(the entries of a folder, its symlinks): hidden files and symlinks left out of the first."""
    out, links = [], []
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith(".") or p.name in IGNORED_PARTS:
            continue
        (links if p.is_symlink() else out).append(p)
    return out, links


def _platform_of(entries):
    canvas = sum(bool(CANVAS.match(p.name)) for p in entries)
    moodle = sum(bool(MOODLE_FOLDER.match(p.name) or MOODLE_FILE.match(p.name)) for p in entries)
    if moodle and moodle >= canvas:
        return "moodle"
    if canvas:
        return "canvas"
    return None


def _sort_notes(submission, unpacked):
    """What unpacking said: skipped members are notes, members or archives that could not be read problems."""
    notes, problems = unpacked
    submission.notes += notes
    submission.problems += problems


def _budget(submission, archive):
    """The submission's one unpacking budget (every archive of one student draws on it: zips in zips, several
    zips in a folder), made from its first archive's size; kept on the submission, outside its fields."""
    if getattr(submission, "_budget", None) is None:
        submission._budget = unpacking.Budget.for_archive(archive)
    return submission._budget


def _unpack_for(submission, archive, staging, label, depth=0):
    """Unpacks one of a student's zips into a new staging folder; None (and a problem noted) if it cannot be."""
    dest = staging.new(archive.stem)
    try:
        _sort_notes(submission, unpack(archive, dest, label, _budget(submission, archive), depth=depth))
    except IntakeError as exc:
        submission.problems.append(str(exc))
        shutil.rmtree(dest, ignore_errors=True)
        return None
    return dest


def _collect(root, submission, staging, depth=0):
    """The notebooks under a folder, those of the zips in it included (a student's zip inside their folder);
    `depth`: how deep in archives the folder is (1: the folder a student's zip was unpacked into)."""
    candidates = _candidates(root, submission.problems)
    for archive in sorted(p for p in Path(root).rglob("*") if p.suffix.lower() == ".zip" and p.is_file()
                          and not p.is_symlink()
                          and not any(part in IGNORED_PARTS for part in p.relative_to(root).parts)):
        dest = _unpack_for(submission, archive, staging, shown(archive.relative_to(root)), depth)
        if dest is None:
            continue
        depth = len(archive.relative_to(root).parts)
        candidates += [(p, d + depth) for p, d in _candidates(dest, submission.problems)]
    return candidates


def _gather(submission, items, staging, display_name):
    """Collects the notebooks of one student's entries (files, folders, zips) into submission.files."""
    candidates = []
    others = []
    for item, shown_name in items:
        if item.is_dir():
            candidates += [(p, d + 1) for p, d in _collect(item, submission, staging)]
            others += sorted(shown(p.relative_to(item)) for p in item.rglob("*")
                             if p.is_file() and not p.is_symlink() and p.suffix.lower() not in (".ipynb", ".zip"))
        elif item.suffix.lower() == ".zip":
            dest = _unpack_for(submission, item, staging, shown_name)
            if dest is None:   # (password-protected, damaged: goes along, so its notebooks await a TA, never a 0)
                submission.extras.setdefault(Path(shown_name).name, str(item))
                continue
            candidates += [(p, d + 1) for p, d in _collect(dest, submission, staging)]   # its bad inner zips too
        elif item.suffix.lower() == ".ipynb":
            candidates.append((item, 0))
            display_name[str(item)] = shown_name
        else:   # a helper module or data beside the notebooks (a platform's flat folder): copied along
            others.append(shown_name)
            submission.extras.setdefault(loose_name(Path(shown_name).name), str(item))
    choose(candidates, submission, lambda p: display_name.get(str(p), shown(Path(p).name)))
    sealed = any(unpacking.sealed(Path(path)) for path in submission.extras.values())   # a TA opens it: no problem
    if not submission.files and not submission.problems and not sealed:
        what = f" (found: {', '.join(others[:5])}{f' and {len(others) - 5} more' if len(others) > 5 else ''})" if others else ""
        submission.problems.append(f"no notebook in the submission{what}; none of {', '.join(NOTEBOOKS)} "
                                   "can be graded")


def _platform_batch(folder, entries, platform, staging, origin):
    """One Submission per student of a Canvas or Moodle download folder."""
    groups = {}
    stray = []
    for p in entries:
        if platform == "canvas":
            m = CANVAS.match(p.name)   # a folder too: the student's zip, unpacked where it was
            if m:
                g = groups.setdefault(m["user"], {"name": m["name"], "items": [], "late": False})
                g["items"].append((p, m["file"]))
                g["late"] |= bool(m["late"])
                continue
        else:
            m = (MOODLE_FOLDER.match(p.name) if p.is_dir() else None) or MOODLE_FILE.match(p.name)
            if m:
                g = groups.setdefault(m["user"], {"name": m["name"], "items": [], "late": False})
                g["items"].append((p, m.groupdict().get("file") or p.name))
                continue
        stray.append(p)
    submissions = []
    for user, g in groups.items():
        name = shown(g["name"])
        sub = Submission(key=user, label=name, platform=platform, name=name)
        if g["late"]:
            sub.notes.append("submitted late (Canvas marked the files LATE)")
        display = {}
        _gather(sub, [(p, shown(n)) for p, n in g["items"]], staging, display)
        if platform == "moodle":
            folders = [p for p, _ in g["items"] if p.is_dir()]
            sub.folder = str(folders[0]) if len(folders) == 1 else None
        chosen = sorted((Path(f) for f in sub.files.values()), key=lambda p: len(p.parts))
        if sub.folder is None and chosen and chosen[0].parent != Path(folder):   # from the student's zip: its folder
            sub.folder = str(chosen[0].parent)
        submissions.append(sub)
    for p in stray:
        if p.is_dir() or p.suffix.lower() in (".zip", ".ipynb"):
            submissions += _take_in(p, staging, origin)
    return submissions


def _take_in(path, staging, origin=None):
    """The submissions of one path the TA gave: a platform download (many students), else a folder or zip of one."""
    path = Path(path)
    label = shown(path)
    key = shown(path.name[:-4] if path.name.lower().endswith(".zip") else path.name) or "submission"
    sub = Submission(key=key, label=label)
    if path.is_symlink():
        sub.problems.append(f"{label}: a symbolic link, not followed; pass the folder it points to")
        return [sub]
    if not path.exists():
        sub.problems.append(f"{label}: no such file or folder")
        return [sub]
    if path.is_file() and path.suffix.lower() == ".ipynb":
        choose([(path, 0)], sub)
        if not sub.files:
            sub.problems.append(f"{label}: the name matches none of {', '.join(NOTEBOOKS)}")
        sub.folder = None
        return [sub]
    if path.is_file() and path.suffix.lower() != ".zip":
        sub.problems.append(f"{label}: not a folder or a .zip of one (a submission is a folder holding "
                            f"{', '.join(NOTEBOOKS)})")
        return [sub]
    root = path
    if path.is_file():
        root = staging.new(path.stem)
        try:   # one level: a platform's download holds every student's zips, each unpacked on its own budget
            _sort_notes(sub, unpack(path, root, shown(path.name), _budget(sub, path), nested=False))
        except IntakeError as exc:
            sub.problems.append(str(exc))
            return [sub]
    entries, links = _entries(root)
    platform = _platform_of(entries)
    if platform:
        return _platform_batch(root, entries, platform, staging, origin or path)
    # The notebook walk (_candidates) names the folder's symlinked notebooks and folders itself: said once, here
    # only the other files (a helper module left behind as a link is not copied with the work).
    sub.problems += [f"{shown(p.name)}: a symbolic link, not followed" for p in links
                     if not p.name.lower().endswith(".ipynb") and not p.is_dir()]
    candidates = _collect(root, sub, staging, depth=1 if path.is_file() else 0)
    if not candidates:
        if any(unpacking.sealed(p) for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()):
            sub.folder = str(root)   # its work in an archive the grader cannot open: a TA's (grader/execution/workcopy)
        elif not sub.problems:
            sub.problems.append(f"{label}: none of {', '.join(NOTEBOOKS)} found")
        return [sub]
    choose(candidates, sub)
    chosen = [Path(f) for f in sub.files.values()]
    if chosen:
        shallowest = min(chosen, key=lambda p: len(p.parts)).parent
        sub.folder = str(shallowest)
    else:
        sub.folder = str(root)
    return [sub]


def discover(paths, staging=None):
    """One Submission per student found in `paths` (folders, zips, notebooks; see the module docstring).

    Archives are unpacked under `staging` (a temporary folder removed at exit if None). Keys are unique:
    a repeated plain name gets its parent folder's name, then a number.
    """
    stage = _Staging(staging)
    found = []
    for path in paths:
        try:
            found += _take_in(Path(path), stage)
        except OSError as exc:   # an unreadable folder: one line, the batch goes on
            found.append(Submission(key=shown(Path(path).name) or "submission", label=shown(path),
                                    problems=[f"{shown(path)}: cannot read it ({type(exc).__name__}: {exc})"]))
    taken = {}
    for sub in found:
        if sub.key in taken and sub.platform == "folder":
            parent = shown(Path(sub.label).parent.name)
            if parent and f"{parent}-{sub.key}" not in taken:
                sub.key = f"{parent}-{sub.key}"
        base, n = sub.key, 1
        while sub.key in taken:
            n += 1
            sub.key = f"{base}-{n}"
        taken[sub.key] = sub
    return found
