"""The integrity scan: code a framework has no reason to contain is flagged for review; honest code is not.

The scan reads the syntax tree (IPython's transformer, then ast), so comments, docstrings and strings
are never findings, and evasions that build names at run time are still seen.
"""
import nbformat
import pytest

from conftest import SHARED_CASES
from corpus import ROOT, build
from grader.parts.integrity import GRADER, findings

CASES = SHARED_CASES


def notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


@pytest.mark.parametrize("name", ["HW3_Modules.ipynb", "HW3_differentiation.ipynb"])
def test_the_reference_notebooks_raise_no_flag(name):
    assert findings(nbformat.read(ROOT / name, as_version=4), name) == []


def test_honest_student_code_raises_no_flag():
    nb = notebook("%matplotlib inline\nimport numpy as np\nfrom grader.selfcheck import check",
                  "class ReLU(Module):\n    def updateOutput(self, input):\n"
                  "        self.output = np.maximum(input, 0)  # evaluate() later\n        return self.output",
                  'check("ReLU")')
    assert findings(nb, "HW3_Modules.ipynb") == []


HONEST = [
    ('class Sequential:\n    def backward(self, input, gradOutput):\n        """\n        !!!\n'
     '        To each module give its input.\n        !!!\n        """\n        return gradOutput', "!!! in a docstring"),
    ("class Recorder:\n    def eval(self):\n        return self\n\nhelper = Recorder().eval()", "a .eval() method call"),
    ("# open('HW3_Modules.ipynb') and exec(code) would be cheating\nx = 1", "comments naming a notebook and exec"),
    ("note = 'never call eval(x) or open(y) here'", "a plain string"),
    ("import numpy as np\n%timeit np.zeros(3)", "%timeit of ordinary code"),
    ("%%time\nimport numpy as np\ny = np.ones(3).sum()", "%%time of ordinary code"),
    ("import io\nbuffer = io.StringIO('1 2 3')\nprint(buffer.read())", "import io for StringIO"),
    ("import sys\nsys.exit('stop here while I debug Tanh')", "sys.exit in a scratch cell"),
    ("import os\nos.environ['OMP_NUM_THREADS'] = '1'\npath = os.path.join('a', 'b')", "environment variables, os.path.join"),
    ("from google.colab import drive\ndrive.mount('/content/drive')", "Colab's drive"),
    ("%cd /content/drive/MyDrive/HW3\n!pip install -q threadpoolctl", "Colab set-up: %cd and !pip install"),
    ("%load_ext autoreload\n%autoreload 2", "autoreload"),
    ("print('the main notebook is HW3_main.ipynb')", "a notebook named in a message"),
    ("import numpy as np\nx = np.lib.stride_tricks.as_strided(np.zeros(4), (2, 2), (8, 8))", "numpy's own tricks"),
    ("import scipy as sp\nimport scipy.signal\nimport skimage\ny = scipy.signal.correlate([1.], [1.])", "the 2019 Conv2d imports"),
    ("import re\npattern = re.compile('x')", "re.compile is not compile"),
    ("print 'a Python 2 cell'", "a cell that does not parse"),
]


@pytest.mark.parametrize("source, why", HONEST, ids=[why for _, why in HONEST])
def test_ordinary_code_is_never_a_finding(source, why):
    assert findings(notebook("import numpy as np", source), "HW3_Modules.ipynb") == []


@pytest.mark.parametrize("source, what", [
    ("text = open('/somewhere/HW3_Modules.ipynb').read()", "reads a file"),
    ("exec(code, globals())", "runs code from a string"),
    ("import sys\nkit = sys.executable", "reaches outside numpy"),
    ("mod = __import__('o' + 's')", "imports or patches by name"),
    ("path = 'HW3_Modules.ipynb'", "names a notebook file"),
    ("%run HW3_Modules.ipynb", "runs an IPython magic"),
    ("!cat solution.py", "runs a shell command"),
    ("%%bash\ncat ../HW3_Modules.ipynb", "runs a shell command"),
    ("listing = !ls ..; cat x", "runs a shell command"),
    ("import os\nos.system('cat ../kit/HW3_Modules.ipynb')", "runs a shell command"),
    ("import subprocess\nsubprocess.run(['ls'])", "reaches outside numpy"),
    ("get_ipython().run_cell('x = 1')", "drives the kernel"),
    ("import grader.checks as c", "uses the grader's internals"),
    ("from grader.parts.modules import reference_expected", "uses the grader's internals"),
    # evasions
    ("run = getattr(__builtins__, 'ex' + 'ec')\nrun('x = 1')", "imports or patches by name"),
    ("import importlib\nos_module = importlib.import_module('o' + 's')", "imports or patches by name"),
    ("W = np.load('weights.npy')", "reads a file"),
    ("import pathlib\nsource = pathlib.Path('HW3' + '_Modules.ip' + 'ynb').read_text()", "reads a file"),
    ("np.allclose = lambda *a, **k: True", "imports or patches by name"),
    ("setattr(np, 'all' + 'close', lambda *a, **k: True)", "imports or patches by name"),
    ("import sys\nsys.modules['numpy'] = None", "imports or patches by name"),
    ("import builtins\nbuiltins.abs = lambda x: 0", "imports or patches by name"),
    ("loader = getattr(np, 'lo' + 'ad')", "imports or patches by name"),
    ("%%time\nexec('x = 1')", "runs code from a string"),
    ("read = open\nsource = read('HW3' + '_Modules.ip' + 'ynb').read()", "reads a file"),
    ("run = exec\nrun('x = 1')", "runs code from a string"),
    ("loader = np.load\nW = loader('weights.npy')", "reads a file"),
    ("W = getattr(np, 'load')('weights.npy')", "reads a file"),
    ("from numpy import load as fetch\nW = fetch('weights.npy')", "reads a file"),
    ("exec = exec\nexec('x = 1')", "runs code from a string"),
])
def test_suspicious_code_is_flagged_with_its_cell(source, what):
    messages = findings(notebook("import numpy as np", source), "HW3_Modules.ipynb")
    assert len(messages) == 1
    assert "HW3_Modules.ipynb cell 1" in messages[0] and what in messages[0] and "no points taken" in messages[0]


def test_the_finding_quotes_the_line_as_the_student_wrote_it():
    [message] = findings(notebook("x = 1\n!cat ../HW3_Modules.ipynb"), "HW3_Modules.ipynb")
    assert "line 2: `!cat ../HW3_Modules.ipynb`" in message and "get_ipython" not in message


def test_the_corpus_cheat_that_runs_the_kit_reference_stays_flagged(tmp_path):
    cheat = build(tmp_path)["cheat_runs_the_kit_reference"]
    [message] = findings(nbformat.read(cheat.path / "HW3_Modules.ipynb", as_version=4), "HW3_Modules.ipynb")
    assert "reads a file" in message and "runs code from a string" in message


def test_the_real_cases_raise_no_flag():
    paths = sorted((CASES / "real").glob("*/*.ipynb"))
    assert paths, f"no problem cases in {CASES / 'real'}: they must be beside the repository (../shared/cases)"
    for path in paths:
        assert findings(nbformat.read(path, as_version=4), path.name) == [], path


def test_integrity_false_alarm_case_has_no_finding():
    nb = nbformat.read(CASES / "real" / "integrity-false-alarm" / "HW3_Modules.ipynb", as_version=4)
    assert findings(nb, "HW3_Modules.ipynb") == []


def test_the_course_main_notebook_is_not_scanned():
    # real/main-course-version: the course's homework_main-basic.ipynb opens with `%run homework_modules.ipynb` and
    # downloads MNIST with urllib: a main notebook's job, never a finding.
    nb = nbformat.read(CASES / "real" / "main-course-version" / "homework_main-basic.ipynb", as_version=4)
    assert findings(nb, "homework_main-basic.ipynb") == []
    assert findings(nb, "HW3_main.ipynb") == []


@pytest.mark.parametrize("name", ["HW3_Modules.ipynb", "homework_modules.ipynb", "HW3_differentiation (1).ipynb",
                                  "homework_differentiation.ipynb"])
def test_what_the_main_notebook_may_do_is_still_flagged_in_a_scanned_notebook(name):
    messages = findings(notebook("%run HW3_main.ipynb", "import urllib.request\n"
                                 "urllib.request.urlretrieve('http://example.org/x', 'x')"), name)
    assert len(messages) == 2 and "runs an IPython magic" in messages[0] and "reads a file" in messages[1]


HIDING = "\n\n  \n# an innocent comment\u2028\u2028\u2028 hides nothing\nx = 1\n"   # blank lines on top, U+2028 in a comment


def test_blank_lines_on_top_and_line_separators_cannot_make_a_finding_quote_another_line():
    """IPython drops a cell's blank lines on top before it is parsed, and Python ends lines at \\n only where
    str.splitlines also splits at U+2028: the finding quoted a blank line (line 1: ``) or the comment instead of the
    line that reads a file. It names the line as the student's cell numbers it, and quotes it."""
    [message] = findings(notebook("import numpy as np", HIDING + "data = open('../HW3_Modules.ipynb').read()"),
                         "HW3_Modules.ipynb")
    assert "(line 6: `data = open('../HW3_Modules.ipynb').read()`)" in message, message


def test_a_numeric_backward_is_quoted_at_its_own_line_after_blank_lines_and_line_separators():
    from grader.parts.numeric_scan import findings as numeric_findings
    backward = ("class Tanh(Module):\n    def updateGradInput(self, input, gradOutput):\n        h = 1e-6\n"
                "        self.gradInput = np.zeros_like(input)\n        for i in np.ndindex(input.shape):\n"
                "            plus, minus = input.copy(), input.copy()\n            plus[i] += h\n            minus[i] -= h\n"
                "            self.gradInput[i] = (np.tanh(plus[i]) - np.tanh(minus[i])) / (2 * h) * gradOutput[i]\n"
                "        return self.gradInput")
    [message] = numeric_findings(notebook("import numpy as np", HIDING + backward), "HW3_Modules.ipynb")
    assert "(line 7: `def updateGradInput(self, input, gradOutput):`)" in message, message


def test_a_line_nested_too_deep_for_the_scan_cannot_hide_the_lines_after_it():
    """A sum of 600 terms runs in the kernel but is deeper than the scan's recursion: it ended the scan of its cell,
    so an open() below it was never flagged. Each statement is scanned on its own, and the deep one is a finding."""
    deep = "x = 1" + " + 1" * 600
    [message] = findings(notebook("import numpy as np", deep + "\ndata = open('../HW3_Modules.ipynb').read()"),
                         "HW3_Modules.ipynb")
    assert "reads a file (line 2: `data = open('../HW3_Modules.ipynb').read()`)" in message, message
    assert "is nested too deep for the scan to read" in message


def test_a_cell_too_deep_to_parse_is_a_finding():
    deep = "x = 1" + "+1" * 45_000   # under MAX_CELL_CHARS (a larger cell is a finding of its own, below)
    [message] = findings(notebook("import numpy as np", deep), "HW3_Modules.ipynb")
    assert "cell 1" in message and "is nested too deep for the scan to read" in message


COMPLEX_STEP = ("def complex_step(f, X):\n    G = np.zeros(X.shape)\n    for i in np.ndindex(X.shape):\n"
                "        Z = X.astype(complex)\n        Z[i] += 1e-30j\n        G[i] = np.imag(f(Z)) * 1e30\n"
                "    return G\n")


def test_a_complex_step_derivative_is_a_numeric_finding():
    """The imaginary part of f(x + ih) over h is a derivative exact to rounding: it passes the analytic precision a
    finite difference fails, and the scan looked for difference quotients only (differentiation answers by a
    complex-step helper: 9/9, never listed). Found in an answer through its helper, and in a backward pass."""
    from grader.parts.numeric_scan import findings as numeric_findings
    answers = notebook("import numpy as np", COMPLEX_STEP + "\n\ndef grad_xTx(x):\n"
                                                            "    return complex_step(lambda x_: x_ @ x_, x)")
    [message] = numeric_findings(answers, "HW3_differentiation.ipynb", {"grad_xTx"})
    assert "grad_xTx() calls complex_step(), which computes a complex-step derivative" in message, message
    backward = ("class Tanh(Module):\n    def updateGradInput(self, input, gradOutput):\n"
                "        z = input + complex(0, 1e-30)\n"
                "        self.gradInput = np.tanh(z).imag / 1e-30 * gradOutput\n        return self.gradInput")
    [message] = numeric_findings(notebook("import numpy as np", backward), "HW3_Modules.ipynb")
    assert "Tanh.updateGradInput a complex-step derivative (line 2: `def updateGradInput" in message, message


@pytest.mark.parametrize("name", ["HW3_Modules.ipynb", "HW3_differentiation.ipynb"])
def test_honest_code_with_complex_numbers_is_no_numeric_finding(name):
    """The reference notebooks, and a backward through an FFT (complex arrays, their real part, an imaginary part
    taken without any imaginary step written)."""
    from grader.parts.numeric_scan import findings as numeric_findings
    assert numeric_findings(nbformat.read(ROOT / name, as_version=4), name, {"grad_xTx"}) == []
    fft = ("class Conv(Module):\n    def updateGradInput(self, input, gradOutput):\n"
           "        spectrum = np.fft.fft(gradOutput) * np.conj(np.fft.fft(self.kernel))\n"
           "        assert np.allclose(np.fft.ifft(spectrum).imag, 0)\n"
           "        self.gradInput = np.fft.ifft(spectrum).real\n        return self.gradInput")
    assert numeric_findings(notebook("import numpy as np", fft), "HW3_Modules.ipynb") == []


def test_a_cell_too_large_to_parse_is_a_finding_never_parsed():
    """A cell of 6 MB (a list literal) took the integrity scan 67 s and 2 GB of the grader's own memory, outside any
    time limit (60 MB: the grader's memory gone). Past MAX_CELL_CHARS it is not parsed: it is itself a finding, and
    the other cells are still read."""
    import time
    from grader.parts.cell_syntax import MAX_CELL_CHARS
    big = "x = [" + "1, " * (MAX_CELL_CHARS // 3 * 20) + "]"   # 2 MB
    started = time.monotonic()
    messages = findings(notebook("import numpy as np", big, "data = open('/etc/hostname').read()"), "HW3_Modules.ipynb")
    assert time.monotonic() - started < 5
    assert any("cell 1" in m and "holds more code than the scan reads" in m for m in messages), messages
    assert any("cell 2" in m and "reads a file" in m for m in messages), messages


def test_a_notebook_with_more_code_than_the_scans_read_is_a_finding_naming_the_first_unread_cell():
    from grader.parts.cell_syntax import MAX_CELL_CHARS, MAX_NOTEBOOK_CHARS
    from grader.parts.numeric_scan import findings as numeric_findings
    filler = "#" * (MAX_CELL_CHARS - 10)
    cells = ["import numpy as np"] + [filler] * (MAX_NOTEBOOK_CHARS // len(filler) + 1) + ["import subprocess"]
    nb = notebook(*cells)
    messages = findings(nb, "HW3_Modules.ipynb")
    assert messages[-1].startswith(f"integrity: HW3_Modules.ipynb holds more than {MAX_NOTEBOOK_CHARS:,} characters "
                                   f"of code: cell {len(cells) - 2} and those after it were not scanned"), messages
    assert numeric_findings(nb, "HW3_Modules.ipynb") == []


@pytest.mark.parametrize("source", [
    "def __hw3_probe(function, nonce, **arguments):\n    pass",
    "globals()['__hw3_probe'] = print",
    "from IPython.display import publish_display_data\n"
    "publish_display_data({'application/vnd.hw3-grader.probe+json': {'ok': True}})",
])
def test_a_main_notebook_that_answers_in_the_graders_place_is_flagged(source):
    """The main notebook is run and not scanned: a cell of it that defines the grader's probe helper anew (after the
    grader installed it, at the first cell's metrics) answers the evidence request with the request's nonce, labels
    looked up and 'shuffled' ones made up. Read for the grader's internals alone, as in the scanned notebooks."""
    for name in ("HW3_main.ipynb", "HW3_Modules.ipynb"):
        messages = findings(notebook("import numpy as np", source), name, only={GRADER}
                            if name == "HW3_main.ipynb" else None)
        assert len(messages) == 1 and "uses the grader's internals" in messages[0], (name, messages)
    kit_main = nbformat.read(ROOT / "HW3_main.ipynb", as_version=4)
    assert findings(kit_main, "HW3_main.ipynb", only={GRADER}) == []
