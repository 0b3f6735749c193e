"""What of a main notebook belongs to the machine the student ran it on, not to the homework.

A main notebook exported from Google Colab (or run from another folder) says where its modules notebook lived there:
``%run /content/drive/MyDrive/hw3/HW3_Modules.ipynb``, ``%run "../HW3 Modules.ipynb"``. The grader has that notebook:
it is the one handed in beside it, graded as ``HW3_Modules.ipynb`` in the private copy. Run as written, the path is
not found, nothing of the framework is defined and every cell after it fails: 0/10 for a notebook that ran. So:

* ``run_modules_here(source, folder)``: every ``%run PATH`` line whose file name is a modules notebook's (matched as
  the intake matches names: case, spaces, ``(1)``, ``-Copy1``, a course prefix, ``homework_modules``) and whose PATH
  is not a file of the copy as written (an absolute path, a folder the copy does not have) runs the graded
  ``HW3_Modules.ipynb`` instead. Returns the new source and the paths it replaced, for the report's notes.
  So does ``from homework_modules import *`` (``from HW3_Modules import Linear, ...``, ``import HW3_Modules as hw``:
  its names under ``hw``) when the copy holds no
  ``homework_modules.py``: the student converted the notebook with nbconvert on their machine and handed in the
  notebook, which the grader has.
* ``needs_elsewhere(ename, evalue, source)``: a cell that failed for what only the student's machine had: the network
  (the grader has none: ``fetch_openml('mnist_784')``, ``urlretrieve``), a data file outside the submission
  (``np.load('../data/mnist.npz')``, a Drive path), or MNIST loaded with a package the grader lacks
  (``keras.datasets.mnist``, ``torchvision.datasets.MNIST``, the course's ``import mnist``). The grader cannot run such
  a notebook as written, so the rubric rows it then fails await a TA's review (who reads its saved outputs), never a 0
  (grader/parts/main_notebook.py). So does a notebook that runs past the grader's time limit (training for hours,
  the fast mode ignored): it ran on the student's machine, not within the grader's budget.
* ``colab_only(source, ename, evalue, unbound)``: a cell whose failure is Colab's own module missing (``from
  google.colab import drive``: only Colab has it) or a use of a name such an import bound (``drive.mount(...)`` in
  the next cell: a NameError, or the stand-in's error when the import cell was run again without it,
  grader/parts/missing_imports.py). Such a cell mounts a drive or uploads files on Colab; the grader has the files already, so its failure is
  the grader's environment, not the student's: it is noted, never counted against running to the end.
"""
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from grader import MODULES
from grader.intake.discover import match_tier
from grader.parts.missing_imports import missing_package
from grader.selfcheck.versions import INDENT

# `%run [-i ...] PATH.ipynb` on a line of its own, PATH optionally quoted (IPython's %run takes shell-like quoting).
# The path never starts with "-": an option and the path cannot take the same text, so a line of a hundred thousand
# `-a ` is read in linear time (each split between them was tried: quadratic, minutes in the grader's process).
RUN_LINE = re.compile(r"""^(?P<head>\s*%run\s+(?:-\w+\s+)*)(?P<q>["']?)(?P<path>[^"'\s-][^"'\n]*?\.ipynb)(?P=q)\s*$""",
                      re.IGNORECASE)
FROM_MODULES = re.compile(r"^(?P<head>[^\S\n]*)from[^\S\n]+(?P<module>\w+)[^\S\n]+import[^\S\n]+(?P<names>.+)$")
IMPORT_MODULES = re.compile(r"^(?P<head>[^\S\n]*)import[^\S\n]+(?P<module>\w+)(?:[^\S\n]+as[^\S\n]+(?P<alias>\w+))?"
                            r"[^\S\n]*(?:#.*)?$")
# the names the run defined, as a module's attributes (`hw.Linear`): the user namespace's public names at that point
NAMESPACE = "__import__('types').SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith('_')})"
COLAB_IMPORT = re.compile(r"^" + INDENT + r"(?:from\s+google\.colab(?:\.\w+)*\s+import\s+(?P<names>[\w\s,()]+)"
                          r"|import\s+google\.colab\b)", re.MULTILINE)
COLAB_MISSING = re.compile(r"^No module named '(google|google\.colab(\.\w+)*)'")
UNBOUND_NAME = re.compile(r"^name '(?P<name>\w+)' is not defined$")


def _is_modules_notebook(path):
    """Whether the file name of `path` (POSIX or Windows separators) names a modules notebook."""
    found = match_tier(PureWindowsPath(path.replace("/", "\\")).name)
    return found is not None and found[0] == MODULES


def _in_copy(path, folder):
    """Whether `path`, as the kernel in `folder` would read it, is a file of the copy."""
    if path.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:", path):
        return False
    try:
        target = (Path(folder) / path).resolve()
        return target.is_file() and target.is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def run_modules_here(source, folder):
    """(source, [(what was written, why it was replaced)]): `%run` lines of a modules notebook that is not where they
    say, and `from <modules notebook> import ...` or `import <modules notebook> [as m]` lines of a module the copy
    does not hold (the notebook converted with nbconvert on the student's machine), pointed at the graded
    HW3_Modules.ipynb of `folder` (the private copy the kernel runs in). An import's `name as alias` is bound after
    the run, as the import would have bound it; a module's name to the run's names."""
    replaced = []

    def here(found):
        path = found.group("path").strip()
        if not _is_modules_notebook(path) or _in_copy(path, folder):
            return found.group(0)
        replaced.append((f"%run {path}", "no such file in the submission as graded (a Colab Drive, your own folder, "
                                         "a platform's renamed download)"))
        return f"{found.group('head')}{MODULES}"

    def converted(module):
        """Whether `module` names the modules notebook converted to a module that the copy does not hold."""
        return _is_modules_notebook(f"{module}.ipynb") and not _in_copy(f"{module}.py", folder) and \
            not (Path(folder) / module).is_dir()

    def run_instead(found, bound):
        replaced.append((found.group(0).strip(), f"no {found.group('module')}.py in the submission as graded (the "
                                                 "modules notebook converted to a module, not handed in)"))
        return "\n".join([f"{found.group('head')}%run {MODULES}"] + [f"{found.group('head')}{line}" for line in bound])

    def imported(found):
        names = found.group("names").split("#")[0].strip()
        if not converted(found.group("module")) or names.count("(") != names.count(")"):
            return found.group(0)
        aliases = [part.split() for part in names.strip("()").split(",")]
        return run_instead(found, [f"{words[2]} = {words[0]}" for words in aliases
                                   if len(words) == 3 and words[1] == "as"])

    def as_module(found):   # `import HW3_Modules as hw` then `hw.Linear`: the run's names under that one name
        if not converted(found.group("module")):
            return found.group(0)
        return run_instead(found, [f"{found.group('alias') or found.group('module')} = {NAMESPACE}"])

    lines = [IMPORT_MODULES.sub(as_module, FROM_MODULES.sub(imported, RUN_LINE.sub(here, line)))
             for line in source.split("\n")]
    return "\n".join(lines), replaced


def colab_names(source):
    """The names a cell's `from google.colab import ...` / `import google.colab` would bind."""
    names = set()
    for found in COLAB_IMPORT.finditer(source):
        if found.group("names") is None:
            names.add("google")
            continue
        for part in found.group("names").replace("(", " ").replace(")", " ").split(","):
            words = part.split()
            if words:
                names.add(words[-1])   # `drive` or the `x` of `drive as x`
    return names


def colab_only(source, ename, evalue, unbound):
    """Whether a cell failed only because the grader is not Colab: Colab's module is missing, or the cell uses a name
    in `unbound` (the names of Colab imports that failed before) and fails on it."""
    evalue = evalue.strip()
    if ename == "ModuleNotFoundError" and COLAB_MISSING.match(evalue) and (
            colab_names(source) or unbound or "where the notebook is graded" in evalue):
        return True   # the import itself, or a use of a name it bound (a stand-in: grader/parts/missing_imports.py)
    found = UNBOUND_NAME.match(evalue) if ename == "NameError" else None
    return bool(found) and found.group("name") in unbound


# How a download fails without a network: urllib, requests/urllib3, socket, keras' get_file, torchvision.
NETWORK_ERRORS = {"URLError", "gaierror", "ConnectionError", "ConnectTimeout", "ConnectTimeoutError", "MaxRetryError",
                  "NewConnectionError", "ConnectionRefusedError", "ConnectionResetError", "RemoteDisconnected"}
NETWORK_TEXT = re.compile(r"name resolution|Name or service not known|nodename nor servname|Network is unreachable|"
                          r"Failed to establish a new connection|No address associated with hostname|"
                          r"URL fetch failure|Error downloading|urlopen error", re.IGNORECASE)
# Packages that fetch MNIST from the web, which the grader has neither of: Keras' and TensorFlow's datasets,
# torchvision's, the course's own mnist.py (yandexdataschool/Practical_DL homework01/mnist.py, not handed in) or PyPI's
# `mnist`. A cell that loads MNIST with one of them fails here for the grader's want, not the student's.
DATASET_PACKAGES = frozenset({"tensorflow", "keras", "torchvision", "tensorflow_datasets", "mnist"})
MNIST = re.compile(r"mnist", re.IGNORECASE)
NO_FILE = re.compile(r"No such file or directory: '(?P<path>[^']+)'")
DATA_FILE = re.compile(r"\.(npz|npy|gz|csv|pkl|pickle|h5|hdf5|mat|zip|tar)$|-ubyte$", re.IGNORECASE)


def needs_elsewhere(ename, evalue, source=""):
    """Why a failed cell (its `source`) needed the student's machine ("downloads data, and the grader has no network",
    "reads ../data/mnist.npz, a data file outside the submission", "loads MNIST with torchvision, which the grader does
    not have"), or None when it failed on its own account."""
    if ename in NETWORK_ERRORS or NETWORK_TEXT.search(evalue or ""):
        return "needs the network (the grader has none)"
    package = missing_package(ename, evalue or "")
    if package in DATASET_PACKAGES and MNIST.search(source or ""):
        return (f"loads MNIST with {package}, which the grader does not have (it would download MNIST, and the grader "
                "has no network either)")
    found = NO_FILE.search(evalue or "") if ename in ("FileNotFoundError", "OSError", "IOError") else None
    if found:
        path = found.group("path")
        outside = path.startswith(("/", "~", "\\")) or re.match(r"^[A-Za-z]:", path) or ".." in re.split(r"[\\/]", path)
        if outside or DATA_FILE.search(PurePosixPath(path.replace("\\", "/")).name):
            return f"reads {path}, a data file the submission does not hold"
    return None
