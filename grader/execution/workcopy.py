"""A submission on disk, ready to grade: its notebooks copied next to the kit's ``grader/`` and ``data/``.

``prepare(submission, workdir)`` takes a :class:`grader.intake.discover.Submission` (or a path: a folder or a .zip of
one, found with :func:`grader.intake.discover.discover`), copies the student's folder into ``workdir`` with each chosen
file under the kit's notebook name, replaces the submission's own ``grader/`` and ``data/`` with the kit's (the
student cannot bring their own grader), and reads the notebooks leniently (:func:`grader.intake.notebooks.read_lenient`):
what was found, repaired, missing or unreadable is reported.
"""
import hashlib
import os
import re
import shutil
import sys
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import KIT_ROOT, MODULES, NOTEBOOKS
from grader.intake.discover import Submission, discover, match_tier, shown
from grader.intake.unpack import IGNORED_PARTS, sealed
from grader.intake.notebooks import UnreadableNotebook, excerpt, read_lenient
from grader.selfcheck.notebook import NotebookError

KIT_FOLDERS = ("grader", "data")
NOT_COPIED = KIT_FOLDERS + IGNORED_PARTS + ("build", "tests", "bench", ".pytest_cache")


@dataclass
class Prepared:
    workdir: Path
    notebooks: dict = field(default_factory=dict)   # name -> NotebookNode (valid ones only)
    errors: list = field(default_factory=list)      # what could not be read, in words
    missing: list = field(default_factory=list)
    unreadable: dict = field(default_factory=dict)  # name -> Unreadable: handed in, but not a notebook to read
    notes: list = field(default_factory=list)       # which file was graded as which notebook, what was repaired
    submission: Submission = None


@dataclass
class Unreadable:
    """A handed-in notebook the grader cannot read: its points await a TA (grader/parts/unreadable.py)."""
    file: str            # the file as the TA knows it (its path in the download)
    name: str            # the file's own name, as the student knows it
    why: str             # what is wrong, in a TA's words
    todo: str            # what to do about it
    excerpt: str         # the start of its text (plain text, size-limited; escaped where it is shown)
    digest: str          # SHA-256 of its bytes: equal files are one answer on the review page
    needs: str = ""      # "": this file could not be read; else the unreadable notebook it runs (its own file is fine)
    kind: str = "unreadable"  # or "ambiguous": several files fit the notebook equally well (`file` names them); or
                              # "elsewhere": not handed in, but another notebook (`file`) defines its classes; or
                              # "sealed": not found, beside an archive the grader cannot open (`file`)

    @property
    def ambiguous(self):
        return self.kind == "ambiguous"


def _digest(paths, digest=None):
    """SHA-256 of the files' bytes in turn, read in blocks (a file too large to read as a notebook may be GBs); a
    file that cannot be read adds its name instead."""
    digest = digest or hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            digest.update(str(path).encode("utf-8", "replace"))
    return digest


def _unreadable(path, source, exc):
    digest = _digest([path]).hexdigest() if Path(path).is_file() else ""
    return Unreadable(shown(source), shown(Path(source).name), exc.why, exc.todo, excerpt(path), digest)


def _ambiguous(kit, paths):
    """The Unreadable that stands for `kit` when different files fit it equally well: the grader never picks one, so
    its points await a TA, who knows which one the student meant (or asks)."""
    digest = _digest(sorted(paths))
    names = ", ".join(shown(Path(p).name) for p in paths)
    return Unreadable(names, names, f"{len(paths)} different files could be {kit}",
                      f"keep one (or rename the one to grade {kit}) and grade again, or mark the points here", "",
                      digest.hexdigest(), kind="ambiguous")


# The framework's base class and one of its first modules, defined at a cell's left margin: a notebook that holds them
# holds the modules (pasted into the main notebook, or handed in under a name that fits no notebook of the homework).
FRAMEWORK_CLASS = re.compile(r"^class[ \t]+(?P<name>Module|Sequential|Linear)\b", re.MULTILINE)
ELSEWHERE_FILES = 10            # notebooks of a submission looked at for the framework, at most
ELSEWHERE_BYTES = 10 * 2 ** 20  # and each at most this big (the intake bounds the whole submission too)
FILES_LOOKED_AT = 20000         # files of the copy looked at for an archive it cannot open (the intake's MAX_FILES)


def _framework_elsewhere(prepared, workdir):
    """The Unreadable (kind "elsewhere") that stands for a modules notebook not handed in when another notebook of the
    submission defines the framework (``class Module`` and ``class Linear`` or ``Sequential``), else None: those
    classes are the student's work, which the grader cannot grade where they are (the main notebook trains with
    them, another file may hold anything), so a TA judges them; never the 0 of a notebook not handed in."""
    candidates = [(name, workdir / name) for name in prepared.notebooks]
    others = sorted(p for p in workdir.rglob("*.ipynb") if p.name not in NOTEBOOKS and p.is_file()
                    and not p.is_symlink() and not set(p.relative_to(workdir).parts) & set(NOT_COPIED))
    candidates += [(shown(str(p.relative_to(workdir))), p) for p in others[:ELSEWHERE_FILES]]
    for name, path in candidates:
        try:
            if path.stat().st_size > ELSEWHERE_BYTES:
                continue
            nb = prepared.notebooks.get(name) or read_lenient(path)[0]
        except (OSError, NotebookError):
            continue
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        classes = {found.group("name") for found in FRAMEWORK_CLASS.finditer(code)}
        if "Module" in classes and classes & {"Linear", "Sequential"}:
            digest = hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()
            return Unreadable(name, shown(path.name), f"no {MODULES} was handed in, but {name} defines the framework's "
                              f"classes ({', '.join(sorted(classes))})",
                              f"grade those classes by hand, or ask the student to hand them in as {MODULES} and "
                              "grade again", "", digest, kind="elsewhere")
    return None


EXPORTS = (".py", ".html", ".htm", ".pdf")   # what Jupyter, Colab and VS Code export a notebook as


def _export_of(kit, workdir):
    """The Unreadable that stands for `kit`, not handed in, when an export of it was (HW3_Modules.py, .html, .pdf:
    File > Download as, or printed): the student's work, which the grader cannot run, so a TA's (never the 0 of a
    notebook not handed in); else None. The start of its text is shown on the review page (a .py holds the code)."""
    exports = sorted(p for p in workdir.rglob("*") if p.suffix.lower() in EXPORTS and p.is_file() and not p.is_symlink()
                     and not set(p.relative_to(workdir).parts) & set(NOT_COPIED)
                     and (match_tier(p.stem + ".ipynb") or (None,))[0] == kit)
    if not exports:
        return None
    path = exports[0]
    shown_path = shown(str(path.relative_to(workdir)))
    digest = _digest([path]).hexdigest()
    return Unreadable(shown_path, shown(path.name), f"an export ({path.suffix.lower()}) of the notebook, which the grader "
                      "cannot run", f"ask the student for the notebook itself "
                      f"({kit}, the .ipynb file Jupyter saves) and grade again, or mark the points here",
                      excerpt(path), digest)


def _in_sealed_archive(kit, workdir):
    """The Unreadable that stands for `kit`, not handed in, when the submission holds an archive the grader cannot open
    (its work may well be in it: a TA's, never the 0 of a notebook not handed in); else None."""
    for path in sorted(workdir.rglob("*"))[:FILES_LOOKED_AT]:
        what = path.is_file() and not path.is_symlink() and not set(path.relative_to(workdir).parts) & set(NOT_COPIED) \
            and sealed(path)
        if what:
            name = shown(str(path.relative_to(workdir)))
            return Unreadable(name, shown(path.name), f"{kit} not found; the submission holds {name}, {what} the "
                              "grader cannot open, which may hold it", "open it and grade by hand, or ask the student "
                              "for the notebooks themselves (or a plain .zip of them) and grade again", "",
                              f"sealed:{name}:{path.stat().st_size}", kind="sealed")
    return None


def _ignore(root):
    """copytree's ignore: the kit's folders and build products anywhere, symlinks, anything that is neither a file
    nor a folder (a FIFO: copying it would wait forever), the kit's notebook names at the top (the chosen files
    are copied there under those names)."""
    root = Path(root)

    def ignore(folder, names):
        here = Path(folder)
        return {n for n in names if n in NOT_COPIED or not _plain_entry(here / n)
                or (here == root and n in NOTEBOOKS)}
    return ignore


def _plain_entry(path):
    """A regular file or a folder, not a link (lstat: never follows)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def as_submission(path, staging):
    """The Submission of a single path (a folder or a zip of one); a platform download holds many: an error."""
    found = discover([path], staging=staging)
    if len(found) == 1:
        return found[0]
    return Submission(key=shown(Path(path).name), label=shown(path), problems=[
        f"{shown(path)}: holds {len(found)} students' submissions (a course platform's download); "
        "grade it with python -m grader, which grades each of them"])


def prepare(submission, workdir):
    """Copies `submission` (a Submission or a path) into `workdir` with the kit's grader/ and data/; reads its notebooks."""
    workdir = Path(workdir)
    if not isinstance(submission, Submission):
        submission = as_submission(submission, workdir.parent / "intake")
    prepared = Prepared(workdir, submission=submission)
    prepared.errors += submission.problems
    prepared.notes += submission.notes
    workdir.mkdir(parents=True, exist_ok=True)
    if submission.folder and Path(submission.folder).is_dir():
        shutil.copytree(submission.folder, workdir, symlinks=True, ignore=_ignore(submission.folder), dirs_exist_ok=True)
    for name, source in getattr(submission, "extras", {}).items():   # a platform's loose files: a helper module
        if name not in NOTEBOOKS + NOT_COPIED + ("", ".", "..") and Path(name).name == name \
                and not (workdir / name).exists() \
                and _plain_entry(Path(source)):
            shutil.copyfile(source, workdir / name)
    for kit, source in submission.files.items():
        shutil.copyfile(source, workdir / kit)
    for folder in KIT_FOLDERS:
        target = workdir / folder
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        shutil.copytree(KIT_ROOT / folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in NOTEBOOKS:
        nb_path = workdir / name
        if name not in submission.files:
            if name in getattr(submission, "ambiguous", {}):   # handed in twice over: a TA's (parts/unreadable.py)
                prepared.unreadable[name] = _ambiguous(name, submission.ambiguous[name])
            else:
                prepared.missing.append(name)
            continue
        source = submission.files[name]
        try:
            nb, repairs = read_lenient(nb_path)
        except UnreadableNotebook as exc:   # handed in but not readable: a TA's to judge, never a 0 (its line in
            prepared.unreadable[name] = _unreadable(nb_path, source, exc)   # the errors: grader/parts/unreadable.py)
            continue
        except NotebookError as exc:
            prepared.errors.append(str(exc).replace(str(nb_path), shown(source)))
            continue
        if repairs:
            nbformat.write(nb, str(nb_path))   # the main notebook's %run reads the repaired file
            prepared.notes.append(f"{name} was repaired to open as Jupyter opens it: " + "; ".join(repairs[:5])
                                  + (f"; and {len(repairs) - 5} more" if len(repairs) > 5 else ""))
        prepared.notebooks[name] = nb
    for name in list(prepared.missing):   # an export, or an archive the grader cannot open: a TA's, not a 0
        export = _export_of(name, workdir) or _in_sealed_archive(name, workdir)
        if export is not None:
            prepared.missing.remove(name)
            prepared.unreadable[name] = export
    if MODULES in prepared.missing:   # the framework in another notebook: a TA's (parts/unreadable.py), not a 0
        elsewhere = _framework_elsewhere(prepared, workdir)
        if elsewhere is not None:
            prepared.missing.remove(MODULES)
            prepared.unreadable[MODULES] = elsewhere
    if not prepared.notebooks and not prepared.errors and not prepared.unreadable:
        prepared.errors.append(f"{submission.label}: none of {', '.join(NOTEBOOKS)} found")
    _owner_writable(workdir)
    from grader.execution.sandbox import hand_over
    hand_over(workdir)   # as root: the sandbox's kernel runs as the owner of the copy, whoever starts it
    return prepared


def _owner_writable(folder):
    """The private copy is its owner's to write (a notebook writes build/), even when the submission's own files
    were read-only (a folder on a read-only share keeps its modes through copytree)."""
    for root, dirs, files in os.walk(folder):
        for name, bits in [(root, 0o700)] + [(os.path.join(root, n), 0o600) for n in files]:
            if not os.path.islink(name):
                os.chmod(name, os.stat(name).st_mode | bits)


def code_cells(nb):
    """(index, cell) of every code cell of a notebook."""
    return [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


# Packages a kernel imports as it starts (besides the standard library's modules)
KERNEL_PACKAGES = frozenset({"IPython", "ipykernel", "jupyter_client", "jupyter_core", "traitlets", "zmq", "tornado",
                             "comm", "debugpy", "psutil", "nest_asyncio", "matplotlib_inline", "numpy"})


def shadowing(folder):
    """Names of `folder`'s files and folders named like a module a kernel imports as it starts (a student's
    logging.py or random.py beside the notebooks): the kernel, run in the folder, imports them instead and dies
    before it answers (on the student's machine too)."""
    names = set(sys.stdlib_module_names) | KERNEL_PACKAGES
    try:
        found = [p.name for p in Path(folder).iterdir()
                 if p.suffix == ".py" and p.stem in names or p.is_dir() and p.name in names]
    except OSError:
        return []
    return sorted(found)


def first_line(source, width=60):
    lines = [line.strip() for line in source.strip().splitlines() if line.strip()]
    return (lines[0][:width] + ("..." if len(lines[0]) > width else "")) if lines else "(empty)"
