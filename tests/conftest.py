"""Shared fixtures: the repository root on sys.path, and the framework loaded from HW3_Modules.ipynb."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.notebook import load_notebook  # noqa: E402  (needs ROOT on sys.path)


@pytest.fixture(scope="session")
def nn():
    """The reference framework: HW3_Modules.ipynb's code cells as a module (the notebook is the source of truth)."""
    return load_notebook(ROOT / "HW3_Modules.ipynb", name="HW3_Modules")
