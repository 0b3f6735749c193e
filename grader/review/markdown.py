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

from grader.parts.derivations import spans

_RENDER = mistune.create_markdown(escape=True, plugins=["math", "table", "strikethrough"])

# The math spellings turned into $$...$$ and $...$, as the regular expressions (?<!$)\begin{env}.*?\end{env},
# $$(.+?)$$ | \[(.+?)\] and \((.+?)\) find them; read by spans.find in linear time (a text of many openings without
# their closing made the regular expressions quadratic: seconds per cell of a review page).
_ENV_OPEN = re.compile(r"(?<!\$)\\begin\{(equation|align|gather|multline|eqnarray)\*?\}")
_DISPLAY_OPEN = re.compile(r"\$\$|\\\[")
_INLINE_OPEN = re.compile(r"\\\(")
_CLOSING = {"$$": re.compile(r"\$\$"), "\\[": re.compile(r"\\\]"), "\\(": re.compile(r"\\\)")}


def _closing(opening):
    if opening.re is _ENV_OPEN:
        return opening.group(1), re.compile(r"\\end\{" + opening.group(1) + r"\*?\}")
    return opening.group(0), _CLOSING[opening.group(0)]


def _display(text, span):
    body = spans.body(text, span).strip()
    return "\n\n$$\n" + body + "\n$$\n\n" if body else ""


def _each(text, openings, replacement, least=1):
    return spans.replace(text, spans.find(text, openings, _closing, least), lambda span: replacement(text, span))


def to_html(markdown_text):
    """Safe HTML of a markdown cell's text, math left for KaTeX in `.math` elements."""
    text = str(markdown_text or "")
    text = _each(text, _ENV_OPEN, lambda t, span: "$$" + t[span[0]:span[1]] + "$$", least=0)
    text = _each(text, _DISPLAY_OPEN, _display)
    text = _each(text, _INLINE_OPEN, lambda t, span: "$" + spans.body(t, span).strip() + "$")
    return _RENDER(text)


def math_html(tex, display=True):
    """One formula (the reference, an answer as the judge read it) as a `.math` element for KaTeX."""
    body = html.escape(str(tex or ""), quote=True)
    return f'<div class="math">$$\n{body}\n$$</div>' if display else f'<span class="math">\\({body}\\)</span>'


def code_html(text):
    """A code or raw cell's text, verbatim."""
    return f"<pre>{html.escape(str(text or ''), quote=True)}</pre>"
