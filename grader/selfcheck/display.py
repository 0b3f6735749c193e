"""How ``check()`` shows its results: a rendered table in Jupyter, plain text in a terminal.

In a notebook the table is HTML: one row per check, "ok" on green or "FAIL" on red, the points, and
the message beside it; messages keep their line breaks (the small arrays they show stay aligned) and
wrap only between words. Elsewhere (a terminal, a script, a log) the same rows are printed as text.

``check()`` shows the table itself and returns a :class:`Summary`, which is true when every row
passed and shows nothing when it is a cell's last expression (no ``True`` echoed under the table).
"""
import html
from dataclasses import dataclass, field

OK, FAIL = "ok", "FAIL"
GREEN, RED = "#e6f4ea", "#fce8e6"          # row backgrounds: pale, so the text stays readable
GREEN_TEXT, RED_TEXT = "#137333", "#a50e0e"

CELL = "padding:2px 8px; text-align:left; vertical-align:top; border:none"
# the message: its own line breaks kept, wrapped between words only (never inside one)
MESSAGE = "white-space:pre-wrap; word-break:normal; overflow-wrap:normal; hyphens:none; font-family:monospace"


@dataclass
class Row:
    """One line of the table: a check (or, in the summary of every module, a module)."""
    passed: bool
    target: str
    name: str
    points: float
    max_points: float
    message: str


@dataclass
class Summary:
    """What ``check()`` returns: true when every row passed. Shown already, so it displays as nothing."""
    rows: list = field(default_factory=list)
    points: float = 0
    max_points: float = 0

    @property
    def passed(self):
        return all(row.passed for row in self.rows)

    def __bool__(self):
        return self.passed

    def _ipython_display_(self):
        pass  # the table is already on screen: a cell ending in check(...) shows it once

    def __repr__(self):
        return f"<check: {self.points:g} of {self.max_points:g} points, {'all passed' if self.passed else 'some FAILED'}>"


def verdict_line(summary):
    return (f"{summary.points:g} of {summary.max_points:g} points. "
            + ("All checks passed." if summary.passed else "Some checks FAILED: fix them before moving on."))


def text(summary):
    """The table as plain text: one line per row (continuation lines of a message indented), then the verdict."""
    lines = []
    for row in summary.rows:
        status = OK if row.passed else FAIL
        head = f"{status:<5} {row.target:<21} {row.name:<48} {f'{row.points:g}/{row.max_points:g}':>5}"
        message = row.message.splitlines() or [""]
        lines.append(f"{head}  {message[0]}")
        lines += [" " * (len(head) + 2) + more for more in message[1:]]
    lines.append(verdict_line(summary))
    return "\n".join(lines)


def html_table(summary):
    """The table as HTML with inline styles (JupyterLab, Notebook and VS Code render it alike)."""
    out = ['<table class="hw3-check" style="border-collapse:collapse; margin:0">']
    for row in summary.rows:
        background, colour, status = (GREEN, GREEN_TEXT, OK) if row.passed else (RED, RED_TEXT, FAIL)
        out.append(
            f'<tr class="hw3-check-row" data-status="{status}" style="background:{background}">'
            f'<td style="{CELL}; white-space:nowrap; font-weight:bold; color:{colour}">{status}</td>'
            f'<td style="{CELL}; white-space:nowrap">{html.escape(row.target)}</td>'
            f'<td style="{CELL}; white-space:nowrap">{html.escape(row.name)}</td>'
            f'<td style="{CELL}; white-space:nowrap; text-align:right">{row.points:g}/{row.max_points:g}</td>'
            f'<td style="{CELL}; {MESSAGE}">{html.escape(row.message)}</td></tr>')
    colour = GREEN_TEXT if summary.passed else RED_TEXT
    out.append(f'</table><p class="hw3-check-verdict" style="margin:4px 0; font-weight:bold; color:{colour}">'
               f'{html.escape(verdict_line(summary))}</p>')
    return "".join(out)


class _Table:
    """What is displayed: the HTML table for a notebook, with the text version as its plain-text fallback."""

    def __init__(self, summary):
        self.summary = summary

    def _repr_html_(self):
        return html_table(self.summary)

    def __repr__(self):
        return text(self.summary)


def in_notebook():
    """True inside a Jupyter kernel (a front-end renders HTML), False in a terminal or a plain script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show(summary):
    """Shows the table: rendered HTML in a notebook, printed text elsewhere; returns the summary."""
    if in_notebook():
        from IPython.display import display
        display(_Table(summary))
    else:
        print(text(summary), flush=True)
    return summary
