"""Text from a submission, made safe for every place the grader writes it: JSON, CSV, Markdown, HTML, the
journal, the terminal.

    report = clean_tree(report)          # once, when a report arrives: every string of it, keys included
    writer.writerow(csv_row([name, key, score]))
    print(terminal(line))

A submission's text (cell sources, outputs, exception messages, class and file names) may hold lone surrogates
(``"\\udc80"``: a notebook's JSON may escape one; a file name of bytes that are not UTF-8 decodes to them), which
no UTF-8 writer accepts (``UnicodeEncodeError``: a gradebook cut at 0 bytes, a journal that ``--resume`` cannot
read back). :func:`clean` replaces each with U+FFFD, the replacement character. It also shows every control
character but tab, newline and carriage return as ``\\x1b`` (the terminal's spelling, below): an exception message
such as ``ValueError('\\x1b]52;c;...\\x07')`` would otherwise reach the feedback's ``.md`` (a TA's ``cat`` runs the
escape sequence: a title rewritten, the clipboard filled), its HTML and the Moodle worksheet's comments (a NUL byte).

CSV cells that a spreadsheet would run as a formula — starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return — get a leading apostrophe, as OWASP's "CSV Injection" guidance says
(owasp.org/www-community/attacks/CSV_Injection); a plain number (``-1.5``) is left as it is.

The terminal gets no control characters (an escape sequence in a student's file name could rewrite the TA's
screen or title): they are shown as ``\\x1b``.
"""
import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_SHOWN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # all of _CONTROL but \r (CSV quotes it)


def clean(text):
    """`text` (any object: str() of it) with every lone surrogate replaced by U+FFFD (it encodes in UTF-8) and every
    control character but tab, newline and carriage return shown as \\xNN (never run by what displays it)."""
    text = _SURROGATE.sub("\ufffd", text if isinstance(text, str) else str(text))
    return _CONTROL_SHOWN.sub(_shown, text)


def clean_tree(value):
    """A JSON-like value (dicts, lists, tuples, strings, numbers) with every string cleaned, keys included."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_tree(k) if isinstance(k, str) else k: clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_tree(v) for v in value]
    return value


def csv_cell(value):
    """One CSV cell: text cleaned, and neutralised if a spreadsheet would read it as a formula (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = clean(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_row(values):
    return [csv_cell(v) for v in values]


def _shown(match):
    return f"\\x{ord(match.group(0)):02x}"


def terminal(text):
    """One line for a terminal: cleaned, control characters (escape sequences) shown as \\xNN, never run."""
    return _CONTROL.sub(_shown, clean(text))
