"""The set-up: the kit as an installed package of its .venv, and the locks `make setup` installs from.

* `import grader` works from any folder in any process of the kit's .venv, with no PYTHONPATH (pyproject.toml,
  installed editable by `make setup`), and it is the kit's own folder that is imported; `hw3-grader` is
  `python -m grader`.
* requirements.lock holds every pin of requirements.txt (for Python 3.10 and 3.11, as their markers say), each
  of its packages with a hash; the browser test's and the build's locks likewise; the .venv this suite runs in
  has exactly the lock's versions. (The lock is re-resolved with `make lock`, which needs PyPI: not a test.)
"""
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

BIN = Path(sys.executable).parent
PYTHONS = ("3.10", "3.11", "3.11.5")   # 3.11.5: some of the lock's markers split there
LOCKS = {  # lock: the direct lists it is made from
    "requirements.lock": ["requirements.txt"],
    "requirements-build.lock": ["requirements-build.txt"],
    "tests/browser/requirements.lock": ["tests/browser/requirements.txt"],
}


def environment(python):
    """Marker environment of CPython `python` ("3.10", or a full version "3.11.7") on Linux, the course machines'."""
    full = python if python.count(".") == 2 else python + ".0"
    return {"python_version": ".".join(full.split(".")[:2]), "python_full_version": full, "sys_platform": "linux",
            "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
            "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def direct(path):
    """The Requirements of a direct list (comments and blank lines skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / path).read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def locked(path):
    """[(Requirement, [hashes])] of a lock written by uv pip compile (continuation lines, --hash options)."""
    text = (ROOT / path).read_text()
    text = re.sub(r"\s*#[^\n]*", "", text).replace("\\\n", " ")
    entries = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        spec, *hashes = line.split("--hash=")
        entries.append((Requirement(spec.strip()), [h.strip() for h in hashes]))
    return entries


def pins_for(entries, python):
    """{name: version} of the entries that apply on `python`."""
    env = environment(python)
    pins = {}
    for req, _ in entries:
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in pins, f"two lines of {name} apply on Python {python}"
            (spec,) = req.specifier
            pins[name] = spec.version
    return pins


def without_pythonpath():
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_import_grader_works_from_any_folder_without_pythonpath(tmp_path):
    run = subprocess.run([str(BIN / "python"), "-c", "import grader, grader.selfcheck; print(grader.KIT_ROOT)"],
                         cwd=tmp_path, env=without_pythonpath(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == ROOT   # the kit's own folder (editable), not a copy in site-packages


def test_a_checkout_run_from_its_own_folder_imports_its_own_grader(tmp_path):
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "__init__.py").write_text("WHO = 'the other checkout'\n")
    run = subprocess.run([str(BIN / "python"), "-c", "import grader; print(grader.WHO)"], cwd=tmp_path,
                         env=without_pythonpath(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "the other checkout", run.stderr


def test_hw3_grader_is_python_m_grader(tmp_path):
    command = subprocess.run([str(BIN / "hw3-grader"), "--help"], cwd=tmp_path, env=without_pythonpath(),
                             capture_output=True, text=True, timeout=120)
    module = subprocess.run([str(BIN / "python"), "-m", "grader", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert command.returncode == 0 == module.returncode, command.stderr
    assert command.stdout == module.stdout and "SUBMISSION" in command.stdout


@pytest.mark.parametrize("lock", list(LOCKS))
def test_every_locked_package_has_a_hash_and_one_version_per_python(lock):
    entries = locked(lock)
    assert entries, f"{lock} is empty"
    for req, hashes in entries:
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{lock}: {req} has no hash"
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", f"{lock}: {req} is not pinned"
    for python in PYTHONS:
        pins_for(entries, python)


@pytest.mark.parametrize("lock", list(LOCKS))
@pytest.mark.parametrize("python", PYTHONS)
def test_the_lock_holds_every_pin_of_its_direct_list(lock, python):
    pins = pins_for(locked(lock), python)
    for path in LOCKS[lock]:
        for req in direct(path):
            if req.marker is not None and not req.marker.evaluate(environment(python)):
                continue
            name = canonicalize_name(req.name)
            assert name in pins, f"{path} asks for {req} on Python {python}; {lock} lacks it: run make lock"
            assert pins[name] in req.specifier, (f"{path} pins {req}, {lock} has {pins[name]} on Python {python}: "
                                                 "run make lock")


def test_the_venv_has_exactly_the_locked_versions():
    python = platform.python_version()   # the lock's markers may split on the full version (3.11.5)
    if not python.startswith(PYTHONS):
        pytest.skip(f"the locks are for Python {', '.join(PYTHONS)}; this is {python}")
    wrong = []
    for lock in ("requirements.lock", "requirements-build.lock"):
        for name, version in pins_for(locked(lock), python).items():
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                installed = None
            if installed != version:
                wrong.append(f"{name}: {installed} installed, {version} in {lock}")
    assert not wrong, "the .venv is not the lock's (make setup installs it):\n" + "\n".join(wrong)


def test_the_kits_declared_dependencies_are_requirements_txt():
    declared = {str(Requirement(r)) for r in metadata.requires("hw3-kit")}
    assert declared == {str(r) for r in direct("requirements.txt")}
