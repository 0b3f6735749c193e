"""Which notebook of the homework a file name stands for (grader/intake/discover.py chooses by it).

Names are matched leniently: case, spaces and punctuation, a browser's ``(1)``, Jupyter's ``-Copy1``, Canvas's ``-1``,
a course prefix or suffix (``DL24_hw3_modules.ipynb``), the course's own names (``homework_modules.ipynb``) and the
Russian words (``ДЗ3_модули.ipynb``). :func:`loose_name` gives a file that goes along with the notebooks (a helper
module) the name the notebooks import it by.
"""
import re
import unicodedata

from grader import DIFFERENTIATION, MAIN, MODULES

# kit notebook -> the word that marks it in a file name once normalised (see _normal)
WORDS = {MODULES: "modules", DIFFERENTIATION: "differentiation", MAIN: "main"}
NATIVE = {MODULES: "модул", DIFFERENTIATION: "дифференц"}   # the words in Russian names ("ДЗ3_модули.ipynb")


def _normal(stem):
    """'DL24 HW3_Modules (1)' -> 'dl24hw3modules': case, copies' suffixes, spaces and punctuation removed."""
    text = unicodedata.normalize("NFKC", stem).lower().strip()
    previous = None
    while text != previous:
        previous = text
        text = re.sub(r"\s*\(\d+\)$", "", text)               # browser: "name (1)"
        text = re.sub(r"[\s_-]*copy\d*$", "", text)          # Jupyter: "name-Copy1", "name copy"
        text = re.sub(r"-\d+$", "", text)                     # Canvas: "name-1"
        text = text.strip()
    return re.sub(r"[\W_]+", "", text)


def match_tier(filename):
    """(kit notebook, tier) for a file name: tier 0 the kit's name up to case/copies/punctuation, tier 1 with a
    course prefix or suffix, or the course's own names (`homework_modules`, `homework_differentiation`,
    `homework_main`, `homework_main-advanced`); tier 2 the course's basic track `homework_main-basic` (beside an
    advanced-track notebook, the advanced one is graded and the basic one noted); None if it is no kit notebook."""
    if not filename.lower().endswith(".ipynb"):
        return None
    norm = _normal(filename[:-len(".ipynb")])
    if "testmodules" in norm:     # the course's homework_test_modules.ipynb: its tests, not the student's modules
        return None
    for kit, word in WORDS.items():
        if norm == _normal(kit[:-len(".ipynb")]):
            return kit, 0
    for kit, word in WORDS.items():
        if word == "main":
            if norm == "main" or "hw3main" in norm:
                return kit, 1
            if "homeworkmain" in norm:
                return kit, 2 if "homeworkmainbasic" in norm else 1
        elif word in norm or NATIVE.get(kit, word) in norm:
            return kit, 1
    return None


def loose_name(name):
    """The name a file handed in beside the notebooks is used by: Canvas's `-1` of a second upload taken off a Python
    module's name (`utils-1.py` -> `utils.py`; a module's name has no `-`), any other name as it is."""
    return re.sub(r"-\d+(\.py)$", r"\1", name, flags=re.IGNORECASE)
