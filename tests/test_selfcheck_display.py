"""How check() shows its table: rendered HTML in a Jupyter kernel, plain text in a terminal, and no
`True` echoed under the table when check(...) ends a cell."""
import html
import re
import textwrap

import nbformat
from nbclient import NotebookClient

from conftest import ROOT
from grader.selfcheck import display as D

ROWS = [D.Row(True, "Linear", "forward output", 2, 2, "output matches on 2 inputs"),
        D.Row(False, "Linear", "gradInput vs finite differences", 0, 3,
              "Linear gradInput: relative error 5.0e-01 <tolerance>\nExpected [[1, 2]], got [[2, 4]].")]


def test_text_table_marks_each_row_and_keeps_message_lines_aligned():
    text = D.text(D.Summary(ROWS, 2, 5)).splitlines()
    assert text[0].startswith("ok    Linear") and text[0].endswith("output matches on 2 inputs")
    assert text[1].startswith("FAIL  Linear") and "0/3  Linear gradInput" in text[1]
    assert text[2].strip() == "Expected [[1, 2]], got [[2, 4]]." and text[2].index("E") == text[1].index("Linear gradInput")
    assert text[-1] == "2 of 5 points. Some checks FAILED: fix them before moving on."


def test_html_table_colours_rows_escapes_messages_and_wraps_between_words_only():
    table = D.html_table(D.Summary(ROWS, 2, 5))
    rows = re.findall(r'<tr class="hw3-check-row" data-status="(\w+)" style="background:(#\w+)">', table)
    assert rows == [("ok", D.GREEN), ("FAIL", D.RED)]
    assert html.escape("<tolerance>") in table and "<tolerance>" not in table
    message_cells = re.findall(r'<td style="([^"]*)">Linear gradInput', table)
    assert message_cells and "white-space:pre-wrap" in message_cells[0] and "word-break:normal" in message_cells[0]
    assert "overflow-wrap:normal" in message_cells[0]  # never inside a word
    assert table.count("white-space:nowrap") == 4 * len(ROWS)  # status, module, check, points never wrap
    assert "2 of 5 points. Some checks FAILED" in table


def test_summary_is_true_only_when_all_pass_and_displays_as_nothing():
    assert D.Summary(ROWS[:1], 2, 2) and not D.Summary(ROWS, 2, 5)
    assert D.Summary(ROWS[:1], 2, 2)._ipython_display_() is None
    assert repr(D.Summary(ROWS[:1], 2, 2)) == "<check: 2 of 2 points, all passed>"


def test_in_a_terminal_check_prints_the_text_table(capsys):
    from grader.selfcheck.notebook import load_notebook
    from grader.selfcheck import check
    summary = check("Tanh", namespace=vars(load_notebook(ROOT / "HW3_Modules.ipynb", name="display_reference")))
    printed = capsys.readouterr().out.splitlines()
    assert summary.passed and all(line.startswith("ok    Tanh") for line in printed[:-1])
    assert printed[-1] == "7 of 7 points. All checks passed."


def test_in_a_jupyter_kernel_check_renders_one_html_table_and_echoes_nothing(tmp_path):
    source = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from grader.selfcheck.notebook import load_notebook
        from grader.selfcheck import check
        ns = vars(load_notebook({str(ROOT / 'HW3_Modules.ipynb')!r}, name="display_reference"))
        check("ReLU", namespace=ns)""")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs  # no stream, no execute_result (True)
    shown = outputs[0].data
    assert shown["text/html"].count('data-status="ok"') == 4 and "All checks passed." in shown["text/html"]
    assert shown["text/plain"].startswith("ok    ReLU")  # the text version for front-ends without HTML


def test_check_of_all_modules_fails_a_module_whose_cell_was_not_run(capsys):
    """A class whose cell was not run (or stopped with an error) is a failed row of check()'s summary, saying to run
    the cell: before, check() listed only the modules the kernel held and said "164 of 164 points. All checks
    passed." with ReLU missing."""
    from grader.selfcheck import TARGETS, check
    from grader.selfcheck.notebook import load_notebook
    ns = dict(vars(load_notebook(ROOT / "HW3_Modules.ipynb", name="display_reference")))
    del ns["ReLU"]
    summary = check(namespace=ns)
    printed = capsys.readouterr().out.splitlines()
    assert not summary.passed and summary.max_points == 171 and summary.points == 171 - 7
    assert [line.split()[1] for line in printed[:-1] if line[:4] in ("ok  ", "FAIL")] == TARGETS
    relu = next(line for line in printed if line.startswith("FAIL  ReLU"))
    assert "0/7" in relu and "no class ReLU is defined in this kernel: run the cell that defines it" in relu
    assert printed[-1] == "164 of 171 points. Some checks FAILED: fix them before moving on."
    check("ReLU", namespace=ns)
    rows = capsys.readouterr().out.splitlines()[:-1]
    assert rows and all(line.startswith("FAIL  ReLU") and "no class ReLU is defined in this kernel" in line
                        and "in your notebook" not in line for line in rows)


def test_one_input_is_said_in_the_singular():
    from grader.selfcheck import messages as M
    assert M.forward_ok(1) == "output matches on 1 input" and M.forward_ok(3) == "output matches on 3 inputs"
