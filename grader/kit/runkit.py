"""``make run``: execute the kit's notebooks end to end, in order, into ``build/``.

    python -m grader run HW3_Modules.ipynb HW3_differentiation.ipynb HW3_main.ipynb

Each notebook runs in a fresh Jupyter kernel of this Python (nbclient) with the repository as its
working directory; the executed copy, with its outputs, is written to ``build/<name>.ipynb`` and the
committed notebook stays clean. One line of progress per code cell goes to the terminal, and a cell that
runs longer than a few seconds also echoes what it prints (the notebooks' per-epoch progress lines). The exit
status is non-zero if any cell fails; the executed copy then shows the error in place.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from grader import KIT_ROOT

ECHO_AFTER = 5.0  # seconds: a cell running longer than this echoes its printed text (e.g. per-epoch progress)


class EchoingClient(NotebookClient):
    """A NotebookClient that also prints, indented, what a long-running cell prints (its stdout).

    Short cells stay quiet; once a cell has run for ECHO_AFTER seconds, its text so far and everything it
    prints afterwards go to the terminal, so a ten-minute training cell shows its progress.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cell_start, self._pending = time.perf_counter(), []

    def reset_echo(self):
        self._cell_start, self._pending = time.perf_counter(), []

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout":
            self._pending.append(msg["content"].get("text", ""))
            if time.perf_counter() - self._cell_start > ECHO_AFTER:
                text = "".join(self._pending)
                self._pending = []
                print("".join(f"      | {line}\n" for line in text.splitlines()), end="", flush=True)
        return super().output(outs, msg, display_id, cell_index)


def execute(path, out_dir, timeout=None):
    """Execute one notebook; write the executed copy to out_dir; return (ok, seconds)."""
    nb = nbformat.read(str(path), as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    start = time.perf_counter()
    done = {"cells": 0, "last": start}

    def on_cell_executed(cell, cell_index, execute_reply):
        if cell.cell_type != "code":
            return
        done["cells"] += 1
        now = time.perf_counter()
        first_line = (cell.source.strip().splitlines() or [""])[0][:60]
        print(f"  {path.name}: cell {done['cells']:>3}/{n_code} {now - done['last']:6.1f} s  {first_line}", flush=True)
        done["last"] = now

    client = EchoingClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(KIT_ROOT)}},
                           on_cell_executed=on_cell_executed, on_cell_start=lambda **_: client.reset_echo())
    ok = True
    try:
        client.execute()
    except CellExecutionError as exc:
        ok = False
        print(f"error in {path.name}:\n{exc}", file=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out_dir / path.name))
    return ok, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader run", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "build", help="folder for the executed copies")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    args = parser.parse_args(argv)
    mode = "fast" if os.environ.get("HW3_FAST", "0") not in ("", "0") else "full"
    print(f"Executing {len(args.notebooks)} notebooks in {mode} mode into {args.out}/", flush=True)
    failed = []
    total = time.perf_counter()
    for path in args.notebooks:
        ok, seconds = execute(path.resolve(), args.out, args.timeout)
        print(f"{path.name}: {'done' if ok else 'FAILED'} in {seconds:.0f} s -> {args.out / path.name}", flush=True)
        if not ok:
            failed.append(path.name)
    print(f"All notebooks: {time.perf_counter() - total:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
