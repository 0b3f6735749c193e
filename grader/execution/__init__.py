"""Stage 3 of the grader: running a submission. Below the parts: its private work copy (workcopy.py), the sandbox
(sandbox.py), the kernel (kernel.py), the probe protocol (probe.py). Above them, driving whole submissions: one
pytest session (session.py), a batch (batch.py) on a Dask cluster (cluster.py)."""
