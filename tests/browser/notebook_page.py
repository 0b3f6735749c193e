"""What a student does with a notebook in JupyterLab, and what they then see, through Playwright.

``NotebookPage(page, lab)`` opens a notebook, runs it from the menu (Run > Run All Cells), waits for
the kernel to go idle, and reads the rendered cells back from the DOM: prompts, output mime types,
texts and images, the widgets. The checks themselves are in tests/test_browser.py.

What errors look like in JupyterLab 4: an ``error`` output is rendered by the stderr renderer, as
``.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]`` holding the traceback
(the model also keeps it under ``application/vnd.jupyter.error``, for which no renderer exists), the
same element a ``stderr`` stream (a warning) gets. Tracebacks are told apart by their text; the
saved notebook tells exactly (output_type "error").
"""
import re
import time

# A traceback as IPython renders it (runtime errors), or a SyntaxError/IndentationError (no
# "Traceback" line), or a failed widget.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b(: |$)",
                       re.MULTILINE)
WIDGET_FAILURES = ("Loading widget...", "Error displaying widget")
# The text/plain fallback of a widget that did not render: "FloatProgress(value=0.0, ...)".
WIDGET_AS_TEXT = re.compile(r"\b(Float|Int)(Progress|Slider)\(|\b[HV]Box\(children=")

# One snapshot of the open notebook, taken in the page (a single round trip per poll).
SNAPSHOT_JS = r"""
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
  // The status bar's kernel item: "Python 3 (ipykernel) | Idle", "No Kernel | Initializing", ...
  const kernel = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
    .map(e => e.textContent).find(t => / \| /.test(t)) || '';
  return {
    kernel,
    status: indicator ? indicator.getAttribute('data-status') : null,
    dirty: panel.classList.contains('jp-mod-dirty') || !!document.querySelector('.jp-mod-dirty'),
    progress: panel.querySelectorAll('.widget-hprogress, .widget-vprogress').length,
    cells: cells.map((cell, index) => ({
      index,
      code: cell.classList.contains('jp-CodeCell'),
      prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
      source: (cell.querySelector('.jp-InputArea-editor') || {}).textContent || '',
      outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => ({
        mime: out.getAttribute('data-mime-type'),
        text: out.textContent,  // not innerText: empty for cells off screen (content-visibility)
        // check()'s table (grader/selfcheck/display.py): each row's status and colour, and the verdict line
        checkRows: [...out.querySelectorAll('tr.hw3-check-row')].map(tr => ({
          status: tr.getAttribute('data-status'),
          background: getComputedStyle(tr).backgroundColor,
          text: tr.textContent,
        })),
        checkVerdict: (out.querySelector('.hw3-check-verdict') || {}).textContent || '',
        images: [...out.querySelectorAll(':scope > img')].map(img => ({
          src: img.getAttribute('src') || '',
          width: img.naturalWidth,
        })),
      })),
      progress: cell.querySelectorAll('.widget-hprogress, .widget-vprogress').length,
      // the text beside each bar: its description and the box it sits in (the label)
      progressLabels: [...cell.querySelectorAll('.widget-hprogress, .widget-vprogress')]
        .map(bar => (bar.parentElement.textContent || '').trim()),
      sliders: [...cell.querySelectorAll('.widget-slider')].map(s =>
        (s.querySelector('.widget-label') || {}).textContent || ''),
    })),
  };
}
"""


class NotebookPage:
    def __init__(self, page, lab, notebook):
        self.page = page
        self.lab = lab
        self.notebook = notebook
        self.progress_seen = 0  # most progress bars on screen at once while the notebook ran

    def open(self, timeout=120):
        """Opens the notebook in a workspace of its own and waits for an idle kernel."""
        workspace = "kit-" + re.sub(r"\W", "-", self.notebook)
        self.page.goto(self.lab.page_url(self.notebook, workspace), timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        self.wait_for(_kernel_idle, timeout, "the kernel to start (status bar: '... | Idle')")

    def snapshot(self):
        return self.page.evaluate(SNAPSHOT_JS)

    def wait_for(self, condition, timeout, what, poll=1.0):
        """Polls snapshots until `condition(snapshot)`; returns the last one."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            if snap is not None:
                self.progress_seen = max(self.progress_seen, snap["progress"])
                if condition(snap):
                    return snap
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.notebook}: timed out after {timeout} s waiting for {what}")
            time.sleep(poll)

    def menu(self, *path):
        """Clicks a menu path, e.g. menu("Run", "Run All Cells"), as a student does."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(path[0])}$")) \
            .first.click()
        for label in path[1:]:
            self.page.locator(".lm-Menu:not(.lm-mod-hidden) .lm-Menu-itemLabel",
                              has_text=re.compile(f"^{re.escape(label)}$")).first.click()

    def run_all(self, timeout):
        """Run > Run All Cells, then waits until nothing is queued or running and the kernel idles."""
        self.menu("Run", "Run All Cells")
        # The menu click queues every cell at once: wait until the queue is seen, then until it drains.
        self.wait_for(lambda s: any(c["prompt"].strip() == "[*]:" or _ran(c) for c in s["cells"]),
                      60, "Run All Cells to start")
        return self.wait_for(lambda s: _kernel_idle(s) and s["status"] == "idle"
                             and not any(c["prompt"].strip() == "[*]:" for c in s["cells"]),
                             timeout, "all cells to finish")

    def save(self, timeout=60):
        """File > Save Notebook, and waits until the dirty mark is gone."""
        self.menu("File", "Save Notebook")
        self.wait_for(lambda s: not s["dirty"], timeout, "the notebook to be saved")

    def cell_locator(self, index):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)

    def screenshot(self, path, cell=None, inner=None):
        """A screenshot of the window, with cell `cell` (an index), or its `inner` element, centred."""
        if cell is not None:
            target = self.cell_locator(cell)
            if inner is not None:
                target = target.locator(inner).first
            scroll_to(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))


def scroll_to(locator, tries=8):
    """Centres `locator` in the notebook. Cells off screen are not laid out (content-visibility),
    so one scroll lands on an estimate: repeat until the element stops moving."""
    previous = None
    for _ in range(tries):
        locator.evaluate("e => e.scrollIntoView({block: 'center'})")
        time.sleep(0.3)
        box = locator.bounding_box()
        if box is not None and box == previous:
            return
        previous = box


def _kernel_idle(snap):
    return snap["kernel"].endswith("| Idle") and not snap["kernel"].startswith("No Kernel")


def _ran(cell):
    return bool(re.fullmatch(r"\[\d+\]:", cell["prompt"].strip()))


class Slider:
    """An ipywidgets slider found by its description, and the images of the cell that holds it."""

    def __init__(self, notebook_page, description):
        page = notebook_page.page
        self.page = page
        label = page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$"))
        slider = page.locator(".widget-slider", has=label)  # `has` locators are relative
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        self.cell = panel.locator(".jp-Cell", has=slider)
        self.widget = self.cell.locator(".widget-slider", has=label)

    def count(self):
        return self.widget.count()

    def value(self):
        # text_content, not inner_text: the latter is empty while the cell is off screen
        return (self.widget.first.locator(".widget-readout").text_content() or "").strip()

    def images(self):
        """(src, naturalWidth) of every PNG shown in the slider's cell, in page order."""
        return self.cell.first.evaluate("""cell => [...cell.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="image/png"] > img')]
            .map(img => [img.getAttribute('src') || '', img.naturalWidth])""")

    def press(self, key):
        """Focuses the slider's handle and presses `key` (ArrowRight moves it one step)."""
        handle = self.widget.first.locator(".noUi-handle")
        scroll_to(handle)
        handle.focus()
        self.page.keyboard.press(key)

    def wait_for_images_other_than(self, before, timeout):
        """Waits until the cell shows loaded images that differ from `before`; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.images()
            if now and now != before and all(width > 0 for _, width in now):
                return now
            if time.monotonic() > deadline:
                return now
            time.sleep(0.25)
