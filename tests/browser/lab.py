"""A JupyterLab server for one test session, in a throw-away copy of the kit.

The server runs from the kit's own environment (the interpreter running the tests, i.e. .venv),
on a free loopback port with a random token, with the fast mode switched on (HW3_FAST=1), and with
private Jupyter/IPython config, data, runtime, settings and workspace directories, so nothing of
this machine's Jupyter set-up (or of a student's) leaks in. The copy holds what a student's
checkout holds: the notebooks, data/ and grader/ (not .venv, build/ or .git).
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

KIT_ITEMS = ("data", "grader")  # directories copied beside the notebooks
START_TIMEOUT = 120  # seconds for the server to answer /api/status
STOP_TIMEOUT = 20  # seconds for a clean /api/shutdown before the process group is killed

# Settings a student would click away once: no news or update-check toasts over the screenshots
# (and no requests to the internet for them).
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_kit(repo, dest):
    """Copies the notebooks, data/ and grader/ of `repo` into `dest`; returns `dest`."""
    dest.mkdir(parents=True)
    for notebook in sorted(repo.glob("*.ipynb")):
        shutil.copy2(notebook, dest / notebook.name)
    for item in KIT_ITEMS:
        shutil.copytree(repo / item, dest / item,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    return dest


class JupyterLab:
    """``with JupyterLab(repo, workdir, log_path) as lab:`` serves a copy of `repo` at lab.url."""

    def __init__(self, repo, workdir, log_path):
        self.repo = Path(repo)
        self.workdir = Path(workdir)
        self.kit = self.workdir / "kit"
        self.log_path = Path(log_path)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self._log = None

    # -- life cycle -------------------------------------------------------------------------------

    def __enter__(self):
        copy_kit(self.repo, self.kit)
        env = self._environment()
        for name, values in USER_SETTINGS.items():
            path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",  # the port we picked, or a clear failure
            f"--ServerApp.root_dir={self.kit}",
            f"--IdentityProvider.token={self.token}",
            "--allow-root",  # CI runs as root
            "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        # A session of its own, so that stop() can end the server and its kernels together.
        self.process = subprocess.Popen(command, cwd=self.kit, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _environment(self):
        private = self.workdir / "jupyter"
        # As a student starts it: none of this machine's Jupyter variables, nor the kit's own
        # switches (HW3_PROGRESS=text would hide the progress bars), only the fast mode.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_", "IPYTHON", "HW3_")) and k != "PYTHONPATH"}
        env.update(
            HW3_FAST="1",
            JUPYTER_CONFIG_DIR=str(private / "config"),
            JUPYTER_DATA_DIR=str(private / "data"),
            JUPYTER_RUNTIME_DIR=str(private / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(private / "lab-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(private / "lab-workspaces"),
            JUPYTER_PREFER_ENV_PATH="1",  # the venv's kernelspec before any system-wide one
            IPYTHONDIR=str(private / "ipython"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _wait_until_up(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.process.returncode} before "
                                   f"answering; its log:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer on {self.url} within {START_TIMEOUT} s; "
                           f"its log:\n{self.log_tail()}")

    def stop(self):
        """Shuts the server (and its kernels) down: politely, then by killing its process group."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                try:
                    self.api("shutdown", method="POST")
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                    pass
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
            # Kernels live in the server's process group; end whatever of it is left.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait(STOP_TIMEOUT)
        finally:
            self.process = None
            if self._log is not None:
                self._log.close()
                self._log = None

    # -- helpers ----------------------------------------------------------------------------------

    def api(self, path, method="GET"):
        """JSON answer of the server's REST API at /api/<path> (authenticated with the token)."""
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, notebook, workspace):
        """The address a student opens: `notebook` in a workspace of its own (no restored tabs)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
