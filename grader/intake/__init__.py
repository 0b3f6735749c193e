"""Stage 2 of the grader: a TA's download -> one Submission per student (discover.py: folders, zips, Canvas and
Moodle downloads; unpack.py: archives taken apart as hostile input; notebooks.py: notebooks read as Jupyter reads
them)."""
