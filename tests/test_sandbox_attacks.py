"""Submissions that attack the grader from their first code cell, graded in one batch beside an honest one.

The grader runs from a copy of the kit (its cwd, as an instructor runs it), with a secret in its
environment, ``--json`` to a report, two jobs. Each attacker is the attacking cell plus a couple of the
reference's modules; the honest submission is the reference (full marks alone, see test_grader_corpus).
Every attack must be contained:

* planting code in the kit (walks /proc for the grader's folder, tries the kit found from sys.executable);
* outliving grading (a double-forked daemon in a new session that rewrites the --json report);
* snooping (another submission, the kit's reference notebook, the grader's environment), quoted in an error;
* a fork bomb (children until fork fails: the process limit must stop it well before the machine's);
* a network connection to 127.0.0.1 on a port this test listens on;
* raising the memory limit from inside, then allocating 8 GiB;
* writing outside its copy (the kit's notebook, the virtual environment, another submission, /tmp).

Runs in about a minute (--fast: modules and differentiation only).
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, processes_with

TOKEN = "hw3-attack-" + uuid.uuid4().hex[:12]
SECRET_NAME, SECRET = "HW3_GRADER_SECRET", "s3cret-" + uuid.uuid4().hex
MODULES, DIFF = "HW3_Modules.ipynb", "HW3_differentiation.ipynb"
KEEP = ("import numpy", "class Module(", "def check_input(", "class ReLU(")   # a couple of modules

PLANT = '''
import os, sys
planted = []
kit = os.path.dirname(os.path.dirname(os.path.dirname(sys.executable)))
targets = [os.path.join('/proc', p, 'cwd', 'grader', '__init__.py') for p in os.listdir('/proc') if p.isdigit()]
targets += [os.path.join(kit, 'grader', '__init__.py'), os.path.join({kit_copy!r}, 'grader', '__init__.py'),
            'grader/__init__.py', 'grader/selfcheck/__init__.py']
for target in targets:
    try:
        with open(target, 'a') as f:
            f.write('\\nPLANTED = ' + {token!r} + '\\n')
        planted.append(target)
    except OSError:
        pass
raise RuntimeError('PLANT ' + repr(planted))
'''

OUTLIVE = '''
import os, sys, time
report = {report!r}
for p in os.listdir('/proc'):   # as in the issue: the --json path from the grader's command line
    try:
        args = open(f'/proc/{{p}}/cmdline').read().split('\\0')
        report = args[args.index('--json') + 1]
    except (OSError, ValueError, IndexError):
        pass
daemon = """
import json, sys, time
end = time.time() + 60
while time.time() < end:
    try:
        data = json.load(open(sys.argv[1]))
        for r in data:
            r['score'] = r['max_score']
        open(sys.argv[1], 'w').write(json.dumps(data))
    except Exception:
        pass
    time.sleep(0.2)
"""
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', daemon, report, {token!r}])
    os._exit(0)
time.sleep(0.5)
'''

SNOOP = '''
import glob, os
found = []
for path in [{honest!r} + '/' + {modules!r}, {kit_copy!r} + '/' + {modules!r}, {root!r} + '/' + {modules!r}]:
    try:
        text = open(path).read()
        found.append(text[text.find('BEGIN SOLUTION'):][:80])
    except OSError:
        pass
for path in glob.glob('/proc/*/environ') + ['/proc/self/environ']:
    try:
        env = open(path, 'rb').read().decode(errors='replace')
    except OSError:
        continue
    found += [item for item in env.split('\\0') if 'SECRET' in item]
found += [f'{{k}}={{v}}' for k, v in os.environ.items() if 'SECRET' in k]
found += [p for p in glob.glob('/tmp/hw3-grade-*/submission/*.ipynb') if not p.startswith(os.getcwd())]   # others'
raise RuntimeError('SNOOP ' + repr(found))
'''

FORK_BOMB = '''
import os
children = 0
try:
    while children < 3000:   # a bound of our own, far above the sandbox's, so a failed test spares the machine
        if os.fork() == 0:
            os.execv('/bin/sh', ['sh', '-c', 'sleep 120; :', {token!r}])
        children += 1
except OSError as exc:
    raise RuntimeError(f'FORKBOMB stopped after {{children}}: {{exc}}')
raise RuntimeError(f'FORKBOMB unbounded: {{children}}')
'''

NETWORK = '''
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'LEAK')
    result = 'connected'
except OSError as exc:
    result = type(exc).__name__
raise RuntimeError('NETWORK ' + result)
'''

MEMORY = '''
import resource
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    limit = 'raised'
except (ValueError, OSError):
    limit = 'refused'
try:
    block = bytearray(8 * 2 ** 30)
    got = 'allocated'
    del block
except MemoryError:
    got = 'MemoryError'
raise RuntimeError(f'MEMORY limit {{limit}}, 8 GiB {{got}}')
'''

WRITE = '''
written = []
for target in {targets!r}:
    try:
        with open(target, 'a') as f:
            f.write('# {token}\\n')
        written.append(target)
    except OSError:
        pass
raise RuntimeError('WRITE ' + repr(written))
'''


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nb


def _attacker(folder, attack):
    reference = nbformat.read(ROOT / MODULES, as_version=4)
    kept = [c.source for c in reference.cells if c.cell_type == "code" and c.source.lstrip().startswith(KEEP)]
    folder.mkdir()
    nbformat.write(_notebook([kept[0], attack] + kept[1:]), folder / MODULES)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grades the batch; yields (reports by name, report path, facts gathered around the run)."""
    tmp = tmp_path_factory.mktemp("attacks")
    kit = tmp / "kit"
    shutil.copytree(ROOT / "grader", kit / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    (kit / "data").symlink_to(ROOT / "data")
    for name in (MODULES, DIFF):
        shutil.copy2(ROOT / name, kit / name)
    honest = tmp / "honest"
    honest.mkdir()
    for name in (MODULES, DIFF):
        shutil.copy2(ROOT / name, honest / name)
    report = tmp / "out" / "report.json"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    sitecustomize = Path(sysconfig.get_paths()["purelib"]) / "sitecustomize.py"
    host_tmp = Path("/tmp") / f"{TOKEN}-escape"
    protected = [ROOT / MODULES, ROOT / "grader" / "__init__.py", kit / MODULES, kit / "grader" / "__init__.py",
                 honest / MODULES, sitecustomize]
    before = {path: (path.read_bytes() if path.exists() else None) for path in protected}
    fields = dict(kit_copy=str(kit), token=TOKEN, report=str(report), honest=str(honest), modules=MODULES,
                  root=str(ROOT), port=port,
                  targets=[str(ROOT / MODULES), str(kit / MODULES), str(honest / MODULES), str(sitecustomize),
                           str(host_tmp), "/usr/lib/" + TOKEN])
    attacks = {"plant": PLANT, "outlive": OUTLIVE, "snoop": SNOOP, "fork_bomb": FORK_BOMB, "network": NETWORK,
               "memory": MEMORY, "write": WRITE}
    for name, template in attacks.items():
        _attacker(tmp / name, template.format(**fields))
    names = ["honest"] + list(attacks)
    env = dict(os.environ, **{SECRET_NAME: SECRET})
    try:
        done = subprocess.run([sys.executable, "-m", "grader", *[str(tmp / n) for n in names], "--fast",
                               "--jobs", "2", "--timeout", "30", "--json", str(report)],
                              cwd=kit, env=env, capture_output=True, text=True, timeout=600)
        time.sleep(2)   # what outlives the grader would act now
        stop.set()
        facts = {"stdout": done.stdout + done.stderr, "returncode": done.returncode, "accepted": accepted,
                 "changed": [str(p) for p in protected if (p.read_bytes() if p.exists() else None) != before[p]],
                 "host_tmp": host_tmp.exists(), "host_tmp_path": host_tmp, "report_text": report.read_text() if report.exists() else "",
                 "survivors": processes_with(TOKEN)}
        reports = {r["submission"].rsplit("/", 1)[-1]: r for r in json.loads(facts["report_text"] or "[]")}
        yield reports, report, facts
    finally:
        for path, content in before.items():   # a failed containment must not leave the repository damaged
            if content is None:
                path.unlink(missing_ok=True)
            elif path.read_bytes() != content:
                path.write_bytes(content)
        host_tmp.unlink(missing_ok=True)
        listener.close()


def _attack_message(result, word):
    lines = [e for e in result["errors"] if word in e]
    assert lines, f"the {word} cell's outcome is missing from {result['errors']}"
    return lines[0]


def test_the_batch_is_graded_and_the_honest_submission_gets_full_marks(batch):
    reports, _, facts = batch
    assert facts["returncode"] == 0, facts["stdout"]
    assert set(reports) == {"honest", "plant", "outlive", "snoop", "fork_bomb", "network", "memory", "write"}
    honest = reports["honest"]
    assert honest["score"] == honest["max_score"] == 207, honest["errors"]
    assert all(r["sandbox"] is True for r in reports.values())


def test_planting_code_in_the_kit_is_contained(batch):
    reports, _, facts = batch
    assert _attack_message(reports["plant"], "PLANT").endswith("PLANT []")
    assert not [p for p in facts["changed"] if "grader" in p]


def test_nothing_outlives_grading(batch):
    reports, report, facts = batch
    assert facts["survivors"] == []
    assert json.loads(facts["report_text"]) == json.loads(report.read_text())   # untouched after the grader
    outlive = reports["outlive"]
    assert outlive["score"] < outlive["max_score"]


def test_snooping_finds_nothing_to_quote(batch):
    reports, report, facts = batch
    assert _attack_message(reports["snoop"], "SNOOP").endswith("SNOOP []")
    everything = facts["report_text"] + "".join(p.read_text() for p in report.parent.rglob("*.md"))
    assert SECRET not in everything and "BEGIN SOLUTION" not in everything


def test_a_fork_bomb_stops_at_the_process_limit(batch):
    reports, _, facts = batch
    message = _attack_message(reports["fork_bomb"], "FORKBOMB")
    assert "stopped after" in message, message
    assert int(message.split("stopped after ")[1].split(":")[0]) < 300
    assert facts["survivors"] == []


def test_no_network(batch):
    reports, _, facts = batch
    assert "NETWORK connected" not in _attack_message(reports["network"], "NETWORK")
    assert facts["accepted"] == []


def test_the_memory_limit_cannot_be_raised_from_inside(batch):
    reports, _, _ = batch
    assert "MEMORY limit refused, 8 GiB MemoryError" in _attack_message(reports["memory"], "MEMORY")


def test_nothing_is_written_outside_the_copy(batch):
    reports, _, facts = batch
    # only its private /tmp took the write (gone with the sandbox): not the host's
    assert _attack_message(reports["write"], "WRITE").endswith(f"WRITE [{str(facts['host_tmp_path'])!r}]")
    assert facts["changed"] == [] and not facts["host_tmp"]
