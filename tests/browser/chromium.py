"""Debian's Chromium and the Playwright driver for it, installed on first use.

The browser comes from the distribution (``apt-get install chromium``, which needs root, as CI
has); Playwright's own browser download is never used (it fails on machines without internet).
The Python driver is pinned in tests/browser/requirements.txt and pip-installed into the running
interpreter's environment (the kit's .venv) when it is missing.

Anything that cannot be installed raises ``Unavailable`` with the reason and the command to run
by hand; the test turns that into a skip.
"""
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
REQUIREMENTS = Path(__file__).with_name("requirements.txt")

# Headless, and off the network: without the last five flags Chromium keeps trying to reach
# Google's services (updates, sync, field trials), which a closed network refuses many times over.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",  # as root (CI) the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_TIMEOUT = 600  # seconds for apt-get or pip; a hung mirror becomes a skip, not a hang


class Unavailable(RuntimeError):
    """The browser or its driver is not here and could not be installed."""


def _run(command, what):
    """Runs an install command; raises Unavailable with its last output lines when it fails."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{what}: `{' '.join(command)}` failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise Unavailable(f"{what}: `{' '.join(command)}` exited {done.returncode}:\n{tail}")


def ensure_chromium():
    """Path of Debian's Chromium, apt-installing it (as root) when it is missing."""
    if CHROMIUM.is_file():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{CHROMIUM} is missing and this machine has no apt-get to install it")
    if os.geteuid() != 0:
        raise Unavailable(f"{CHROMIUM} is missing; install it as root: "
                          "apt-get update && apt-get install chromium")
    _run(["apt-get", "update", "-q"], "installing Chromium")
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
         "installing Chromium")
    if not CHROMIUM.is_file():
        raise Unavailable(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM


def ensure_playwright():
    """The ``playwright.sync_api`` module, pip-installing the pinned driver when it is missing."""
    try:
        return importlib.import_module("playwright.sync_api")
    except ImportError:
        pass
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "-r", str(REQUIREMENTS)], "installing the Playwright driver")
    importlib.invalidate_caches()
    try:
        return importlib.import_module("playwright.sync_api")
    except ImportError as exc:
        raise Unavailable(f"pip installed {REQUIREMENTS} but playwright does not import: {exc}") \
            from exc
