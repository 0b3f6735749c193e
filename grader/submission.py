"""A submission on disk: a folder (or a .zip of one) holding the homework's notebooks.

``prepare(path, workdir)`` copies it into ``workdir`` next to the kit's ``grader/`` and ``data/`` (the
submission's own copies of those, if any, are replaced: the student cannot bring their own grader),
and reports which notebooks were found and which could not be read.
"""
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import KIT
from grader.notebook import NotebookError, read_notebook

NOTEBOOKS = ("HW3_Modules.ipynb", "HW3_differentiation.ipynb", "HW3_main.ipynb")
KIT_FOLDERS = ("grader", "data")
NOT_COPIED = KIT_FOLDERS + ("build", ".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", "node_modules", "tests",
                            "bench", ".pytest_cache")
MAX_UNZIPPED = 512 * 2 ** 20


@dataclass
class Prepared:
    workdir: Path
    notebooks: dict = field(default_factory=dict)   # name -> NotebookNode (valid ones only)
    errors: list = field(default_factory=list)      # what could not be read, in words
    missing: list = field(default_factory=list)


def _unzip(archive, dest):
    """Extracts a zip safely (no absolute paths, no '..', bounded size) and returns the folder holding the notebooks."""
    with zipfile.ZipFile(archive) as zf:
        total = 0
        for info in zf.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"unsafe path in the archive: {info.filename}")
            total += info.file_size
            if total > MAX_UNZIPPED:
                raise ValueError(f"the archive unpacks to more than {MAX_UNZIPPED // 2 ** 20} MiB")
        zf.extractall(dest)
    return _notebook_folder(Path(dest))


def _notebook_folder(root):
    """The shallowest folder under root that holds one of the notebooks (root itself if none does)."""
    found = sorted((p for name in NOTEBOOKS for p in root.rglob(name) if "__MACOSX" not in p.parts),
                   key=lambda p: len(p.parts))
    return found[0].parent if found else root


def prepare(path, workdir):
    """Copies the submission at `path` into `workdir` with the kit's grader/ and data/; reads its notebooks."""
    path = Path(path)
    workdir = Path(workdir)
    prepared = Prepared(workdir)
    if not path.exists():
        prepared.errors.append(f"{path}: no such file or folder")
        return prepared
    if path.is_file():
        if path.suffix.lower() != ".zip":
            prepared.errors.append(f"{path}: not a folder or a .zip of one (a submission is a folder holding "
                                   f"{', '.join(NOTEBOOKS)})")
            return prepared
        try:
            source = _unzip(path, workdir.parent / "unzipped")
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            prepared.errors.append(f"{path}: cannot unpack the archive ({type(exc).__name__}: {exc})")
            return prepared
    else:
        source = _notebook_folder(path)
    shutil.copytree(source, workdir, symlinks=False, ignore=shutil.ignore_patterns(*NOT_COPIED),
                    dirs_exist_ok=True)
    for folder in KIT_FOLDERS:
        target = workdir / folder
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        shutil.copytree(KIT / folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in NOTEBOOKS:
        nb_path = workdir / name
        if not nb_path.exists():
            prepared.missing.append(name)
            continue
        try:
            prepared.notebooks[name] = read_notebook(nb_path)
        except NotebookError as exc:
            prepared.errors.append(str(exc).replace(str(workdir), str(path)))
    if not prepared.notebooks and not prepared.errors:
        prepared.errors.append(f"{path}: none of {', '.join(NOTEBOOKS)} found")
    return prepared


def code_cells(nb):
    """(index, cell) of every code cell of a notebook."""
    return [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def first_line(source, width=60):
    lines = [line.strip() for line in source.strip().splitlines() if line.strip()]
    return (lines[0][:width] + ("..." if len(lines[0]) > width else "")) if lines else "(empty)"


def new_notebook_like(nb):
    return nbformat.v4.new_notebook(metadata=nb.metadata)
