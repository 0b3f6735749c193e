"""The kit's grader: finite-difference checks of every module, notebook execution, scoring, student release.

Command line: ``python -m grader --help``.
"""
