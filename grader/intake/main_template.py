"""What makes a notebook the homework's main notebook by its text: the kit's, or one of the course's (its titles and
the template's own cells), and the framework it loads.

The course's main notebooks (yandexdataschool/Practical_DL: `homeworks/homework01_from_scratch/homework_main.ipynb`
@ 5ee9708, 2017, saved by the seed's course as `HW3_main.ipynb`; `homework01/homework_main.ipynb` @ 38b8380, 2018;
`homework01/homework_main-basic.ipynb` and `homework_main-advanced.ipynb` @ 49fb10d, 2019-21) share a title and
their "Toy example" and "Digit classification" cells, which students keep around their own code; each opens with
`%run` of the modules notebook. The kit's own main notebook has its cell ids and its fast mode (`HW3_FAST`).

In the intake, below the parts that judge a main notebook (grader/parts/main_outputs.py imports the titles and the
kit's marks from here), because the intake reads them to find a main notebook handed in under a name of its own
(by_content.py).
"""
import re

from grader.intake.templates import collapse
from grader.selfcheck.versions import INDENT

TITLES = (("Not So Basic Artificial Neural Networks", "2019-21 advanced"),
          ("# Homework: Basic Artificial Neural Networks", "2018"),
          ("# Home work 3: Basic Artificial Neural Networks", "2017"))
# "# Homework: Basic ..." heads the 2017 repository's template, 2018's and 2019-21's basic track: a file name says more
SHARED_TITLE_VERSION = "2018"
KIT_IDS = frozenset({"main-title", "main-setup", "main-setup-md"})

# Markdown cells of the course templates (every version has them but the advanced track's, which has its title)
_CELLS = (
    "# Framework",
    "Optimizer is implemented for you. ",
    "# Toy example",
    "Use this example to debug your code, start with logistic regression and then test other layers. You do not need "
    "to change anything here. This code is provided for you to test the layers. Also it is easy to use this code in "
    "MNIST task.",
    "Define a **logistic regression** for debugging. ",
    "Start with batch_size = 1000 to make sure every step lowers the loss, then try stochastic version.",
    "### Train",
    "Basic training loop. Examine it.",
    "# Digit classification ",
    "We are using [MNIST](http://yann.lecun.com/exdb/mnist/) as our dataset. Lets start with [cool visualization]"
    "(http://scs.ryerson.ca/~aharley/vis/). The most beautiful demo is the second one, if you are not familiar with "
    "convolutions you can return to it in several lectures. ",
    "One-hot encode the labels first.",
)
SOURCES = frozenset(collapse(cell) for cell in _CELLS)
COURSE_CELLS = 3   # the template's cells kept: a course main notebook, whatever its title

# Loading the framework: `%run <a notebook>` (which one is for the caller to judge by its name), or importing it as
# a module after an nbconvert (`from homework_modules import *`, `import HW3_Modules as hw`)
# (the path never starts with "-": options and path cannot take the same text, linear on a line of `-a -a ...`)
RUN = re.compile(r"^" + INDENT + r"""%run[^\S\n]+(?:-\w+[^\S\n]+)*["']?(?P<path>[^"'\s-][^"'\n]*?\.ipynb)["']?""",
                 re.IGNORECASE | re.MULTILINE)
IMPORT = re.compile(r"^" + INDENT + r"(?:from[^\S\n]+(?P<a>\w+)[^\S\n]+import\b|import[^\S\n]+(?P<b>\w+))", re.MULTILINE)
MNIST = re.compile(r"mnist", re.IGNORECASE)


def text(value):
    """A cell's source as one string (nbformat keeps a list of lines in some files)."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def is_kit(nb):
    """This kit's own main notebook: its cell ids, or its fast mode (a copy saved without ids)."""
    return any(str(c.get("id", "")) in KIT_IDS for c in nb.get("cells", [])) or any(
        "HW3_FAST" in text(c.get("source")) for c in nb.get("cells", []) if c.get("cell_type") == "code")


def title_version(nb):
    """The course version a markdown cell's title names ("2018", "2019-21 advanced"...), or None."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = text(cell.get("source")).lower()
            for title, name in TITLES:
                if title.lower() in source:
                    return name
    return None


def template_cells(nb):
    """How many markdown cells of `nb` are the course main templates' own."""
    return sum(1 for c in nb.get("cells", []) if c.get("cell_type") == "markdown"
               and collapse(text(c.get("source"))) in SOURCES)


def loaded_names(nb):
    """The file names a notebook loads code from: `%run` paths' last part, and modules imported, as `NAME.ipynb`
    (what a modules notebook converted to NAME.py was called)."""
    names = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = text(cell.get("source"))
        names += [re.split(r"[\\/]", found.group("path"))[-1] for found in RUN.finditer(source)]
        names += [f"{found.group('a') or found.group('b')}.ipynb" for found in IMPORT.finditer(source)]
    return names


def mentions_mnist(nb):
    return any(MNIST.search(text(c.get("source"))) for c in nb.get("cells", []))
