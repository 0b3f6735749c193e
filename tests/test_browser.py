"""The kit as a student uses it: JupyterLab in a real (headless) Chromium runs the notebooks.

nbval proves the kernel side; this proves what a student sees. A JupyterLab server from the kit's
environment serves a throw-away copy of the repository (fast mode on, HW3_FAST=1), Chromium opens
each notebook, runs it from the menu (Run > Run All Cells), waits for the kernel to go idle, and
then reads the rendered page:

- HW3_Modules.ipynb: every cell ran, no cell shows an error, and every self-check cell shows one
  rendered table (HTML), every row "ok" on green, ending in "... points. All checks passed.", and
  no result echoed under it;
- HW3_main.ipynb: every cell ran, no cell shows an error, the progress bars rendered as ipywidgets
  (not "Loading widget...", "Error displaying widget" or a widget's text repr), the plots are
  images, and the interactive view answers one input: ArrowRight on its IntSlider "image" moves it
  one step and the figure below it is redrawn.

Screenshots go to build/test/browser/ (and <test>-failure.png when a check fails); the server's log to
build/test/browser/jupyter-server.log. The server is shut down, kernels included, whatever happens.

Needs Debian's Chromium and the Playwright driver; both are installed on first use (see
tests/browser/chromium.py). When they cannot be installed the tests are skipped, saying why.
"""
import re
import shutil
import warnings

import nbformat
import pytest

from conftest import ROOT
from browser.chromium import LAUNCH_ARGS, Unavailable, ensure_chromium, ensure_playwright
from browser.lab import JupyterLab
from browser.notebook_page import (TRACEBACK, WIDGET_AS_TEXT, WIDGET_FAILURES, NotebookPage,
                                   Slider)

MODULES, MAIN = "HW3_Modules.ipynb", "HW3_main.ipynb"
RUN_TIMEOUT = {MODULES: 300, MAIN: 420}  # seconds for Run All; the main one takes ~3 min (fast)
SLIDER = "image"  # description of the interactive view's IntSlider in HW3_main.ipynb
VIEWPORT = {"width": 1400, "height": 1000}
OK_BACKGROUND = "rgb(230, 244, 234)"  # display.GREEN (#e6f4ea), as the browser computes it


REPO = ROOT
SHOTS = REPO / "build" / "test" / "browser"   # apart from make run's results in build/


# -- fixtures: driver, server, browser, page -------------------------------------------------------

@pytest.fixture(scope="module")
def driver():
    """(playwright.sync_api, path of Chromium), installed when missing; a skip if impossible."""
    try:
        return ensure_playwright(), ensure_chromium()
    except Unavailable as exc:
        pytest.skip(f"no browser for the JupyterLab test: {exc}")


@pytest.fixture(scope="module")
def lab(driver, tmp_path_factory):
    """A JupyterLab server on a copy of the kit; shut down (kernels too) even when a test fails."""
    shutil.rmtree(SHOTS, ignore_errors=True)  # no stale screenshots from an earlier run
    with JupyterLab(REPO, tmp_path_factory.mktemp("lab"), SHOTS / "jupyter-server.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(driver):
    sync_api, chromium = driver
    with sync_api.sync_playwright() as playwright:
        # launch() gives Chromium a fresh, empty profile of its own (a temporary user-data-dir).
        browser = playwright.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; on a failed check, a screenshot of it as <test>-failure.png."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    failed_before = request.session.testsfailed
    try:
        yield tab
    finally:
        if request.session.testsfailed > failed_before:  # the call phase failed (or the set-up)
            _screenshot(tab, SHOTS / f"{request.node.name}-failure.png", first_error=True)
        context.close()


def _screenshot(tab, path, first_error=False):
    try:
        if first_error:  # scrolled to the first stderr output (a traceback), if any
            shown = tab.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
            if shown.count():
                shown.first.scroll_into_view_if_needed(timeout=5000)
        path.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(path))
    except Exception as exc:  # a screenshot must never hide the real failure
        warnings.warn(f"could not save {path}: {exc}")


# -- what is checked on every notebook -------------------------------------------------------------

def run_notebook(tab, lab, name):
    """Opens `name`, Run > Run All Cells, waits for idle, saves; returns (page, snapshot, saved)."""
    notebook = NotebookPage(tab, lab, name)
    notebook.open()
    notebook.run_all(RUN_TIMEOUT[name])
    notebook.save()
    saved = nbformat.read(lab.kit / name, as_version=4)
    # JupyterLab attaches a long notebook's cells to the page a batch at a time, after the first paint: on a busy
    # machine the last ones can still be missing when the run ends (73 of 75 seen once), so wait for all of them
    snapshot = notebook.wait_for(lambda s: len(s["cells"]) >= len(saved.cells), 60, "every cell to be on the page")
    assert len(saved.cells) == len(snapshot["cells"]), (
        f"{name}: the page shows {len(snapshot['cells'])} cells, the saved file has "
        f"{len(saved.cells)}; the DOM-to-cell mapping of this test is off")
    return notebook, snapshot, saved


def cell_name(saved, index):
    cell = saved.cells[index]
    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"cell {index} (id {cell.get('id')}: {first_line[:60]!r})"


def assert_no_errors(name, snapshot, saved):
    """No error output in any cell: in the saved file (exact) nor on screen (incl. widget outputs)."""
    errors = [f"{cell_name(saved, i)}: {out.ename}: {out.evalue}"
              for i, cell in enumerate(saved.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    for cell in snapshot["cells"]:
        for out in cell["outputs"]:
            if out["mime"] == "application/vnd.jupyter.stderr":
                if TRACEBACK.search(out["text"]):
                    last = out["text"].strip().splitlines()[-1]
                    errors.append(f"{cell_name(saved, cell['index'])} shows a traceback: {last}")
                else:  # a warning: shown to the student, so worth reading, but not an error
                    warnings.warn(f"{name} {cell_name(saved, cell['index'])} prints on stderr: "
                                  f"{out['text'].strip()[:300]}")
            for failure in WIDGET_FAILURES:
                if failure in out["text"]:
                    errors.append(f"{cell_name(saved, cell['index'])} shows {failure!r}")
            if out["mime"] == "text/plain" and WIDGET_AS_TEXT.search(out["text"]):
                errors.append(f"{cell_name(saved, cell['index'])} shows a widget as text: "
                              f"{out['text'].strip()[:100]} (is the widget extension loaded?)")
    if errors:
        pytest.fail(f"{name} run in JupyterLab shows errors:\n" + "\n".join(errors))


def assert_all_ran(name, snapshot, saved):
    """Every code cell shows an execution count: Run All reached the end."""
    not_run = [f"{cell_name(saved, c['index'])} prompt {c['prompt'].strip()!r}"
               for c in snapshot["cells"]
               if c["code"] and not re.fullmatch(r"\[\d+\]:", c["prompt"].strip())]
    if not_run:
        pytest.fail(f"{name}: Run All Cells stopped before these cells ran (see the first error "
                    "above them):\n" + "\n".join(not_run))


# -- the tests -------------------------------------------------------------------------------------

def test_modules_notebook_runs_in_jupyterlab(page, lab):
    notebook, snapshot, saved = run_notebook(page, lab, MODULES)
    notebook.screenshot(SHOTS / "modules-1-after-run-all.png")
    assert_no_errors(MODULES, snapshot, saved)
    assert_all_ran(MODULES, snapshot, saved)

    checks = [i for i, cell in enumerate(saved.cells) if "selfcheck" in cell.metadata.get("tags", [])]
    assert checks, f"{MODULES}: no cell is tagged 'selfcheck'"
    notebook.screenshot(SHOTS / "modules-2-first-check.png", cell=checks[0], inner=".jp-OutputArea")
    notebook.screenshot(SHOTS / "modules-3-check-all.png", cell=checks[-1], inner=".jp-OutputArea")
    bad = []
    for index in checks:
        tables = [out for out in snapshot["cells"][index]["outputs"] if out["mime"] == "text/html"]
        rows = [row for out in tables for row in out["checkRows"]]
        verdict = " ".join(out["checkVerdict"] for out in tables)
        echoed = [out["text"] for out in snapshot["cells"][index]["outputs"] if out["mime"] == "text/plain"]
        if (len(tables) != 1 or not rows or not verdict.endswith("All checks passed.") or echoed
                or not all(row["status"] == "ok" and row["background"] == OK_BACKGROUND for row in rows)):
            bad.append(f"{cell_name(saved, index)} shows {len(tables)} tables, rows {rows}, verdict {verdict!r}, "
                       f"echoed {echoed}")
    if bad:
        pytest.fail(f"{MODULES}: a self-check table is missing, not all 'ok' on green, or echoes a result:\n"
                    + "\n".join(bad))


def test_main_notebook_runs_in_jupyterlab(page, lab):
    notebook, snapshot, saved = run_notebook(page, lab, MAIN)
    notebook.screenshot(SHOTS / "main-1-after-run-all.png")
    assert_no_errors(MAIN, snapshot, saved)
    assert_all_ran(MAIN, snapshot, saved)

    # Progress bars: ipywidgets rendered as widgets (seen while the cells ran, or still shown).
    with_progress = [c["index"] for c in snapshot["cells"] if c["progress"]]
    if with_progress:
        notebook.screenshot(SHOTS / "main-2-progress.png", cell=with_progress[0],
                            inner=".widget-hprogress")
    assert notebook.progress_seen, (
        f"{MAIN}: no ipywidgets progress bar (.widget-hprogress) appeared while the notebook ran "
        "in JupyterLab; long loops must show FloatProgress/IntProgress in a notebook front-end")
    unlabelled = [cell_name(saved, i) for i in with_progress
                  if not all(snapshot["cells"][i]["progressLabels"])]
    assert not unlabelled, f"{MAIN}: progress bars without a label in: {unlabelled}"

    # Plots: PNG images that the browser decoded (not "<Figure size ...>" text).
    images = [(c["index"], img) for c in snapshot["cells"] for out in c["outputs"]
              if out["mime"] == "image/png" for img in out["images"]]
    assert images, f"{MAIN}: no plot is displayed as an image"
    broken = [cell_name(saved, i) for i, img in images
              if not img["src"].startswith("data:image/png") or img["width"] == 0]
    assert not broken, f"{MAIN}: images that did not load in: {broken}"
    as_text = [cell_name(saved, c["index"]) for c in snapshot["cells"] for out in c["outputs"]
               if out["mime"] == "text/plain" and out["text"].startswith("<Figure size")]
    assert not as_text, f"{MAIN}: figures shown as text, not images, in: {as_text}"
    notebook.screenshot(SHOTS / "main-3-first-plot.png", cell=images[0][0],
                        inner='[data-mime-type="image/png"] > img')

    # The interactive view answers one input: ArrowRight on the slider redraws the figure.
    slider = Slider(notebook, SLIDER)
    assert slider.count() == 1, (f"{MAIN}: expected one IntSlider described {SLIDER!r} (the "
                                 f"interactive view), found {slider.count()}")
    slider_cell = next(c["index"] for c in snapshot["cells"] if SLIDER in c["sliders"])
    notebook.screenshot(SHOTS / "main-4-slider-before.png", cell=slider_cell, inner=".widget-slider")
    value, before = slider.value(), slider.images()
    assert before, f"{MAIN}: the interactive view shows no image before the slider is moved"
    slider.press("ArrowRight")
    after = slider.wait_for_images_other_than(before, timeout=60)
    notebook.screenshot(SHOTS / "main-5-slider-moved.png")
    assert slider.value() == str(int(value) + 1), (
        f"{MAIN}: ArrowRight on the {SLIDER!r} slider should move it from {value} to "
        f"{int(value) + 1}; it shows {slider.value()}")
    redrawn = bool(after) and after != before and all(width > 0 for _, width in after)
    assert redrawn, (
        f"{MAIN}: moving the {SLIDER!r} slider from {value} to {slider.value()} did not redraw "
        "the figure of the interactive view (same image after 60 s)")
    # The redraw itself must not have failed (interact shows a callback's traceback in place).
    assert_no_errors(MAIN, notebook.snapshot(), saved)
