"""A student's markdown (and math) as safe HTML for the review pages.

mistune (the kit's pinned Markdown parser) with ``escape=True``: any HTML a student wrote is shown as text, never
run (the page holds a TA's marks; a submission must not be able to script it). Math is kept for KaTeX, which the
page runs in the browser on every ``.math`` element (`$...$` inline, `$$...$$` display, through mistune's math
plugin); KaTeX's defaults do not follow ``\\href`` or ``\\url`` (``trust: false``). Jupyter's other spellings are
turned into those two first: ``\\[...\\]``, ``\\(...\\)``, a bare ``\\begin{align}...\\end{align}``, and ``$$...$$``
on one line (mistune's block math wants the dollars on lines of their own).
"""
import html
import re

import mistune

_RENDER = mistune.create_markdown(escape=True, plugins=["math", "table", "strikethrough"])

_ENV = re.compile(r"(?<!\$)(\\begin\{(equation|align|gather|multline|eqnarray)\*?\}.*?\\end\{\2\*?\})", re.DOTALL)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def _display(match):
    body = next(group for group in match.groups() if group is not None).strip()
    return "\n\n$$\n" + body + "\n$$\n\n" if body else ""


def to_html(markdown_text):
    """Safe HTML of a markdown cell's text, math left for KaTeX in `.math` elements."""
    text = str(markdown_text or "")
    text = _ENV.sub(lambda m: "$$" + m.group(1) + "$$", text)
    text = _DISPLAY.sub(_display, text)
    text = _INLINE.sub(lambda m: "$" + m.group(1).strip() + "$", text)
    return _RENDER(text)


def math_html(tex, display=True):
    """One formula (the reference, an answer as the judge read it) as a `.math` element for KaTeX."""
    body = html.escape(str(tex or ""), quote=True)
    return f'<div class="math">$$\n{body}\n$$</div>' if display else f'<span class="math">\\({body}\\)</span>'


def code_html(text):
    """A code or raw cell's text, verbatim."""
    return f"<pre>{html.escape(str(text or ''), quote=True)}</pre>"
