"""Stage 2 of the grader: a TA's download -> one Submission per student (discover.py: folders, zips, Canvas and
Moodle downloads; unpack.py: archives taken apart as hostile input; notebooks.py: notebooks read as Jupyter reads
them; by_content.py: a differentiation or main notebook named as the student pleased, found by its text; templates.py: the
course differentiation template's own cells, and a notebook's version; main_template.py: the main notebooks' marks)."""
