"""The sandbox a submission's kernel runs in (grader/execution/sandbox.py): what the kernel sees and may do, its
limits, interrupts, its end, the ordinary user's case, and the grader without a sandbox.

The attacks themselves (planting, outliving, snooping, fork bomb, network, memory, writes) are graded
in a batch in test_sandbox_attacks.py.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, processes_with
from grader.execution import sandbox
from grader.parts import main_notebook as mainnb
from grader.execution.session import grade_submission
from grader.execution.kernel import KernelSession, kernel_env

SECRET_NAME, SECRET = "HW3_TEST_SECRET", "s3cret-" + uuid.uuid4().hex
MEMORY = 3 * 2 ** 30

FACTS = '''
import json, os, resource
def _writable(path):
    try:
        open(path, 'a').close()
        return True
    except OSError:
        return False
print(json.dumps({
    "uid": os.getuid(),
    "env": dict(os.environ),
    "limits": {name: resource.getrlimit(getattr(resource, name))[0]
               for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_CPU", "RLIMIT_FSIZE")},
    "grader": sorted([n for n in os.listdir("grader") if n != "parts"]
                     + ["parts/" + n for n in (os.listdir("grader/parts") if os.path.isdir("grader/parts") else [])]),
    "data": os.path.exists("data/mnist.py"),
    "kit": sorted(os.listdir(%(kit)r)),
    "kit_notebook": os.path.exists(%(kit)r + "/HW3_Modules.ipynb"),
    "writable": {p: _writable(p) for p in ("here.txt", "/tmp/x", "grader/__init__.py", "data/new", %(venv)r + "/x",
                                          "/usr/x")},
    "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
}))
'''


def _stdout(result):
    return "".join(o.get("text", "") for o in result.outputs if o.get("name") == "stdout")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A kernel's working folder holding a grader/ of its own with an instructor-side file in it."""
    folder = tmp_path_factory.mktemp("sandboxed")
    (folder / "grader").mkdir()
    (folder / "grader" / "grade.py").write_text("# not for the kernel's eyes\n")
    return folder


@pytest.fixture(scope="module")
def kernel(folder):
    os.environ[SECRET_NAME] = SECRET
    try:
        env = kernel_env({"HW3_FAST": "1", SECRET_NAME: SECRET})   # even passed on purpose, it stays out
        with KernelSession(folder, timeout=20, env=env, memory_limit=MEMORY) as session:
            yield session
    finally:
        os.environ.pop(SECRET_NAME, None)


@pytest.fixture(scope="module")
def facts(kernel):
    result = kernel.run(FACTS % {"kit": str(ROOT), "venv": sys.prefix})
    assert result.ok, result.describe()
    return json.loads(_stdout(result))


def test_the_sandbox_can_run_here():
    assert sandbox.problem() is None


def test_the_kernelspec_runs_the_launcher_isolated_and_interrupts_by_message():
    spec = json.loads((sandbox.kernelspec_dir() / "kernel.json").read_text())
    assert spec["argv"][1:3] == ["-I", str(ROOT / "grader" / "execution" / "sandbox.py")]
    assert spec["interrupt_mode"] == "message"


def test_the_environment_is_an_allow_list(facts):
    env = facts["env"]
    assert SECRET_NAME not in env and SECRET not in json.dumps(env)
    assert env["HW3_FAST"] == "1" and env["HOME"] == "/tmp"
    assert "HW3_SANDBOX_MEMORY" not in env   # the launcher's, not the kernel's


def test_limits_are_set_from_outside(facts):
    defaults = {name: default for _, name, default in sandbox.LIMITS}
    assert facts["limits"] == {"RLIMIT_AS": MEMORY, "RLIMIT_NPROC": defaults["HW3_SANDBOX_PROCESSES"],
                               "RLIMIT_CPU": defaults["HW3_SANDBOX_CPU"],
                               "RLIMIT_FSIZE": defaults["HW3_SANDBOX_FILE_SIZE"]}
    assert facts["uid"] != 0


def test_the_kernel_sees_only_its_folder_and_the_kits_student_side(facts):
    assert facts["grader"] == sorted(n for n in sandbox.STUDENT_GRADER + sandbox.PROBE_SIDE
                                     if (ROOT / "grader" / n).exists())
    assert facts["data"]
    assert facts["kit"] == [".venv"] and not facts["kit_notebook"]   # only the mount point of the venv
    assert facts["writable"] == {"here.txt": True, "/tmp/x": True, "grader/__init__.py": False, "data/new": False,
                                 sys.prefix + "/x": False, "/usr/x": False}
    assert len(facts["processes"]) < 10   # its own PID namespace


def test_a_hung_cell_is_interrupted_and_the_kernel_lives_on(kernel):
    restarts = kernel.restarts
    hung = kernel.run("x = 41\nwhile True:\n    pass", timeout=3)
    assert hung.status == "timeout"
    after = kernel.run("print(x + 1)")
    assert after.ok and _stdout(after).strip() == "42" and kernel.restarts == restarts


NAMESPACES = r'''
import ctypes, json, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
def in_child(call):
    # each attempt in a child: a namespace that did get made must not change the kernel itself
    pid = os.fork()
    if pid == 0:
        os._exit(0 if call() == 0 else ctypes.get_errno())
    return os.waitpid(pid, 0)[1] >> 8
flags = {"user": 0x10000000, "mountns": 0x00020000, "net": 0x40000000, "pid": 0x20000000, "user+mount": 0x10020000}
errors = {name: in_child(lambda f=f: libc.unshare(f)) for name, f in flags.items()}
errors["setns"] = in_child(lambda: libc.setns(os.open("/proc/self/ns/net", os.O_RDONLY), 0))
errors["clone3"] = in_child(lambda: libc.syscall(435, None, 0))
errors["mount"] = in_child(lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
unshare_r = subprocess.run(["unshare", "-r", "id"], capture_output=True, text=True)
seen = []
thread = threading.Thread(target=lambda: seen.append(subprocess.run(["echo", "ok"], capture_output=True, text=True).stdout))
thread.start(); thread.join()
print(json.dumps({"errors": errors, "unshare_r": [unshare_r.returncode, unshare_r.stderr], "thread": seen,
                  "fork": in_child(lambda: 0)}))
'''


def test_no_new_namespaces_inside_the_kernel(kernel):
    """unshare(CLONE_NEWUSER) / `unshare -r` (the grader runs as root, the kernel as a user who could otherwise
    make user namespaces and mount, network, PID ones inside them), setns, mounts: refused by the sandbox's
    seccomp filter; clone3 is ENOSYS (C libraries fall back to clone); threads, processes, fork still work."""
    import errno
    result = kernel.run(NAMESPACES)
    assert result.ok, result.describe()
    seen = json.loads(_stdout(result))
    assert seen["errors"] == {"user": errno.EPERM, "mountns": errno.EPERM, "net": errno.EPERM, "pid": errno.EPERM,
                              "user+mount": errno.EPERM, "setns": errno.EPERM, "clone3": errno.ENOSYS,
                              "mount": errno.EPERM}, seen
    assert seen["unshare_r"][0] != 0 and "Operation not permitted" in seen["unshare_r"][1], seen
    assert seen["thread"] == ["ok\n"] and seen["fork"] == 0, seen


def test_the_seccomp_filter_is_a_program_for_this_machine_and_refuses_unknown_ones():
    from grader.execution import seccomp
    program = seccomp.program()
    assert len(program) % 8 == 0 and 20 < len(program) // 8 < 256
    assert seccomp.program("aarch64") != seccomp.program("x86_64")
    with pytest.raises(seccomp.Unsupported, match="riscv64"):
        seccomp.program("riscv64")


def test_every_process_ends_with_the_kernel(tmp_path):
    token = "hw3-daemon-" + uuid.uuid4().hex[:8]
    with KernelSession(tmp_path, timeout=20) as session:
        started = session.run(f"import subprocess\nsubprocess.Popen(['setsid', 'sh', '-c', 'sleep 300 & sleep 300', "
                              f"{token!r}], start_new_session=True)\nimport time; time.sleep(0.5)")
        assert started.ok, started.describe()
        assert processes_with(token)
    time.sleep(1)
    assert processes_with(token) == []


def _socket_folders(owner):
    """The sandbox launcher's socket folders (/tmp/hw3-sandbox-*) of the kernel whose copy `owner` owns."""
    return [f for f in Path(tempfile.gettempdir()).glob("hw3-sandbox-*") if f.stat().st_uid == owner]


def test_the_socket_folder_goes_with_every_kernel(tmp_path):
    """The client stops a kernel with SIGKILL to its process group (jupyter_client's shutdown_kernel(now=True)):
    the launcher's socket folder used to stay behind (831 in an afternoon)."""
    before = set(Path(tempfile.gettempdir()).glob("hw3-sandbox-*"))   # left by earlier kits' runs
    with KernelSession(tmp_path, timeout=20) as session:
        assert session.run("1").ok
        folders = [f for f in _socket_folders(tmp_path.stat().st_uid) if f not in before]
        assert len(folders) == 1
    deadline = time.monotonic() + 5
    while folders[0].exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folders[0].exists()


CLIENT = """
import sys, time
sys.path.insert(0, %(root)r)
from grader.execution.kernel import KernelSession
session = KernelSession(%(folder)r, timeout=30)
session.start()
result = session.run("import subprocess, threading, time\\n"
                     "subprocess.Popen(['sleep', '300', %(token)r], start_new_session=True)\\n"
                     "threading.Thread(target=time.sleep, args=(300,)).start()")
print(result.status, flush=True)
time.sleep(300)
"""


def test_a_killed_grader_leaves_no_kernel_no_student_process_no_socket_folder(tmp_path):
    """The grading process dies without a word (SIGKILL: a crash, a killed Dask worker): its kernels and what
    the student started in them end too, and their socket folders are removed."""
    token = "hw3-orphan-" + uuid.uuid4().hex[:8]
    folder = tmp_path / "copy"
    folder.mkdir()
    # The client's own TMPDIR, short (its kernel's sockets live there): its kernel's launcher names its connection
    # file there, so the launcher is told from this module's kernel and from other tests' kernels (`make test`
    # runs test files side by side).
    client_tmp = tempfile.mkdtemp(prefix="hw3-client-")
    before = set(Path(tempfile.gettempdir()).glob("hw3-sandbox-*"))
    client = subprocess.Popen([sys.executable, "-c", CLIENT % {"root": str(ROOT), "folder": str(folder),
                                                                "token": token}],
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ, TMPDIR=client_tmp))
    try:
        assert client.stdout.readline().strip() == "ok"
        assert processes_with(token)
        folders = [f for f in _socket_folders(folder.stat().st_uid) if f not in before]
        assert len(folders) == 1
        launchers = (set(processes_with(str(ROOT / "grader" / "execution" / "sandbox.py")))
                     & set(processes_with(client_tmp)))
        assert launchers
    finally:
        client.kill()
        client.wait()
    def left():
        return (processes_with(token), folders[0].exists(),
                launchers & set(processes_with(str(ROOT / "grader" / "execution" / "sandbox.py"))))
    deadline = time.monotonic() + 10
    while any(left()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left() == ([], False, set())
    shutil.rmtree(client_tmp, ignore_errors=True)


def test_a_metrics_file_linked_out_of_the_folder_is_not_read(tmp_path):
    elsewhere = tmp_path / "kit_metrics.json"   # as if the kit's own results, which the kernel cannot read
    elsewhere.write_text(json.dumps({"mnist_test_accuracy": 0.98}))
    submission = tmp_path / "sub"
    submission.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import os\nos.makedirs('build', exist_ok=True)\n"
                                          f"os.symlink({str(elsewhere)!r}, 'build/metrics.json')")]
    nbformat.write(nb, submission / mainnb.NOTEBOOK)
    results = [c for c in grade_submission(submission)["checks"] if c["target"] == mainnb.TARGET]
    assert results[0]["message"].startswith("ran to the end")   # the cell ran (with no model behind it: no points)
    assert all(not r["passed"] and "symbolic link" in r["message"] for r in results[1:])


def test_without_bwrap_the_grader_stops_saying_why(tmp_path, monkeypatch, capsys):
    from grader.__main__ import main
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    assert main([str(tmp_path), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install -y bubblewrap" in err and "--no-sandbox" in err


def test_no_sandbox_marks_every_report(tmp_path):
    report = tmp_path / "out" / "report.json"
    (tmp_path / "empty").mkdir()
    run = subprocess.run([sys.executable, "-m", "grader", str(tmp_path / "empty"), "--fast", "--no-sandbox",
                          "--json", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WITHOUT A SANDBOX" in run.stdout and "--no-sandbox" in run.stderr
    assert json.loads(report.read_text())[0]["sandbox"] is False
    assert ",no," in report.with_suffix(".csv").read_text().splitlines()[1]
    feedback = next((tmp_path / "out" / "report_feedback").glob("*.md")).read_text()
    assert "without a sandbox" in feedback


AS_USER = '''
import json, os, sys
sys.path.insert(0, %(root)r)
from grader.execution import sandbox
from grader.execution.kernel import KernelSession
problem = sandbox.problem()
with KernelSession(%(folder)r, timeout=30) as session:
    result = session.run("""
import json, os
n = 0
try:
    while n < 3000:
        if os.fork() == 0:
            os.execv('/bin/sleep', ['sleep', '60'])
        n += 1
except OSError:
    pass
print(json.dumps({"uid": os.getuid(), "kit": sorted(os.listdir(%(root)r)), "children": n}))
""")
print(json.dumps({"problem": problem, "status": result.status, "facts": result.outputs}))
'''


def test_a_kernel_runs_in_the_sandbox_as_an_ordinary_user():
    """As an ordinary user bwrap makes a user namespace. Run as root (CI), the test becomes one: an outer
    bwrap shows it the machine (with the kit's Python reachable, wherever it lives) and setpriv drops root."""
    uid = 4242 if os.geteuid() == 0 else os.getuid()
    home = tempfile.mkdtemp(prefix="hw3-user-")
    try:
        folder = os.path.join(home, "work")
        os.mkdir(folder)
        script = os.path.join(home, "as_user.py")
        with open(script, "w") as f:
            f.write(AS_USER % {"root": str(ROOT), "folder": folder})
        command = [sys.executable, script]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.fail("setpriv (util-linux) is needed to test the ordinary user's case as root")
            for path in (home, folder, script):
                os.chown(path, uid, uid)
            outer = [sandbox.bwrap(), "--dev-bind", "/", "/", "--perms", "0755", "--tmpfs", "/root"]
            for root in sandbox._python_roots():   # /root/.pyenv/... here: reachable, the rest of /root hidden
                parents = [str(p) for p in Path(root).parents if str(p).startswith("/root/")]
                for parent in reversed(parents):
                    outer += ["--perms", "0755", "--dir", parent]
                outer += ["--ro-bind", root, root]
            command = outer + ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + command
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "JUPYTER_RUNTIME_DIR": home + "/rt"}
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        out = json.loads(run.stdout.strip().splitlines()[-1])
        assert out["problem"] is None and out["status"] == "ok", out
        facts = json.loads("".join(o.get("text", "") for o in out["facts"]))
        assert facts["uid"] == uid and facts["kit"] == [".venv"]
        assert 0 < facts["children"] < 300   # the process limit holds in the user's namespace
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_print_loop_keeps_at_most_the_output_cap_in_the_grader(kernel):
    from grader.execution.kernel import OUTPUT_LIMIT
    result = kernel.run("for _ in range(3000):\n    print('x' * 10000)")   # 30 MB printed
    assert result.ok
    kept = sum(len(o.get("text", "")) for o in result.outputs)
    assert OUTPUT_LIMIT // 2 < kept < OUTPUT_LIMIT + 2 ** 10
    assert "characters of output dropped" in result.outputs[-1]["text"]


def test_a_flood_of_probe_typed_output_is_capped_too(kernel):
    """Output of the probe's own MIME type used to bypass the cap (1.5 GB in the grader's process): in the grader's
    own request it has a cap of its own, and so has every other type (an image flood); in a notebook's cell it is
    output like any other (a cap of its own there was 16 MiB kept per cell)."""
    from grader.execution.kernel import OUTPUT_LIMIT, PROBE_OUTPUT_LIMIT
    from grader.execution.probe import MIME as PROBE_MIME   # the one probe type
    flood = ("from IPython.display import publish_display_data\n"
             "for _ in range(40):\n"
             f"    publish_display_data({{{PROBE_MIME!r}: 'x' * 2 ** 20}})\n"
             "for _ in range(40):\n"
             "    publish_display_data({'image/png': 'A' * 2 ** 20})\n")
    in_cell = kernel.run(flood)
    assert in_cell.ok, in_cell.describe()
    assert sum(len(str(v)) for o in in_cell.outputs for v in o.get("data", {}).values()) <= OUTPUT_LIMIT
    result = kernel.run(flood, probe=True)
    assert result.ok, result.describe()
    probe = sum(len(o["data"][PROBE_MIME]) for o in result.outputs if PROBE_MIME in o.get("data", {}))
    other = sum(len(str(v)) for o in result.outputs if PROBE_MIME not in o.get("data", {})
                for v in o.get("data", {}).values())
    assert PROBE_OUTPUT_LIMIT // 2 < probe <= PROBE_OUTPUT_LIMIT and other <= OUTPUT_LIMIT
    assert result.dropped >= 80 * 2 ** 20 - PROBE_OUTPUT_LIMIT - OUTPUT_LIMIT


def test_one_message_over_the_message_limit_is_refused_and_the_kernel_goes_on(kernel):
    """A single output larger than MESSAGE_LIMIT (one print of 100 MB) never reaches the grader's memory: ZeroMQ
    refuses it; the cell ends and the kernel answers the next one."""
    from grader.execution.kernel import MESSAGE_LIMIT
    result = kernel.run(f"print('y' * {MESSAGE_LIMIT + 2 ** 20}); z = 5", timeout=60)
    assert result.status in ("ok", "timeout"), result.describe()
    assert sum(len(o.get("text", "")) for o in result.outputs) < 2 ** 20
    after = kernel.run("print(z * 2)")
    assert after.ok and "10" in _stdout(after), after.outputs


@pytest.mark.parametrize("filler, words", [
    ("for i in range(100000):\n    open(f'junk/{i}', 'wb').write(b'x' * 2 ** 20)", "more than"),   # bytes
    ("for i in range(100000):\n    open(f'junk/{i}', 'wb').close()", "files"),                       # files
])
def test_a_disk_filler_is_stopped_and_named_and_costs_only_its_notebook(tmp_path, filler, words):
    """The per-file limit alone let a notebook write 1.3 GiB in 0.7 s: the launcher measures the folder and stops
    the kernel past its caps (what the copy held plus the allowance); later cells of that notebook do not run."""
    (tmp_path / "HW3_Modules.ipynb").write_bytes(b"x" * 2 ** 20)     # the copy's own files do not count
    with KernelSession(tmp_path, timeout=60, disk_limit=64 * 2 ** 20, files_limit=2000) as session:
        result = session.run("import os\nos.makedirs('junk', exist_ok=True)\n" + filler)
        assert result.status == "full" and "filled its folder" in result.describe() and words in result.describe()
        later = session.run("print('still here')")
        assert later.status == "full" and session.restarts == 0
    # The cap is a measure every DISK_POLL seconds, not a quota: between two measures the kernel writes at page-cache
    # speed, and on a busy machine (the launcher's thread waits for a core) that was 380 MB past a 64 MiB cap in one
    # run of the suite. Unstopped, this filler writes 100 GB (or 100,000 files): the bound says it was stopped.
    used, files = sandbox.folder_usage(tmp_path)
    assert used < 2 ** 20 + 64 * 2 ** 20 + 768 * 2 ** 20 and files < 2000 + 3000, (used, files)


def test_a_kernel_that_fills_its_folder_and_dies_before_the_measure_is_never_started_again(tmp_path):
    """The cell fills the folder and ends the kernel itself before the launcher's measure (no note, or a note
    nobody read): the client measures the folder before starting a kernel in it again. A restarted kernel in a full
    folder was stopped at once, again and again, until the submission's 30 minutes were spent."""
    with KernelSession(tmp_path, timeout=60, files_limit=500) as session:
        result = session.run("import os\nos.makedirs('junk')\nfor i in range(600):\n    open(f'junk/{i}', 'wb').close()\n"
                             "os._exit(1)")
        assert result.status == "full" and "more than" in result.describe() and "files" in result.describe(), \
            result.describe()
        later = session.run("print('still here')")
        assert later.status == "full" and session.restarts == 0


def test_a_kernel_stopped_between_two_cells_for_a_full_folder_is_named_not_restarted(tmp_path):
    """A fast cell can end before the launcher's next measure (every DISK_POLL s): the kernel is then stopped
    between two cells. The next cell reads the launcher's note (no restart: a restarted kernel would run in the full
    folder, and the restart used to remove the note, so the submission was graded as if nothing had happened)."""
    with KernelSession(tmp_path, timeout=60, files_limit=500) as session:
        assert session.run("x = 1").ok
        junk = tmp_path / "junk"       # what the cell would have written: made here, so the race is certain
        junk.mkdir()
        for i in range(600):
            (junk / str(i)).touch()
        deadline = time.monotonic() + 30
        while session.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not session.alive(), "the launcher did not stop the kernel past its folder's cap"
        later = session.run("print(x)")
        assert later.status == "full" and "filled its folder" in later.describe(), later.describe()
        assert session.restarts == 0


def test_a_tcp_client_works_through_the_relay(tmp_path):
    """nbval and JupyterLab connect over TCP (the grader uses ipc): the launcher relays every channel."""
    from jupyter_client.manager import start_new_kernel
    sandbox.hand_over(tmp_path)   # as root, the kernel runs as the folder's owner
    km, kc = start_new_kernel(kernel_name=sandbox.KERNEL_NAME, cwd=str(tmp_path))
    try:
        assert km.transport == "tcp" and kc.is_alive()
        outputs = []
        reply = kc.execute_interactive("import os; print(os.getcwd())", timeout=30,
                                       output_hook=lambda m: outputs.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok" and "".join(outputs).strip() == str(tmp_path)
        kc.execute("import time; time.sleep(60)")
        time.sleep(1)
        km.interrupt_kernel()   # a message on the control channel, relayed
        reply = kc.get_shell_msg(timeout=20)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
