"""A submission's own Jupyter kernel, driven cell by cell through nbclient.

    with KernelSession(workdir, timeout=60) as kernel:
        result = kernel.run("x = 1")          # CellResult(status="ok", ...)

Every cell has a timeout; a cell that times out is interrupted, and if the kernel does not come back
it is restarted. A kernel that dies (segfault, ``os._exit``, the memory limit's killer) is restarted
too. After a restart the cells that succeeded before are replayed (``keep=True``), so what they
defined exists again; the cell that hung or killed the kernel is not.

The kernel is the sandbox's (``kernel_name="hw3-sandbox"``, see :mod:`grader.sandbox`) unless told
otherwise: its limits (address space, processes, CPU time, file size) are set by the sandbox's launcher
before it starts, from the ``HW3_SANDBOX_*`` variables of the environment given here (a notebook that
allocates without bound gets a MemoryError instead of taking the machine down).
"""
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader import sandbox
from grader.selfcheck import MIME

logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # nbclient's abandoned pollers after a timeout
logging.getLogger("traitlets").setLevel(logging.CRITICAL)

MEMORY_LIMIT = 6 * 2 ** 30   # bytes of address space for a submission's kernel
TIMEOUT_REPLY = {"ename": "CellTimeoutError", "evalue": "the cell timed out and was interrupted", "traceback": []}
PING_TIMEOUT = 5             # seconds an interrupted kernel has to answer before it is restarted
OUTPUT_CAP = 16 * 2 ** 20    # bytes of one cell's captured outputs kept in the grader's memory
CUT = "\n[output cut: a cell's output beyond {} MiB is not kept]\n"


class CappedClient(NotebookClient):
    """nbclient's client keeping at most OUTPUT_CAP bytes of each cell's outputs (a print loop must not
    grow the grader's memory); the grader's own probe values (its MIME type) are always kept."""

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if MIME in (content.get("data") or {}):
            return super().output(outs, msg, display_id, cell_index)
        kept = getattr(self, "_kept", None)
        if kept is None or kept[0] != cell_index:
            kept = self._kept = [cell_index, 0]          # [cell, bytes kept so far]
        left = OUTPUT_CAP - kept[1]
        size = len(json.dumps(content, default=str))
        if size <= left:
            kept[1] += size
            return super().output(outs, msg, display_id, cell_index)
        out = None
        if left > 0 and msg.get("msg_type") == "stream":   # one long burst: its beginning is kept
            out = super().output(outs, dict(msg, content=dict(content, text=content.get("text", "")[:left])),
                                 display_id, cell_index)
        if left > 0:
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=CUT.format(OUTPUT_CAP // 2 ** 20)))
        kept[1] = OUTPUT_CAP
        return out


@dataclass
class CellResult:
    status: str                          # "ok", "error", "timeout" or "dead"
    outputs: list = field(default_factory=list)
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0

    @property
    def ok(self):
        return self.status == "ok"

    def describe(self):
        if self.status == "timeout":
            return "timed out"
        if self.status == "dead":
            return "the kernel died (crash or memory limit)"
        if self.status == "error":
            first = self.evalue.strip().splitlines()[0][:300] if self.evalue.strip() else ""
            return f"{self.ename}: {first}" if first else self.ename
        return "ok"


def kernel_env(extra=None, threads=1):
    """The kernel's environment: an allow-list of ours (no secrets), fixed threads and the kit's flags.
    (The sandbox's launcher filters it once more, and sets PATH and HOME of its own.)"""
    env = {k: v for k, v in os.environ.items() if k in sandbox.ALLOWED_ENV + ("PATH", "HOME")}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["MPLBACKEND"] = "Agg"
    env.update(extra or {})
    return env


class KernelSession:
    """One kernel in `cwd`; run() executes code and never raises for what the code does."""

    def __init__(self, cwd, timeout=60, env=None, memory_limit=MEMORY_LIMIT, kernel_name=sandbox.KERNEL_NAME):
        self.cwd = str(cwd)
        self.timeout = timeout
        self.kernel_name = kernel_name
        # Read by the sandbox's launcher (outside the kernel), never passed into it.
        self.env = dict(env or kernel_env(), HW3_SANDBOX_MEMORY=str(int(memory_limit)))
        self.replay = []        # sources that succeeded with keep=True, re-run after a restart
        self._sockets = None    # the sandboxed kernel's ipc folder
        self.restarts = 0
        self.client = None

    # -- lifecycle

    def start(self, attempts=3):
        """Starts the kernel; a start that fails (a busy machine: no kernel_info in time) is retried."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start()
            except Exception:
                self.close()
                if attempt == attempts:
                    raise
                time.sleep(2 * attempt)

    def _start(self):
        nb = nbformat.v4.new_notebook()
        # On a timeout nbclient interrupts the kernel and hands back TIMEOUT_REPLY as the cell's reply.
        self.client = CappedClient(nb, timeout=self.timeout, kernel_name=self.kernel_name, allow_errors=True,
                                     interrupt_on_timeout=True, error_on_timeout=dict(TIMEOUT_REPLY), iopub_timeout=4,
                                     resources={"metadata": {"path": self.cwd}}, on_cell_executed=self._on_executed)
        self.client.km = self.client.create_kernel_manager()
        if self.kernel_name == sandbox.KERNEL_NAME:
            sandbox.hand_over(self.cwd)   # as root: the kernel runs as the owner of its private copy
            # ipc sockets the sandbox shares with us: no TCP port, no relay in between
            self._sockets = tempfile.mkdtemp(prefix="hw3-ipc-")
            self.client.km.transport = "ipc"
            self.client.km.ip = os.path.join(self._sockets, "kernel")
        # The kernel's own stderr (its start-up warnings) would clutter the grader's terminal.
        self.client.start_new_kernel(cwd=self.cwd, env=self.env, stderr=subprocess.DEVNULL)
        self.client.kc = self.client.start_new_kernel_client()
        for source in self.replay:
            self._execute(source, timeout=self.timeout)

    def close(self):
        if self.client is not None and self.client.km is not None:
            try:
                self.client._cleanup_kernel()
            except Exception:
                pass
        self.client = None
        if self._sockets:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    def restart(self):
        self.restarts += 1
        self.close()
        self.start()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- running code

    def _execute(self, source, timeout):
        cell = nbformat.v4.new_code_cell(source)
        nb = self.client.nb
        nb.cells.append(cell)
        index = len(nb.cells) - 1
        self.client.timeout = timeout
        start = time.perf_counter()
        self._reply = None
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return CellResult("timeout", list(cell.get("outputs", [])), seconds=time.perf_counter() - start)
        except DeadKernelError:
            return CellResult("dead", list(cell.get("outputs", [])), seconds=time.perf_counter() - start)
        finally:
            nb.cells[index] = nbformat.v4.new_code_cell("")   # keep the client's notebook small
        seconds = time.perf_counter() - start
        content = (self._reply or {}).get("content", {})
        if content.get("ename") == TIMEOUT_REPLY["ename"]:
            return CellResult("timeout", list(cell.outputs), seconds=seconds)
        for output in cell.outputs:
            if output.get("output_type") == "error":
                return CellResult("error", list(cell.outputs), output.get("ename", ""), output.get("evalue", ""), seconds)
        return CellResult("ok", list(cell.outputs), seconds=seconds)

    def _on_executed(self, cell, cell_index, execute_reply):
        self._reply = execute_reply

    def _recover(self, result):
        """After a timeout (nbclient has interrupted the kernel): ping; restart if the kernel is gone or stuck."""
        if result.status == "timeout":
            try:
                ping = self._execute("pass", timeout=PING_TIMEOUT)
                if ping.ok:
                    return
            except Exception:
                pass
        self.restart()

    def run(self, source, timeout=None, keep=False):
        """Executes `source`; keep=True replays it after a restart unless it hung or killed the kernel."""
        if self.client is None:
            self.start()
        result = self._execute(source, timeout or self.timeout)
        if result.status in ("timeout", "dead"):
            self._recover(result)
        elif keep:
            self.replay.append(source)   # an error part-way still defined what came before it
        return result
