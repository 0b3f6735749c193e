"""The integrity scan: code a framework has no reason to contain is flagged for review; honest code is not."""
import nbformat
import pytest

from corpus import ROOT
from grader.integrity import findings


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


@pytest.mark.parametrize("source, what", [
    ("text = open('/somewhere/HW3_Modules.ipynb').read()", "reads a file"),
    ("exec(code, globals())", "runs code from a string"),
    ("import sys\nkit = sys.executable", "imports a module that reaches outside numpy"),
    ("mod = __import__('o' + 's')", "imports or patches by name"),
    ("path = 'HW3_Modules.ipynb'", "names a notebook file"),
    ("%run HW3_Modules.ipynb", "runs an IPython magic"),
    ("!cat solution.py", "runs an IPython magic or a shell command"),
    ("get_ipython().run_cell('x = 1')", "drives the kernel"),
    ("import grader.checks as c", "uses the grader's internals"),
])
def test_suspicious_code_is_flagged_with_its_cell(source, what):
    messages = findings(notebook("import numpy as np", source), "HW3_Modules.ipynb")
    assert len(messages) == 1
    assert "HW3_Modules.ipynb cell 1" in messages[0] and what in messages[0] and "no points taken" in messages[0]
