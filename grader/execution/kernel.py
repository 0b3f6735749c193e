"""A submission's own Jupyter kernel: nbval's ``RunningKernel``, driven so that one bad cell costs one cell.

    with KernelSession(workdir, timeout=60, kernel_name="hw3-sandbox") as kernel:
        result = kernel.run("x = 1", keep=True)          # CellResult(status="ok", ...)

What the session adds to nbval's kernel (and why):

* **No wait outlasts the cell's limit.** The kernel's messages are read as they come, in short polls, until
  the cell's deadline; a kernel that dies is noticed within one poll. A cell that runs over its limit is
  interrupted; if the kernel does not answer within ``INTERRUPT_GRACE`` seconds it is restarted. When the
  execute reply has come but the final "idle" message is lost (a kernel flooding its output can drop it), the
  cell still ends ``LOST_IDLE_GRACE`` seconds later.
* **Output is capped per message and per cell, every type of it.** A message over ``MESSAGE_LIMIT`` bytes is
  refused by ZeroMQ before it is read; a cell keeps ``OUTPUT_LIMIT`` characters of its output (text, images,
  any MIME type, metadata and error text included; a message not of the protocol's shape is dropped:
  :mod:`grader.execution.iopub`) and a probe request ``PROBE_OUTPUT_LIMIT`` of the probe's type, drained as it
  comes: a flood costs neither memory nor the messages after it. What the kernel sends while the grader reads
  nothing waits in a queue of ``RECEIVE_QUEUE`` messages a channel; more are dropped.
* **Restarts restore state.** After a restart (a crash, ``os._exit``, the memory limit, a stuck interrupt) the
  cells that succeeded before are replayed (``keep=True``), so what they defined exists again; the cell that
  hung or killed the kernel is not. Restarts and replays are counted (``restarts``, ``replays``,
  ``replay_seconds``) and, like every cell, draw on the submission's :class:`grader.execution.clock.Clock`: once it is
  spent, ``run()`` answers ``"budget"`` without running anything.
* **numpy's removed names are given back** (``np.float``, ``np.asfarray``, ``np.NaN``...: the submission's numpy
  had them; :mod:`grader.execution.numpy_names`).
* **``quit()`` / ``exit()`` do not end the kernel.** In a notebook they ask the kernel to exit after the cell;
  the grader's kernel answers with a note instead (status ``"exit"``: the cell is reported, never replayed).
  ``sys.exit()`` is an error of its cell (IPython keeps the kernel), ``input()`` fails at once (no stdin).
* **Front-end magics fall back**: ``%matplotlib widget`` / ``notebook`` / ``qt`` / ``tk`` ... become
  ``%matplotlib inline`` with a printed note (there is no front-end to draw into).
* The kernel is the sandbox's (``kernel_name="hw3-sandbox"``, see :mod:`grader.execution.sandbox`) unless told otherwise:
  its limits (address space, processes, CPU time, file size) are set by the sandbox's launcher before it starts,
  from the ``HW3_SANDBOX_*`` variables of the environment given here; the plain ``python3`` kernel (``--no-sandbox``)
  limits its own address space. Either way a notebook that allocates without bound gets a MemoryError instead
  of taking the machine down. numpy runs with one BLAS thread.
"""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from queue import Empty

from jupyter_client.manager import KernelManager
from nbval.kernel import NbvalKernelspecManager, RunningKernel

from grader import scratch
from grader.execution import iopub, numpy_names, sandbox
from grader.execution.cell import CellResult, Status   # how a cell ended (imported from here too)
from grader.execution.clock import Clock
from grader.execution.probe import MIME

MEMORY_LIMIT = 6 * 2 ** 30   # bytes of address space for a submission's kernel
OUTPUT_LIMIT = 200_000       # characters of output kept per cell; the rest is counted and dropped
PROBE_OUTPUT_LIMIT = 16 * 2 ** 20   # characters of probe-typed output kept per cell (an honest probe: < 1 MB)
MESSAGE_LIMIT = 64 * 2 ** 20        # bytes of one message from the kernel; a larger one is refused by ZeroMQ
RECEIVE_QUEUE = 8   # messages ZeroMQ holds per channel before the grader reads them; more are dropped (below)
INTERRUPT_GRACE = 5          # seconds an interrupted kernel has to come back before it is restarted
LOST_IDLE_GRACE = 2          # seconds to wait for output after the execute reply
POLL = 0.2                   # seconds between checks that the kernel is alive

# Backends that need a notebook front-end or a display; the grader has neither.
FRONT_END_MAGIC = re.compile(
    r"^(\s*)%matplotlib\s+(widget|ipympl|notebook|nbagg|qt\w*|tk\w*|gtk\w*|wx|osx|macosx)\b.*$")

KERNEL_SETUP = r'''
def __hw3_setup(limit, pattern):
    import re, resource, types
    if limit:   # the sandbox's launcher has set the limits before the kernel started
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    shell = get_ipython()

    def ask_exit(self):
        # quit()/exit() would end the kernel after the cell; the grader is told instead.
        self.payload_manager.write_payload({"source": "ask_exit", "keepkernel": True})

    shell.ask_exit = types.MethodType(ask_exit, shell)
    magic = re.compile(pattern)

    def front_end_fallback(lines):
        out = []
        for line in lines:
            found = magic.match(line.rstrip("\n"))
            if found:
                line = (found.group(1) + 'get_ipython().run_line_magic("matplotlib", "inline"); '
                        'print("note: %matplotlib ' + found.group(2) + ' needs a notebook front-end; '
                        'the non-interactive inline backend is used instead")\n')
            out.append(line)
        return out

    shell.input_transformers_cleanup.insert(0, front_end_fallback)
__hw3_setup(__HW3_LIMIT__, __HW3_PATTERN__)
del __hw3_setup
'''


def kernel_env(extra=None, threads=1):
    """The kernel's environment: an allow-list of ours (no secrets), fixed threads and the kit's flags.
    (The sandbox's launcher filters it once more, and sets PATH and HOME of its own.)"""
    env = {k: v for k, v in os.environ.items() if k in sandbox.ALLOWED_ENV + ("PATH", "HOME")}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["MPLBACKEND"] = "Agg"
    env.pop("JPY_SESSION_NAME", None)   # the kit's notebooks draw widgets only for a front-end
    env.update(extra or {})
    return env


class Kernel(RunningKernel):
    """nbval's RunningKernel, started with the grader's environment and its stderr silenced; with `sockets` (a
    folder) on ipc sockets there, which the sandbox shares with the kernel (no TCP relay, no extra hop). Its
    channels refuse a message over MESSAGE_LIMIT bytes (ZeroMQ's ZMQ_MAXMSGSIZE: the peer's connection is dropped
    and made again, the message lost) and queue at most RECEIVE_QUEUE unread messages (ZMQ_RCVHWM), so neither one
    output nor a flood sent while the grader reads nothing can fill the grader's memory."""

    def __init__(self, kernel_name, cwd, env, startup_timeout=60, sockets=None):
        import zmq
        # nbval's start_new_kernel, with the transport set before the kernel starts and a context of our own
        self.km = KernelManager(kernel_name=kernel_name, kernel_spec_manager=NbvalKernelspecManager())
        if sockets is not None:
            self.km.transport, self.km.ip = "ipc", os.path.join(sockets, "kernel")
        self.km.start_kernel(stderr=subprocess.DEVNULL, cwd=cwd, env=env)
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_LIMIT)   # every socket made from it
        # What arrives while the grader reads nothing (between cells, while it judges) waits in ZeroMQ's queue, 1,000
        # messages by default: a thread of the notebook sending 20 MB outputs after its cell had ended held 2 GB
        # of the grader's memory, 1,000 of 64 MB would have been 64 GB. Queued: at most RECEIVE_QUEUE of them.
        self.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self.kc = self.km.client(context=self.context)
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=startup_timeout)
        except RuntimeError:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
            self.context.destroy(linger=0)
            raise
        self._ensure_iopub_up()

    def stop(self):
        try:
            super().stop()
        finally:
            self.context.destroy(linger=0)

    def reconnect_iopub(self):
        """A new output channel: ZeroMQ ends a connection for good after a message over MESSAGE_LIMIT (a protocol
        error is never reconnected), and every later output would be lost."""
        self.kc.iopub_channel.close()
        self.kc._iopub_channel = None
        self.kc.iopub_channel.start()
        self._ensure_iopub_up()


class _Sink:
    """The outputs of one cell, capped at `limit` characters (sizes measured by grader/execution/iopub.py). A probe
    request's output of the probe's type has a cap of its own (`probe_limit`, far above an honest probe's values): an
    output of that type published in a loop is dropped past it too. In a notebook's own cell (`probe_limit` 0) that
    type is output like any other: a cap of 16 MiB per cell, kept for the cells of a long notebook, was gigabytes."""

    def __init__(self, limit, probe_limit=0):
        self.outputs, self.size, self.dropped, self.limit = [], 0, 0, limit
        self.probe_size, self.probe_limit = 0, probe_limit

    def add(self, output, size):
        if self.probe_limit and MIME in output.get("data", {}):
            if self.probe_size + size > self.probe_limit:
                self.dropped += size
                return
            self.probe_size += size
            self.outputs.append(output)
            return
        room = self.limit - self.size
        if size > room:
            if output["output_type"] != "stream" or room <= 0:
                self.dropped += size
                return
            output = dict(output, text=output["text"][:room])   # one long burst: its beginning is kept
            self.dropped += size - room
            size = room
        self.size += size
        last = self.outputs[-1] if self.outputs else None
        if output["output_type"] == "stream" and last and last["output_type"] == "stream" and last["name"] == output["name"]:
            last["text"] += output["text"]
        else:
            self.outputs.append(output)

    lost = False

    def finish(self):
        if self.lost:
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"\n[output lost: a message over the grader's limit of "
                                         f"{MESSAGE_LIMIT // 2 ** 20} MiB, or a flood]\n"})
        if self.dropped:
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"\n[{self.dropped} characters of output dropped: over the grader's limit of "
                                         f"{self.limit} per cell, or not of the Jupyter protocol's shape]\n"})
        return self.outputs


class KernelSession:
    """One kernel in `cwd`; run() executes code and never raises for what the code does."""

    def __init__(self, cwd, timeout=60, env=None, kernel_name=sandbox.KERNEL_NAME, memory_limit=MEMORY_LIMIT,
                 output_limit=OUTPUT_LIMIT, clock=None, disk_limit=sandbox.DISK_LIMIT, files_limit=sandbox.FILES_LIMIT):
        self.cwd = str(cwd)
        self.timeout = timeout
        self.kernel_name = kernel_name or sandbox.KERNEL_NAME
        # Read by the sandbox's launcher (outside the kernel), never passed into it.
        # The folder's caps: what the copy holds before its first kernel plus the kernel's allowance (restarts
        # get no fresh allowance).
        used, files = sandbox.folder_usage(self.cwd)
        self.env = dict(env or kernel_env(), HW3_SANDBOX_MEMORY=str(int(memory_limit)),
                        HW3_SANDBOX_DISK=str(used + disk_limit), HW3_SANDBOX_FILES=str(files + files_limit))
        self.over_limit = None  # why the launcher stopped the kernel (the folder's caps); then nothing more runs
        self.memory_limit = memory_limit
        self.output_limit = output_limit
        self.replay = []        # sources that succeeded with keep=True, re-run after a restart
        self.restarts = 0
        self.replays, self.replay_seconds = 0, 0.0   # cells re-run after restarts, and their time
        self.clock = clock or Clock()   # the submission's wall-clock budget (shared by its notebooks' sessions)
        self.kernel = None
        self._sockets = None    # the sandboxed kernel's ipc folder

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
        sandboxed = self.kernel_name == sandbox.KERNEL_NAME
        if sandboxed:
            sandbox.hand_over(self.cwd)   # as root: the kernel runs as the owner of its private copy
            self._sockets = scratch.socket_folder(prefix="hw3-ipc-")
        self.kernel = Kernel(self.kernel_name, self.cwd, self.env, sockets=self._sockets)
        limit = 0 if sandboxed else int(self.memory_limit)
        setup = KERNEL_SETUP.replace("__HW3_LIMIT__", str(limit)).replace(
            "__HW3_PATTERN__", repr(FRONT_END_MAGIC.pattern)) + numpy_names.SOURCE
        result = self._execute(setup, timeout=60)
        if not result.ok:
            raise RuntimeError(f"could not set up the kernel: {result.describe()}")
        for source in list(self.replay):
            if self.clock.spent():   # the submission's time is up: what is not replayed is not needed any more
                break
            again = self._execute(source, timeout=self.clock.bound(self.timeout))
            self.replays += 1
            self.replay_seconds += again.seconds
            if again.status in (Status.TIMEOUT, Status.STUCK, Status.DEAD):   # it worked before, not now: drop it
                self.replay.remove(source)
                if again.status is not Status.TIMEOUT or not self.alive():   # still busy with it, or dead: restart
                    return self._renew(self._start)

    def _over_limit(self):
        """The launcher's note, if it stopped the kernel for filling its folder."""
        if self._sockets is None:
            return None
        try:
            return (Path(self._sockets) / sandbox.OVER_LIMIT).read_text()[:300]
        except OSError:
            return None

    def _full(self):
        """Why no kernel may run in this folder again: the launcher's note (it stopped the kernel), or the folder
        measured past its caps here. A cell can fill the folder and end before the launcher's next measure (every
        DISK_POLL s); a kernel started again in it is stopped at once, again and again until the submission's time
        is spent (a batch held for 30 minutes)."""
        if self.kernel_name != sandbox.KERNEL_NAME:
            return None
        caps = int(self.env["HW3_SANDBOX_DISK"]), int(self.env["HW3_SANDBOX_FILES"])
        return self._over_limit() or sandbox.over_caps([self.cwd], caps)

    def alive(self):
        return self.kernel is not None and self.kernel.is_alive()

    def close(self):
        if self.kernel is not None:
            try:
                self.kernel.stop()
            except Exception:
                pass
        self.kernel = None
        if self._sockets:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    def _renew(self, start):
        """Closes the kernel and calls `start` for a new one, unless the folder is full: then no kernel, and
        `over_limit` says why (read before close() removes the socket folder that holds the launcher's note)."""
        self.over_limit = self._full()
        self.close()
        return None if self.over_limit else start()

    def restart(self):
        """A new kernel in place of this one, with the kept cells replayed; none when the folder is full."""
        self._renew(self.start)
        self.restarts += not self.over_limit

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- running code

    def _execute(self, source, timeout, probe=False):
        kc, km = self.kernel.kc, self.kernel.km
        start = time.monotonic()
        deadline = start + timeout
        msg_id = kc.execute(source, store_history=False, allow_stdin=False, stop_on_error=False)
        sink = _Sink(self.output_limit, PROBE_OUTPUT_LIMIT if probe else 0)
        error = None
        reply = None
        idle = False
        timed_out = False
        reply_at = None
        lost = False
        while not idle:
            now = time.monotonic()
            if reply is None:
                try:
                    while reply is None:
                        msg = iopub.receive(kc.get_shell_msg, 0)
                        if msg is not None and msg[0] == msg_id:
                            reply, reply_at = msg[2] if isinstance(msg[2], dict) else {}, now
                except Empty:
                    pass
            if reply is not None and now - reply_at > LOST_IDLE_GRACE:
                lost = True
                break   # the reply came, the idle message did not: output lost in a flood, not a hang
            if now >= deadline:
                if timed_out or not km.is_alive():
                    break
                km.interrupt_kernel()
                timed_out, deadline = True, now + INTERRUPT_GRACE
            try:
                msg = iopub.receive(kc.get_iopub_msg, max(0.0, min(POLL, deadline - now)))
            except Empty:
                if not km.is_alive():
                    break
                continue
            if msg is None or msg[0] != msg_id:   # unreadable (dropped), or another request's
                continue
            _, kind, content = msg
            if kind == "status" and isinstance(content, dict) and content.get("execution_state") == "idle":
                idle = True
                continue
            output, size = iopub.output(kind, content)   # checked and measured whole (metadata, evalue, ...)
            if output is None:
                sink.dropped += size
                continue
            if kind == "error":
                error = output
            sink.add(output, size)
        seconds = time.monotonic() - start
        if lost and km.is_alive():
            sink.lost = True
            try:
                self.kernel.reconnect_iopub()
            except RuntimeError:   # no output channel again: the next run() restarts the kernel
                self.kernel.km.shutdown_kernel(now=True)
        outputs = sink.finish()
        if not km.is_alive():
            return CellResult(Status.DEAD, outputs, seconds=seconds, dropped=sink.dropped)
        if timed_out:
            status = Status.TIMEOUT if idle or reply is not None else Status.STUCK
            return CellResult(status, outputs, seconds=seconds, dropped=sink.dropped)
        until = time.monotonic() + LOST_IDLE_GRACE
        while reply is None:   # idle came first: the reply is on its way (other messages never hold the wait open)
            try:
                msg = iopub.receive(kc.get_shell_msg, max(0.0, until - time.monotonic()))
            except Empty:
                msg, reply = None, {}
            if msg is not None and msg[0] == msg_id:
                reply = msg[2] if isinstance(msg[2], dict) else {}
            elif time.monotonic() > until:
                reply = {}
        payloads = reply.get("payload") if isinstance(reply.get("payload"), list) else []
        if any(isinstance(p, dict) and p.get("source") == "ask_exit" for p in payloads):
            return CellResult(Status.EXIT, outputs, seconds=seconds, dropped=sink.dropped)
        if error is not None or reply.get("status") == "error":
            error = error or reply
            return CellResult(Status.ERROR, outputs, str(error.get("ename", "")), str(error.get("evalue", "")), seconds,
                              sink.dropped)
        return CellResult(Status.OK, outputs, seconds=seconds, dropped=sink.dropped)

    def run(self, source, timeout=None, keep=False, probe=False):
        """Executes `source`; keep=True replays it after a restart unless it hung, exited or killed the kernel;
        probe=True for the grader's own request (grader/execution/probe.py), whose answer has a cap of its own."""
        if self.clock.spent():
            return CellResult(Status.BUDGET)
        if not self.over_limit and not self.alive():
            # Dead between two cells (or not started): the last cell may have filled the folder, the launcher
            # stopping the kernel after it ended (its measure runs every DISK_POLL s) or not yet. A kernel started
            # in a full folder would be stopped at once: _renew starts none.
            if self.kernel is not None:
                self.restart()
            else:
                self._renew(self.start)
        if self.over_limit:
            return CellResult(Status.FULL, evalue=self.over_limit)
        if self.clock.spent():   # the restart's replays used what was left
            return CellResult(Status.BUDGET)
        result = self._execute(source, self.clock.bound(timeout or self.timeout), probe)
        if result.status is Status.STUCK:   # interrupted, and no answer: only a restart frees it
            result.status = Status.TIMEOUT
            self.restart()
        elif result.status is Status.DEAD:
            self.restart()        # none if the folder is full: it stays full, every later cell would be stopped again
            if self.over_limit:
                result.status, result.evalue = Status.FULL, self.over_limit
        elif keep and result.status in (Status.OK, Status.ERROR):
            self.replay.append(source)   # an error part-way still defined what came before it
        return result
