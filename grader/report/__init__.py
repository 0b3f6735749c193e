"""Stage 5 of the grader: what a submission's grading found and its report (report.py); the writers (writers.py:
JSON, CSV and platform gradebooks, feedback), the summary chart (summary.py), text made safe for them (safetext.py,
mdtext.py)."""
