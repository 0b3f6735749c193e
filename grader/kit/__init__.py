"""Not grading: the students' release (release.py) and `make run` (runkit.py)."""
