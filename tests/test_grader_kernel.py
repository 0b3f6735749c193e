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
