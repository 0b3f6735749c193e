"""The kit's grader: finite-difference checks of every module, notebook execution, scoring, student release.

Command line: ``python -m grader --help``.
"""
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent  # the kit's top folder: notebooks, data/, grader/
