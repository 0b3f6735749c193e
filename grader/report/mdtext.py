"""Any text (a message quoting a student's code or exception, a file name, a class name) as Markdown that shows
it exactly as it is, in the feedback's ``.md`` and in the HTML made from it: no link, image, raw HTML or
emphasis that the grader did not write.

    md_text("`Linear.forward` raised [x](javascript:alert(1))")   # the code span kept, the link shown as text

The grader's messages mark names as code spans (```Linear.forward```); everything else is text. Code spans are
found by CommonMark's own rule (spec 0.31, "Code spans": a backtick string opens a span that the next backtick
string *of the same length* closes; a string with no such closer is literal backticks), never by a regular
expression that a backtick trick gets through (``\u0060\u0060 x\u0060 [link](url)`` is no span). Outside them,
every ASCII punctuation character that Markdown could read as markup is escaped with a backslash, which
CommonMark turns back into that character (the set the Markdown library itself unescapes,
``mistune.helpers.PUNCTUATION``); the few that start no inline markup (``. , : ; ' " / ? % = ( ) { } $ ^ @``, and
``-`` ``+`` after the first character, ``_`` inside a word as in ``HW3_Modules``) are kept as they are, so the
``.md`` stays readable. The result is one line; in a table cell, a code span holding ``|`` is shown as plain text (mistune's tables split
on it even inside a span).
"""
import re
import string

_MARKUP = set(string.punctuation)   # = what mistune.helpers.PUNCTUATION matches: every escape it reads back
_KEPT = set(".,:;'\"/?%=(){}$^@")
_KEPT_AFTER_START = {"-", "+"}
_BACKTICKS = re.compile(r"`+")


def _spans(text):
    """[(is_code, piece)]: CommonMark's code spans (with their backticks) and the text between them."""
    out, pos = [], 0
    runs = list(_BACKTICKS.finditer(text))
    i = 0
    while i < len(runs):
        opener = runs[i]
        if opener.start() > 0 and text[opener.start() - 1] == "\\" and not _escaped_backslash(text, opener.start() - 1):
            i += 1
            continue
        closer = next((j for j in range(i + 1, len(runs)) if len(runs[j].group(0)) == len(opener.group(0))), None)
        if closer is None:
            i += 1
            continue
        if opener.start() > pos:
            out.append((False, text[pos:opener.start()]))
        out.append((True, text[opener.start():runs[closer].end()]))
        pos = runs[closer].end()
        i = closer + 1
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def _escaped_backslash(text, at):
    """Whether the backslash at `at` is itself escaped (an odd number of backslashes before it)."""
    n = 0
    while at - 1 - n >= 0 and text[at - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _escape(text, at_start):
    out = []
    for k, ch in enumerate(text):
        first = at_start and k == 0
        if ch not in _MARKUP or (ch in _KEPT and not first):
            out.append(ch)
        elif ch in _KEPT_AFTER_START and not first:
            out.append(ch)
        elif ch == "_" and 0 < k < len(text) - 1 and text[k - 1].isalnum() and text[k + 1].isalnum():
            out.append(ch)
        else:
            out.append("\\" + ch)
    return "".join(out)


def md_text(text, table=False):
    """`text` as one line of Markdown that renders as exactly that text (see the module's docstring)."""
    text = str(text).replace("\r", " ").replace("\n", " ").strip()   # leading blanks would make a code block
    # A leading ordered-list marker ("1." / "1)") would start a list in a list item or a table's first cell.
    lead = re.match(r"^(\s*\d{1,9})([.)])", text)
    pieces = []
    for k, (code, piece) in enumerate(_spans(text)):
        if code and table and "|" in piece:
            # mistune's tables split on '|' inside code spans too and keep a '\\|' there as is: such a span is
            # shown as plain text (its content, escaped), without the code font
            fence = len(piece) - len(piece.lstrip("`"))
            pieces.append(_escape(piece[fence:-fence], at_start=False))
        elif code:
            pieces.append(piece)
        else:
            escaped = _escape(piece, at_start=(k == 0))
            if k == 0 and lead:
                escaped = escaped[:len(lead.group(1))] + "\\" + escaped[len(lead.group(1)):]
            pieces.append(escaped)
    return "".join(pieces)
