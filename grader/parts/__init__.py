"""Stage 4 of the grader: one file per graded notebook (modules.py, differentiation.py, main_notebook.py), what
they share (graded.py), the code they run inside the kernel (probes.py: visible to the sandboxed kernel, so this
file imports nothing) and the integrity scan (integrity.py)."""
