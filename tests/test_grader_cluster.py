"""Grading on a Dask cluster: a `dask scheduler` and two `dask worker` processes on loopback (free ports, always
torn down), a small batch (the reference, a mutant, a broken notebook) graded with --cluster and locally with
--jobs 2: identical reports. A worker killed while it grades: every submission still graded exactly once, the
one it held graded again elsewhere (and its report says so). --resume grades only what the journal lacks. A
worker with another kit refuses. A submission whose runs stopped two workers is not run a third time.
"""
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus import build
from conftest import ROOT
from grader.report.writers import JSON_KEYS as PUBLIC   # what the JSON report holds

PICKED = ("reference", "mutant_sigmoid_grad", "syntax_error_in_linear")
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, cwd=ROOT):
    """A process of the kit's .venv: it imports the installed kit (pyproject.toml), whatever its folder."""
    return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)   # its own process group: killed whole, nanny and worker


def kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


WORKER_ARGS = ("--nthreads", "1", "--host", "127.0.0.1", "--memory-limit", "0", "--no-dashboard")


def start_worker(address, name, cwd=ROOT):
    return start([str(BIN / "dask"), "worker", address, "--name", name, *WORKER_ARGS], cwd=cwd)


def grade(*argv, timeout=600):
    run = subprocess.run([sys.executable, "-m", "grader", *map(str, argv), "--fast", "--timeout", "10"], cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout)
    return run


def public(path):
    """The reports without what depends on the batch's secret inputs: a failed check's message shows the values
    drawn for it (each batch draws its own), so only its verdict and points are compared."""
    reports = [{k: r[k] for k in PUBLIC} for r in json.loads(Path(path).read_text())]
    for report in reports:
        report["checks"] = [{**c, "message": c["message"] if c["passed"] else "(failed)"} for c in report["checks"]]
    return reports


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    corpus = build(tmp_path_factory.mktemp("corpus"))
    return [corpus[name].path for name in PICKED]


@pytest.fixture(scope="module")
def loopback():
    """tcp://127.0.0.1:PORT of a scheduler with workers w1 and w2 (processes, torn down after the module)."""
    from distributed import Client
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = {"scheduler": start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                     address.rsplit(":", 1)[1], "--no-dashboard"])}
    try:
        for name in ("w1", "w2"):
            processes[name] = start_worker(address, name)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, processes
    finally:
        for process in processes.values():
            kill(process)


@pytest.fixture(scope="module")
def local(submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "grades.json"
    run = grade(*submissions, "--jobs", "2", "--json", out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def test_cluster_grades_exactly_as_local_grading(loopback, local, submissions, tmp_path):
    address, _ = loopback
    out = tmp_path / "grades.json"
    run = grade(*submissions, "--cluster", address, "--json", out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert public(out) == public(local)
    scores = [r["score"] for r in public(out)]
    assert scores[0] == public(out)[0]["max_score"] > scores[1] > 0 and scores[2] > 0   # a real batch, not zeros
    assert sum(line.startswith("[") for line in run.stdout.splitlines()) == len(submissions)
    journal = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert sorted(e["key"] for e in journal) == sorted(PICKED)


def test_resume_grades_only_what_the_journal_lacks(loopback, local, submissions, tmp_path):
    out = tmp_path / "grades.json"
    lines = local.with_suffix(".jsonl").read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["key"] != PICKED[2]]
    torn = lines[0][: len(lines[0]) // 2]      # a batch killed while writing its journal
    out.with_suffix(".jsonl").write_text("\n".join(kept + [torn]) + "\n")
    run = grade(*submissions, "--cluster", loopback[0], "--json", out, "--resume")   # the journal of a local run
    assert run.returncode == 0, run.stdout + run.stderr
    assert "--resume: 2 of 3 already graded" in run.stdout
    graded = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert len(graded) == 1 and str(submissions[2]) in graded[0], run.stdout
    assert public(out) == public(local)
    seeds = {json.loads(line)["seed"] for line in out.with_suffix(".jsonl").read_text().splitlines()[-1:] + kept}
    assert seeds == {json.loads(lines[0])["seed"]}   # the rest graded on the inputs of the batch it continues


def test_a_worker_with_another_kit_refuses(loopback, submissions, tmp_path):
    address, _ = loopback
    other = tmp_path / "other_kit"
    shutil.copytree(ROOT / "grader", other / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", other / "data", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("HW3_Modules.ipynb", "HW3_differentiation.ipynb", "HW3_main.ipynb", "requirements.txt"):
        shutil.copy(ROOT / name, other / name)
    with open(other / "grader" / "execution" / "session.py", "a") as f:
        f.write("\n# an older grader\n")
    from distributed import Client
    with Client(address, timeout="60s") as client:
        before = len(client.nthreads())
        # another checkout of the kit, run from its folder with `python -m` (its folder first on sys.path, so
        # its grader/ is imported before the installed kit's)
        stranger = start([sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", "stranger",
                          *WORKER_ARGS], cwd=other)
        try:
            client.wait_for_workers(before + 1, timeout=120)
            run = grade(submissions[0], "--cluster", address, "--json", tmp_path / "grades.json")
        finally:
            kill(stranger)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "refusing to grade" in run.stderr and "runs another kit" in run.stderr and str(other) in run.stderr
    assert "make setup" in run.stderr
    assert not any(line.startswith("[") for line in run.stdout.splitlines())   # refused before the batch:
    assert not (tmp_path / "grades.csv").exists()                             # no gradebook at all


def test_a_killed_worker_s_submission_is_graded_once_more_elsewhere(loopback, local, submissions, tmp_path):
    from distributed import Client
    from grader.execution.cluster import RETRIED, TOPIC
    address, processes = loopback
    out = tmp_path / "grades.json"
    since = time.time()
    batch = subprocess.Popen([sys.executable, "-m", "grader", *map(str, submissions), "--fast", "--timeout", "10",
                              "--cluster", address, "--json", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        with Client(address, timeout="60s") as client:
            w1 = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "w1")
            deadline = time.monotonic() + 300
            started = []
            while not started and time.monotonic() < deadline and batch.poll() is None:
                started = [m for t, m in client.get_events(TOPIC) if t >= since and m.get("worker") == w1]
                time.sleep(0.2)
            assert started, "w1 never started grading"
            time.sleep(1.5)                     # its kernel is running the notebook now
            kill(processes["w1"])
        stdout, stderr = batch.communicate(timeout=600)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 0, stdout + stderr
    reports = public(out)
    assert [r["submission"] for r in reports] == list(map(str, submissions))          # each exactly once
    journal = [json.loads(line)["key"] for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert sorted(journal) == sorted(PICKED)
    killed = int(started[0]["runs"].rsplit("-", 1)[1])
    note = RETRIED.format(first=w1)
    for i, (report, expected) in enumerate(zip(reports, public(local))):
        if i == killed:
            assert report["errors"] == expected["errors"] + [note]
            report["errors"] = expected["errors"]
        assert report == expected


def test_a_submission_that_stopped_two_workers_is_not_run_again(loopback, local, submissions):
    from distributed import Client, Variable
    from grader.execution import cluster
    from grader.intake.discover import discover
    from grader.options import Options
    address, _ = loopback
    options = Options(timeout=10, fast=True)
    with Client(address, timeout="60s") as client:
        runs = Variable("hw3-test-stopped-twice", client=client)
        runs.set(["tcp://10.1.1.1:1", "tcp://10.1.1.2:1"])      # two earlier runs whose workers died
        start_ = time.perf_counter()
        report = client.submit(cluster.grade_remote, cluster.pack(discover([submissions[0]])[0]), options, cluster.kit_fingerprint(),
                               "hw3-test-stopped-twice", pure=False).result(timeout=120)
        seconds = time.perf_counter() - start_
        assert len(runs.get()) == 3
        runs.delete()
    assert report["submission"] == str(submissions[0])
    assert report["graded"] is False and report["max_score"] == public(local)[0]["max_score"]
    assert len(report["errors"]) == 1 and "stopped two machines" in report["errors"][0]
    assert "tcp://10.1.1.1:1, tcp://10.1.1.2:1" in report["errors"][0]
    assert all("stopped two machines" in c["message"] for c in report["checks"])
    assert seconds < 30   # it was not graded


def readme_cluster_commands():
    """The commands of README.md's 'Grading on a cluster' steps 2-4, as written: (scheduler, worker, grade)."""
    section = (ROOT / "README.md").read_text().split("### Grading on a cluster", 1)[1].split("What the grader", 1)[0]
    blocks = [block.strip() for block in re.findall(r"```\n(.*?)```", section, re.S)]
    assert len(blocks) == 3, f"README's cluster recipe should have 3 commands, has {blocks}"
    return blocks


def test_the_readme_cluster_recipe_typed_as_written(submissions, local, tmp_path):
    """Steps 2-4 of the README's recipe run by a shell as a TA types them: the scheduler and the workers each from
    a folder of their own, no PYTHONPATH, the grading command from the folder holding `submissions/`. Changed:
    /path/to/kit, SCHEDULER and 8786 (the kit here, loopback, a free port), --nworkers (2: this machine's cores),
    and --host 127.0.0.1 so nothing listens beyond loopback. The reports are --jobs 2's."""
    scheduler_cmd, worker_cmd, grade_cmd = readme_cluster_commands()
    port = str(free_port())

    def literal(command):
        command = command.replace("/path/to/kit", str(ROOT)).replace("SCHEDULER", "127.0.0.1").replace("8786", port)
        assert "PYTHONPATH" not in command and "cd " not in command, command
        return command

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ta = tmp_path / "ta"
    for path in submissions:
        shutil.copytree(path, ta / "submissions" / Path(path).name)
    processes = []
    try:
        for name, command, extra in (("scheduler", scheduler_cmd, " --host 127.0.0.1"),
                                     ("workers", worker_cmd.replace("--nworkers 4", "--nworkers 2"), " --host 127.0.0.1")):
            (tmp_path / name).mkdir()
            processes.append(subprocess.Popen(["bash", "-c", literal(command) + extra], cwd=tmp_path / name, env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              start_new_session=True))
        from distributed import Client
        with Client(f"tcp://127.0.0.1:{port}", timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
        run = subprocess.run(["bash", "-c", literal(grade_cmd) + " --fast --timeout 10"], cwd=ta, env=env,
                             capture_output=True, text=True, timeout=600)
    finally:
        for process in processes:
            kill(process)
    assert run.returncode == 0, run.stdout + run.stderr
    here = {r["key"]: r for r in public(ta / "out" / "grades.json")}
    there = {r["key"]: r for r in public(local)}
    assert sorted(here) == sorted(there) == sorted(PICKED)
    for key in PICKED:
        assert here[key]["submission"] == f"submissions/{key}"
        assert {**here[key], "submission": None} == {**there[key], "submission": None}, key


# A scheduler from another environment, which cannot import the kit: the kit's Python with the finder of its
# editable install taken out, started in a folder without grader/.
SCHEDULER_WITHOUT_THE_KIT = ("import sys\n"
                             "sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in getattr(f, '__name__', '')]\n"
                             "from distributed.cli.dask_scheduler import main\n"
                             "main()\n")


def test_a_cluster_that_cannot_load_the_grader_writes_no_grade_and_stops(submissions, tmp_path):
    """The issue's TA: every task fails to load on the scheduler. Two submissions: both reported not graded with
    what to do, the CSV says so, Canvas gets empty grades, exit status 3. Four: the grader stops after the first
    three with what to fix (exit status 2), never grading the fourth into a gradebook."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(submissions[0], tmp_path / "fourth")
    processes = [start([sys.executable, "-c", SCHEDULER_WITHOUT_THE_KIT, "--host", "127.0.0.1", "--port", str(port),
                        "--no-dashboard"], cwd=elsewhere)]
    try:
        processes.append(start_worker(address, "w1", cwd=elsewhere))
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        two = grade(*submissions[:2], "--cluster", address, "--json", tmp_path / "two" / "grades.json", "--lms", "canvas")
        four = grade(*submissions, tmp_path / "fourth", "--cluster", address, "--json", tmp_path / "four" / "grades.json")
    finally:
        for process in processes:
            kill(process)
    assert two.returncode == 3, two.stdout + two.stderr
    reports = json.loads((tmp_path / "two" / "grades.json").read_text())
    assert [r["graded"] for r in reports] == [False, False]
    assert all("could not load the grader" in r["errors"][0] and "make setup" in r["errors"][0] for r in reports)
    assert "NOT GRADED (2" in two.stdout and "0 submission(s) graded, 2 NOT GRADED" in two.stdout
    kit = list(csv.DictReader(open(tmp_path / "two" / "grades.csv", encoding="utf-8")))
    assert [row["score"] for row in kit] == ["not graded", "not graded"]
    canvas = list(csv.reader(open(tmp_path / "two" / "grades_canvas.csv", encoding="utf-8")))
    assert [row[5] for row in canvas[2:]] == ["", ""]
    assert four.returncode == 2, four.stdout + four.stderr
    assert "stopped after the first 3 submissions" in four.stderr and "could not load the grader" in four.stderr
    written = json.loads((tmp_path / "four" / "grades.json").read_text())
    assert len(written) == 3 and not any(r["graded"] for r in written)


def test_a_local_cluster_listens_on_loopback_only():
    """--jobs N starts a LocalCluster: its scheduler, nannies, workers and their HTTP servers (dashboard, health)
    listen on 127.0.0.1 only; ':0' listened on every interface, showing the batch's tasks to the network."""
    import psutil
    from grader.execution.cluster import connect
    with connect(None, jobs=1) as client:
        pids = {os.getpid(), *client.run(os.getpid).values()}
        pids |= {nanny.process.pid for nanny in client.cluster.workers.values()}
        listening = [(pid, c.laddr.ip) for pid in pids for c in psutil.Process(pid).net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN]
        assert len(listening) >= 3, listening          # the scheduler, its HTTP server, a worker at least
        assert [(pid, ip) for pid, ip in listening if ip != "127.0.0.1"] == []
