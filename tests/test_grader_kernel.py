"""The grader's kernel session (grader/execution/kernel.py): one bad cell costs that cell, and the kernel goes on.

One kernel (the sandbox's, as when grading) runs a sequence of cells that real notebooks contain: quit() and
exit(), sys.exit(), input(), a front-end-only matplotlib backend, an output flood, an endless loop, and a
crash; after each, what the earlier cells defined is still there.
"""
import pytest

from grader.execution.kernel import KernelSession

LIMIT = 10  # seconds per cell


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with KernelSession(tmp_path_factory.mktemp("kernel"), timeout=LIMIT, output_limit=10_000) as session:
        assert session.run("x = 41", keep=True).ok
        yield session


def still_there(kernel):
    result = kernel.run("print(x + 1)")
    return result.ok and result.outputs[0]["text"].strip() == "42"


@pytest.mark.parametrize("source", ["quit()", "exit()", "print('bye')\nquit()"])
def test_quit_and_exit_do_not_end_the_kernel_and_are_never_replayed(kernel, source):
    result = kernel.run(source, keep=True)
    assert result.status == "exit" and "quit() or exit()" in result.describe()
    assert source not in kernel.replay
    assert kernel.alive() and still_there(kernel)


def test_sys_exit_is_an_error_of_its_cell(kernel):
    result = kernel.run("import sys\nsys.exit('stop here')", keep=True)
    assert result.status == "error" and result.ename == "SystemExit"
    assert still_there(kernel)


def test_input_fails_at_once(kernel):
    result = kernel.run("n = input('size? ')")
    assert result.status == "error" and "Stdin" in result.ename and result.seconds < LIMIT
    assert still_there(kernel)


def test_front_end_backends_fall_back_to_inline_with_a_note(kernel):
    result = kernel.run("%matplotlib widget\nimport matplotlib\nprint(matplotlib.get_backend())")
    assert result.ok, result.outputs
    text = "".join(o.get("text", "") for o in result.outputs)
    assert "note: %matplotlib widget needs a notebook front-end" in text and "inline" in text


def test_an_output_flood_is_capped_and_drained_within_the_cell_limit(kernel):
    result = kernel.run("for i in range(50_000):\n    print('flood', i)\nprint('the end')")
    assert result.ok and result.seconds < LIMIT + 5
    text = "".join(o.get("text", "") for o in result.outputs)
    assert len(text) < 11_000 and result.dropped > 300_000
    assert "characters of output dropped" in text
    assert still_there(kernel)


def test_an_endless_loop_is_interrupted_at_the_limit(kernel):
    result = kernel.run("while True:\n    pass", keep=True)
    assert result.status == "timeout" and result.seconds < LIMIT + 6
    assert still_there(kernel)


def test_a_crash_restarts_the_kernel_with_the_earlier_cells_restored(kernel):
    restarts = kernel.restarts
    result = kernel.run("import os\nos._exit(3)", keep=True)
    assert result.status == "dead"
    assert kernel.restarts == restarts + 1
    assert still_there(kernel)   # x = 41 was replayed, the crashing cell was not


STUBBORN = """import os, signal, time
if os.path.exists("ran-once"):   # replayed after a restart: this time it ignores the interrupt
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        time.sleep(0.1)
open("ran-once", "w").close()
"""


def test_a_replayed_cell_that_ignores_the_interrupt_is_dropped_and_the_kernel_goes_on(tmp_path):
    # A kept cell that ignores the interrupt only when replayed, then a cell that kills the kernel: the replay
    # after the restart gets stuck in the first one. It must leave the replay list and the kernel be restarted
    # without it, so that an ordinary cell after that runs at once (before: it stayed, and every later cell
    # timed out behind it and restarted the kernel again).
    with KernelSession(tmp_path, timeout=3) as session:
        assert session.run("x = 41", keep=True).ok
        assert session.run(STUBBORN, keep=True).ok
        killed = session.run("import os\nos._exit(1)", keep=True)
        assert killed.status == "dead"
        assert STUBBORN not in session.replay and "x = 41" in session.replay
        after = session.run("print(x + 1)")
        assert after.ok and after.outputs[0]["text"].strip() == "42" and after.seconds < 3
        assert session.restarts == 1


SEND = ("_dp = get_ipython().display_pub\n"
        "def _send(kind, content):\n"
        "    _dp.session.send(_dp.pub_socket, kind, content, parent=_dp.parent_header)\n")


def test_a_metadata_flood_counts_against_the_output_cap(kernel):
    """Displays of empty data with 2 MB of metadata each: counted by their data alone they were all kept (40 of
    20 MB: 800 MB in the grader's memory from one cell)."""
    result = kernel.run("from IPython.display import publish_display_data\n_big = 'm' * 2 ** 21\n"
                        "for _ in range(20):\n    publish_display_data({'text/plain': ''}, metadata={'m': _big})")
    assert result.ok, result.describe()
    assert sum(len(str(o.get("metadata", ""))) for o in result.outputs) <= 10_000
    assert result.dropped >= 20 * 2 ** 21 - 10_000
    assert still_there(kernel)


def test_an_error_text_flood_counts_against_the_output_cap(kernel):
    """Error messages sent by the cell's own code (IPython's _showtraceback) with 2 MB in evalue: only the
    traceback was counted."""
    result = kernel.run("for _ in range(20):\n    get_ipython()._showtraceback(ValueError, 'e' * 2 ** 21, [])")
    kept = sum(len(o.get("evalue", "")) + len(o.get("ename", "")) for o in result.outputs)
    assert kept <= 10_000 and result.dropped >= 20 * 2 ** 21 - 10_000
    assert still_there(kernel)


def test_malformed_output_messages_are_dropped_never_an_error_in_the_grader(kernel):
    """Messages of the output types with fields not of the protocol's types (a stream's text a number, a display's
    data a string, an error's traceback a number) raised TypeError or AttributeError in the grader's own process:
    in a module's check, the whole submission was 'not graded'."""
    result = kernel.run(SEND + "_send('stream', {'name': 'stdout', 'text': 5})\n"
                               "_send('display_data', {'data': 'text/plain'})\n"
                               "_send('execute_result', {'data': {'text/plain': 'x'}, 'metadata': [1]})\n"
                               "_send('error', {'ename': 1, 'evalue': 'x', 'traceback': 5})\n"
                               "_dp.session.send(_dp.pub_socket, 'stream', 'not JSON', parent=_dp.parent_header)\n"
                               "print('the end')")
    assert result.ok, result.describe()
    [printed, note] = result.outputs
    assert printed["text"] == "the end\n" and "characters of output dropped" in note["text"] and result.dropped > 0
    assert still_there(kernel)


def test_probe_typed_output_of_a_notebook_cell_counts_against_the_ordinary_cap(kernel):
    """Output of the probe's type has a cap of its own (16 MiB) only in the grader's own requests: in a notebook's
    cell it had it too, and the cells of a long notebook kept 16 MiB each (100 cells: 1.8 GB in the grader)."""
    from grader.execution.probe import MIME
    result = kernel.run("from IPython.display import publish_display_data\n"
                        f"for _ in range(8):\n    publish_display_data({{{MIME!r}: 'p' * 2 ** 20}})")
    assert result.ok, result.describe()
    assert sum(len(str(o.get("data", ""))) for o in result.outputs) <= 10_000
    assert result.dropped >= 8 * 2 ** 20 - 10_000
    assert still_there(kernel)


def test_a_flood_of_empty_displays_counts_against_the_output_cap(kernel):
    """publish_display_data({}) in a loop: each counted 0 characters and all were kept (4,400 a second; a cell of
    the main notebook's 900 s: gigabytes of empty outputs in the grader)."""
    from grader.execution.iopub import OVERHEAD
    result = kernel.run("from IPython.display import publish_display_data\n"
                        "for _ in range(5000):\n    publish_display_data({})")
    assert result.ok, result.describe()
    # (ZeroMQ's queue also drops some of such a burst before the grader reads them: those are not counted)
    assert len(result.outputs) <= 10_000 // OVERHEAD + 2 and result.dropped >= 10_000
    assert still_there(kernel)


def _rss_mib():
    import os
    with open(f"/proc/{os.getpid()}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024


def test_a_flood_sent_between_cells_waits_in_a_short_queue(tmp_path):
    """A thread of the notebook that sends large outputs after its cell has ended (under another request's header):
    nothing reads them until the next cell, and ZeroMQ queued 1,000 messages a channel (100 of 15 MB: 1.5 GB in the
    grader's memory; of 64 MB, 64 GB). At most RECEIVE_QUEUE wait now (40 of 15 MB: 600 MB before); the next cell
    runs as usual once the backlog is read. (A kernel of its own, with a cell limit that lets a loaded machine read
    the backlog: within the shared kernel's 10 s it failed under make test's load.)"""
    import time
    from grader.execution.kernel import RECEIVE_QUEUE
    size = 15 * 2 ** 20
    with KernelSession(tmp_path, timeout=120, output_limit=10_000) as kernel:
        assert kernel.run("x = 41", keep=True).ok
        before = _rss_mib()
        started = kernel.run("import threading\n_dp = get_ipython().display_pub\n_big = 'f' * " + str(size) + "\n"
                             "def _flood():\n"
                             "    for _ in range(40):\n"
                             "        _dp.session.send(_dp.pub_socket, 'display_data', {'data': {'text/plain': _big}},\n"
                             "                         parent={'msg_id': 'no request'})\n"
                             "_flooding = threading.Thread(target=_flood, daemon=True)\n_flooding.start()")
        assert started.ok, started.describe()
        time.sleep(10)
        assert _rss_mib() - before < (RECEIVE_QUEUE + 8) * size / 2 ** 20 < 40 * size / 2 ** 20 / 2
        assert kernel.run("_flooding.join()").ok   # the backlog is read (and dropped) while this cell runs
        assert still_there(kernel)
