"""The sandbox every submission's kernel runs in: an IPython kernel inside bubblewrap, as a Jupyter kernelspec.

    python -m grader sandbox setup       # make setup: apt-get install bubblewrap (as root), install the kernelspec
    python -m grader sandbox check       # can the sandbox run here? (exit status 0 if so, else why)

The kernelspec ``hw3-sandbox`` (in the kit's .venv) runs this file as a trusted launcher
(``python -I grader/execution/sandbox.py -f CONNECTION_FILE``) outside the sandbox, in the kernel's working folder.
Any Jupyter client (nbclient, nbval, JupyterLab) uses it unchanged. The launcher:

* runs ``python -m ipykernel_launcher`` under ``bwrap`` with the system, the virtual environment and the
  Python it is built on read-only, the working folder the only writable place, a private ``/tmp``, and of
  the kit only its student-side ``grader/`` files and ``data/``, read-only, over the folder's own;
* in its own PID, network, IPC and UTS namespaces (and user namespace, when not run as root), ``--die-with-parent``
  and ``--new-session``: when the kernel ends, its PID namespace ends with it, every process it started included;
* with a seccomp filter (``grader/execution/seccomp.py``, loaded by bwrap last): no new namespaces (``unshare``,
  ``clone`` with a namespace flag, ``setns``; ``clone3`` is ENOSYS) and no mounts inside the kernel;
* with an environment built from an allow-list (nothing inherited but ``ALLOWED_ENV``);
* with limits set before the kernel starts (address space, processes, CPU time, file size), from the
  ``HW3_SANDBOX_*`` variables of the launcher's environment (the client's), defaults in ``LIMITS``; and a cap on
  its working folder (bytes on disk and files, ``HW3_SANDBOX_DISK`` / ``_FILES``), measured every
  ``DISK_POLL`` seconds: past it the kernel is stopped and the client finds why in its socket folder;
* as root, bwrap runs privileged and the kernel as an unprivileged user, the owner of its working folder
  (root is exempt from the process limit; the grader hands its private copy to a user of its own, see
  :func:`hand_over`); as an ordinary user, in a user namespace;
* with no network: the kernel's ZeroMQ channels are ``ipc`` sockets in a folder bound into the
  sandbox. A client on ``ipc`` (the grader's :class:`grader.execution.kernel.KernelSession`) shares that folder
  with the kernel; for a client on TCP (nbval, JupyterLab) the launcher relays its ports to the sockets.

Interrupts are messages on the control channel (``interrupt_mode: message``): no signal has to cross the sandbox's
border. Without bubblewrap the grader refuses to start (see :func:`problem`) unless it is told ``--no-sandbox``.

This file runs as a script with the standard library and pyzmq only (no import of the kit), so a
kernel start costs no more than the kernel itself.
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from itertools import count
from pathlib import Path

KERNEL_NAME = "hw3-sandbox"
NO_SANDBOX_KERNEL = "python3"
KIT_ROOT = Path(__file__).resolve().parents[2]   # the kit's top folder (this file runs as a script: no import of grader)
UID_BASE = 2_000_000_000     # + (process id, call): the user of a folder handed over (no such account)
INSIDE_SOCKETS = "/run/hw3-kernel"   # where the kernel's ipc sockets and connection file are, inside
TMP_SIZE = 1 << 30           # bytes of the private /tmp (a tmpfs)
DISK_LIMIT = 1 << 30         # bytes the kernel may add to its working folder (HW3_SANDBOX_DISK: the folder's cap)
FILES_LIMIT = 20_000         # files the kernel may add to it (HW3_SANDBOX_FILES: the folder's cap)
OVER_LIMIT = "over-limit"    # the note the launcher leaves in the client's socket folder when it stops the kernel

# Of the kit's grader/, what the kernel sees: the student side (what the release ships, see grader/kit/release.py)
# and what the grader's probes import in the kernel (the differentiation probe: its inputs, no answers).
STUDENT_GRADER = ("__init__.py", "selfcheck")
PROBE_SIDE = ("parts/__init__.py", "parts/probes.py")
KIT_DATA = "data"
_HANDED = count()

# The kernel's limits: (resource, environment variable, default). Threads count as processes.
LIMITS = (
    (resource.RLIMIT_AS, "HW3_SANDBOX_MEMORY", 6 * 2 ** 30),
    (resource.RLIMIT_NPROC, "HW3_SANDBOX_PROCESSES", 256),
    (resource.RLIMIT_CPU, "HW3_SANDBOX_CPU", 3600),
    (resource.RLIMIT_FSIZE, "HW3_SANDBOX_FILE_SIZE", 512 * 2 ** 20),
)
# What the kernel may inherit from its client's environment; everything else (secrets) is dropped.
ALLOWED_ENV = ("HW3_FAST", "HW3_SELFCHECK", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "MPLBACKEND", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "JPY_SESSION_NAME",
               "PYDEVD_DISABLE_FILE_VALIDATION")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime", "mime.types",
       "nsswitch.conf", "passwd", "group", "os-release", "ssl/certs")
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
MPL_CACHE = "matplotlib"     # in the kernelspec's folder: the font cache, shown read-only in MPLCONFIGDIR
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu, as root: apt-get update && apt-get install -y bubblewrap; "
                "`make setup` does it when run as root)")


# -- the grader's side: is the sandbox usable, the kernelspec, the working folder --------------------------

def bwrap():
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)


def kernelspec_dir(prefix=sys.prefix):
    return Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def kernelspec(python=None):
    """The kernel.json: this file, run isolated (-I: no cwd, no PYTHON* variables) by the kit's Python."""
    python = python or os.path.join(sys.prefix, "bin", "python")
    return {"argv": [python, "-I", str(Path(__file__).resolve()), "-f", "{connection_file}"],
            "display_name": "Python 3 (HW3 sandbox)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}


def install_kernelspec(prefix=sys.prefix):
    """The kernelspec, and matplotlib's font cache built once (each kernel would spend seconds on it)."""
    folder = kernelspec_dir(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(kernelspec(), indent=1) + "\n")
    subprocess.run([os.path.join(prefix, "bin", "python"), "-c", "import matplotlib.font_manager"],
                   env=dict(os.environ, MPLCONFIGDIR=str(folder / MPL_CACHE)), capture_output=True, check=False)
    return folder


def problem():
    """None if a sandboxed kernel can start here; else why not and what to do, in words."""
    if bwrap() is None:
        return f"bubblewrap (`bwrap`) is not installed: {INSTALL_HINT}"
    spec = kernelspec_dir() / "kernel.json"
    launcher = json.loads(spec.read_text())["argv"][2] if spec.is_file() else ""
    if not os.path.isfile(launcher):
        return f"the sandbox's kernelspec is missing or stale ({spec}): run `make setup`"
    try:
        seccomp_fd = filter_fd()
    except RuntimeError as exc:
        return f"the sandbox's seccomp filter cannot be made here: {exc}"
    with tempfile.TemporaryDirectory(prefix="hw3-sandbox-check-") as tmp:
        hand_over(tmp)
        argv = _bwrap_argv(tmp, None, [os.path.join(sys.prefix, "bin", "python"), "-I", "-c", "pass"],
                           seccomp_fd=seccomp_fd)
        try:
            done = subprocess.run(argv, cwd=tmp, env=_kernel_environment({}, tmp), capture_output=True, text=True,
                                  timeout=60, stdin=subprocess.DEVNULL, pass_fds=(seccomp_fd,))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
        finally:
            os.close(seccomp_fd)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        hint = ("the kernel must allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; "
                "on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0)"
                if "namespace" in why.lower() or "permission" in why.lower() else INSTALL_HINT)
        return f"bubblewrap cannot make a sandbox here ({why}): {hint}"
    return None


def hand_over(folder):
    """As root, gives a private working folder to a user of its own, whom the kernel then runs as (see
    `kernel_user`): a new user each time (per process and call: threads of one worker may grade side by
    side), so the process limit is that sandbox's alone."""
    if os.geteuid() != 0:
        return
    uid = UID_BASE + (os.getpid() << 8) + next(_HANDED) % 256
    for root, dirs, files in os.walk(folder):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, uid, uid)


# -- the launcher: build the sandbox, start the kernel in it, relay its channels ------------------------------

def _sibling(name):
    """The names of grader/execution/`name`.py, loaded by path (this file runs as a script, isolated, with no package
    around it; no bytecode cache written into the kit)."""
    path = Path(__file__).resolve().with_name(f"{name}.py")
    module = {"__name__": f"hw3_{name}", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), module)
    return module


_watch = _sibling("watch")
folder_usage = _watch["folder_usage"]   # the client measures the copy with it too (grader/execution/kernel.py)
over_caps = _watch["over_caps"]         # and knows a full folder before it starts a kernel in it again


def filter_fd():
    """A file descriptor to read the seccomp filter from (grader/execution/seccomp.py, loaded by path: this file runs as
    a script, isolated, with no package around it), for bwrap's --seccomp; the caller closes it.

    Raises:
        RuntimeError (seccomp.Unsupported): no filter for this architecture."""
    program = _sibling("seccomp")["program"]()
    read, write = os.pipe()
    os.write(write, program)    # a few hundred bytes: within a pipe's buffer
    os.close(write)
    return read


def _allowed(environ):
    return {k: v for k, v in environ.items() if k in ALLOWED_ENV}


def _kernel_environment(environ, cwd):
    """The kernel's whole environment: fixed values, plus the allowed names of the client's."""
    env = {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1",
           "MPLCONFIGDIR": "/tmp/.matplotlib", "IPYTHONDIR": "/tmp/.ipython", "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter",
           "MPLBACKEND": "Agg",
           "JPY_PARENT_PID": "1"}   # as ipykernel reads it: a client started us (no banner), no parent to poll
    env.update(_allowed(environ))
    return env


def _limits(environ):
    limits = []
    for kind, name, default in LIMITS:
        try:
            value = int(environ.get(name, default))
        except ValueError:
            value = default
        limits.append((kind, value))
    return limits


def _set_limits(limits):
    """In the child, before bwrap: the kernel's limits (inherited by everything it starts)."""
    for kind, value in limits:
        resource.setrlimit(kind, (value, value))


def kernel_user(cwd):
    """Who the kernel runs as when we are root: the owner of its working folder (never root)."""
    owner = os.stat(cwd).st_uid, os.stat(cwd).st_gid
    if owner[0] == 0:
        raise PermissionError(f"the sandbox runs no kernel as root, and root owns its working folder {cwd}: hand "
                              f"the folder to an ordinary user (e.g. chown -R nobody: FOLDER), or run Jupyter as one")
    return owner


# Run inside the sandbox as root (bwrap's privileged mode), before the kernel: drop to the kernel's user
# (every capability goes with root), enter the working folder as that user, exec the kernel.
BECOME = ("import os, sys; uid, gid, cwd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]; os.setgroups([]); "
          "os.setresgid(gid, gid, gid); os.setresuid(uid, uid, uid); os.chdir(cwd); os.execv(sys.argv[4], sys.argv[4:])")


def _python_roots():
    """Folders the kit's Python needs read-only: its virtual environment and the Python it was made from."""
    roots = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    kept = []
    for root in sorted({os.path.realpath(r) for r in roots}, key=len):
        if not any(root == k or root.startswith(k + "/") for k in kept + list(SYSTEM)):
            kept.append(root)
    return kept


def _bwrap_argv(cwd, sockets, command, client_sockets=None, seccomp_fd=None):
    """bwrap's command line. As root, bwrap runs privileged (no user namespace: root can read the kit's
    Python wherever it lives) and BECOME drops to the kernel's user; otherwise bwrap makes a user namespace.
    seccomp_fd: where bwrap reads the seccomp filter (see filter_fd)."""
    cwd = os.path.realpath(cwd)
    argv = [bwrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    if os.geteuid() == 0:
        uid, gid = kernel_user(cwd)
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        command = [os.path.join(sys.prefix, "bin", "python"), "-I", "-S", "-c", BECOME, str(uid), str(gid), cwd] + command
        chdir = []   # root without its capabilities may not enter a folder it handed over: BECOME does
    else:
        argv += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
        chdir = ["--chdir", cwd]
    made = {"/", "/tmp", "/proc", "/dev"}

    def bind(how, source, dest):
        """A bind mount, after the folders leading to it (bwrap would make them 0700: the kernel's user could
        not pass)."""
        parents = []
        for parent in Path(dest).parents:
            if str(parent) in made:
                break
            parents.append(str(parent))
        for parent in reversed(parents):
            argv.extend(["--perms", "0755", "--dir", parent])
            made.add(parent)
        argv.extend([how, str(source), str(dest)])
        made.add(str(dest))

    for path in SYSTEM:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            bind("--ro-bind", path, path)
    for name in ETC:
        if os.path.exists(os.path.join("/etc", name)):
            bind("--ro-bind", os.path.join("/etc", name), os.path.join("/etc", name))
    for root in _python_roots():
        bind("--ro-bind", root, root)
    bind("--bind", cwd, cwd)
    # The kit's student side over the folder's own grader/ and data/ (a submission cannot bring its own).
    inside = os.path.join(cwd, "grader")
    argv += ["--perms", "0755", "--tmpfs", inside]
    made.add(inside)
    for name in STUDENT_GRADER + PROBE_SIDE:
        if (KIT_ROOT / "grader" / name).exists():
            bind("--ro-bind", KIT_ROOT / "grader" / name, os.path.join(inside, name))   # parts/probes.py: parts/ made 0755
    argv += ["--remount-ro", inside]
    if (KIT_ROOT / KIT_DATA).is_dir():
        argv += ["--ro-bind", str(KIT_ROOT / KIT_DATA), os.path.join(cwd, KIT_DATA)]
    if sockets is not None:
        bind("--bind", sockets, INSIDE_SOCKETS)
    if client_sockets is not None:
        bind("--bind", client_sockets, client_sockets)
    cache = kernelspec_dir() / MPL_CACHE
    if cache.is_dir():
        argv += ["--perms", "1777", "--dir", "/tmp/.matplotlib"]   # writable, as matplotlib wants its folder
        for path in cache.glob("*.json"):
            argv += ["--ro-bind", str(path), f"/tmp/.matplotlib/{path.name}"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return argv + chdir + ["--"] + command


class Relay:
    """The client's TCP endpoints (its connection file) relayed to the kernel's ipc sockets, one thread each."""

    KINDS = {"shell": ("ROUTER", "DEALER"), "control": ("ROUTER", "DEALER"), "stdin": ("ROUTER", "DEALER"),
             "hb": ("ROUTER", "DEALER"), "iopub": ("XPUB", "XSUB")}

    def __init__(self, info, folder):
        import zmq
        self.zmq = zmq
        self.context = zmq.Context()
        self.pairs = []
        # stdin requests go to the identity that sent the execute_request on shell: one identity for both.
        identity = os.urandom(8).hex().encode()
        for channel in CHANNELS:
            front_kind, back_kind = self.KINDS[channel]
            front = self.context.socket(getattr(zmq, front_kind))
            back = self.context.socket(getattr(zmq, back_kind))
            front.linger = back.linger = 0
            if channel in ("shell", "stdin"):
                back.identity = identity
            if channel == "iopub":
                front.setsockopt(zmq.XPUB_VERBOSE, 1)   # every client's subscription reaches the kernel
            front.bind(f"tcp://{info['ip']}:{info[channel + '_port']}")
            back.connect(f"ipc://{folder}/kernel-{info[channel + '_port']}")
            self.pairs.append((front, back))

    def start(self):
        for front, back in self.pairs:
            threading.Thread(target=self._proxy, args=(front, back), daemon=True).start()

    def _proxy(self, front, back):
        try:
            self.zmq.proxy(front, back)
        except self.zmq.ZMQError:
            pass


def launch(connection_file):
    """Runs the kernel of `connection_file` (the client's) in the sandbox; returns its exit status."""
    info = json.loads(Path(connection_file).read_text())
    cwd = os.getcwd()
    if os.geteuid() == 0:
        try:
            kernel_user(cwd)
        except PermissionError as exc:
            print(f"hw3-sandbox: {exc}", file=sys.stderr)
            return 1
    parent = os.getppid()
    sockets = tempfile.mkdtemp(prefix="hw3-sandbox-")
    _watch["remove_when_gone"](sockets)
    try:
        # A client on ipc (the grader's) shares its socket folder with the kernel: no relay, no extra hop.
        # A client on tcp (nbval, JupyterLab) gets the relay.
        client_sockets = os.path.dirname(info["ip"]) if info.get("transport") == "ipc" else None
        inside = info if client_sockets else dict(info, transport="ipc", ip=f"{INSIDE_SOCKETS}/kernel")
        (Path(sockets) / "kernel.json").write_text(json.dumps(inside))
        if os.geteuid() == 0:
            for folder in filter(None, (sockets, client_sockets)):
                os.chown(folder, *kernel_user(cwd))
        command = [os.path.join(sys.prefix, "bin", "python"), "-m", "ipykernel_launcher",
                   "-f", f"{INSIDE_SOCKETS}/kernel.json"]
        limits = _limits(os.environ)
        seccomp_fd = filter_fd()
        try:
            kernel = subprocess.Popen(_bwrap_argv(cwd, sockets, command, client_sockets, seccomp_fd), cwd=cwd,
                                      env=_kernel_environment(os.environ, cwd), stdin=subprocess.DEVNULL,
                                      preexec_fn=lambda: _set_limits(limits), pass_fds=(seccomp_fd,))
        finally:
            os.close(seccomp_fd)
        if client_sockets is None:
            Relay(info, sockets).start()
        # The client ends us with SIGTERM/SIGINT (or SIGKILL: bwrap's --die-with-parent covers that). A client
        # that dies without a word (a crash, SIGKILL, a killed Dask worker) leaves us to init: then we end too.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: kernel.kill())
        threading.Thread(target=_watch["end_with_client"], args=(parent, kernel), daemon=True).start()
        caps = _watch["folder_caps"](os.environ, cwd, DISK_LIMIT, FILES_LIMIT)
        note = os.path.join(client_sockets or sockets, OVER_LIMIT)
        watched = [cwd] + [f for f in (sockets, client_sockets) if f]   # every folder the kernel may write to
        threading.Thread(target=_watch["watch_folder"], args=(watched, caps, kernel, note), daemon=True).start()
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # interrupts are messages; ^C in a terminal is not for us
        while True:
            try:
                return kernel.wait()
            except KeyboardInterrupt:
                continue
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


# -- make setup --------------------------------------------------------------------------------------------

def setup():
    """Installs bubblewrap (as root, with apt-get) when it is missing, and the kernelspec; 0 if all is ready."""
    if bwrap() is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "bubblewrap"]):
                print("+", " ".join(command), flush=True)
                subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)
        if bwrap() is None:
            print(f"warning: the grader runs every submission in a sandbox made by bubblewrap, which is missing: "
                  f"{INSTALL_HINT}. Until then `python -m grader` needs --no-sandbox.", file=sys.stderr)
    print(f"kernelspec {KERNEL_NAME}: {install_kernelspec()}")
    why = problem()
    if why:
        print(f"warning: the sandbox cannot run here: {why}", file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "-f":
        return launch(argv[1])
    if argv == ["setup"]:
        return setup()
    if argv == ["check"]:
        why = problem()
        print(why or "the sandbox works here")
        return 1 if why else 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
