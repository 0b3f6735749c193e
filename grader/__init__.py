"""The kit's grader, in the order the work flows (each folder one stage; a stage imports only from those above it,
tests/test_grader_layout.py checks it):

1. ``selfcheck/``  the checks of HW3_Modules.ipynb (cases, probes, expected values, judges, messages, the
                   catalogue with its points, versions) and ``check()``: shipped to students, run in their kernel.
2. ``intake/``     a TA's download -> one Submission per student (folders, zips, Canvas and Moodle downloads;
                   notebooks read leniently, as Jupyter reads them).
3. ``execution/``  running a notebook: its private work copy, the sandbox (with its seccomp filter, what its
                   launcher watches, the files the kernel leaves read safely), the kernel (cell.py: how a cell ended),
                   the submission's clock, the probe protocol and the batch's secret seed.
4. ``options.py``  the grading options, one object, the same at both front doors.
5. ``parts/``      one file per graded notebook (modules.py, differentiation.py, main_notebook.py; derivations/ and
                   main_outputs.py for the course's own notebooks), the integrity scan, the code probes run in the
                   kernel (probes.py): the cells, the checks, the verdicts.
6. ``report/``     the Report (report.py: a grading's, or Report.ungraded), its writers (JSON, CSV and platform
                   gradebooks, feedback files) and the summary chart; ``review/``: the TA's review pages;
                   ``similarity/``: the similarity report between submissions (its own command).
7. ``execution/``  again, driving whole submissions: one pytest session (session.py), a Dask cluster (cluster.py),
                   a batch with its journal (batch.py).
8. ``plugin.py``   the pytest hooks that tie them together (one collector per submission yields its parts).
9. ``kit/``        not grading: the students' release, ``make run``. ``__main__.py``: the command line.

``scratch.py`` (the process's temporary folders) serves every stage.
"""
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent  # the kit's top folder: notebooks, data/, grader/
MODULES, DIFFERENTIATION, MAIN = "HW3_Modules.ipynb", "HW3_differentiation.ipynb", "HW3_main.ipynb"
NOTEBOOKS = (MODULES, DIFFERENTIATION, MAIN)   # the kit's notebooks, the names a submission's are graded as
