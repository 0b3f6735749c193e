"""The probe protocol: how the grader's code runs inside a submission's kernel and sends its values back.

One helper, :data:`HELPER`, is installed once in each kernel (:func:`install`; kept, so a restarted kernel gets
it again). :func:`call` asks it to run a function of a module the kernel can import (the self-check's
``grader.selfcheck.run_probe``, the parts' ``grader.parts.probes``), on the notebook's namespace and the given
keyword arguments; the function returns a JSON-able dict, which the helper publishes as one display output of
the MIME type :data:`MIME`, with the request's nonce: the notebook's own code may publish that type too, only the
one answer echoing the nonce counts (:func:`payload`). The kernel session never drops that output
(grader/execution/kernel.py).
"""
import json
import secrets

import pytest

from grader import selfcheck as C
from grader.selfcheck.wire import MIME

SEED = pytest.StashKey[int]()   # a pytest session's secret the grading inputs are drawn from (set by grade_submission)
HELPER = f'''
def __hw3_probe(function, nonce, **arguments):
    import importlib
    from IPython.display import publish_display_data
    module, _, name = function.rpartition(".")
    answer = getattr(importlib.import_module(module), name)(namespace=dict(globals()), **arguments)
    publish_display_data({{{MIME!r}: dict(answer, nonce=nonce)}})
'''


def install(session):
    """Installs the helper in `session`'s kernel (kept across restarts); the CellResult says whether it worked."""
    return session.run(HELPER, keep=True)


def new_nonce():
    """A fresh token for one request to the kernel: its answer must echo it (:func:`payload`)."""
    return secrets.token_hex(16)


def call(session, function, nonce, timeout=None, **arguments):
    """Runs `function` (a dotted name) in the kernel of `session` on its namespace, its answer echoing `nonce`;
    returns the CellResult (its answer: :func:`payload`)."""
    return session.run(f"__hw3_probe({function!r}, {nonce!r}, " + ", ".join(f"{k}={v!r}" for k, v in arguments.items())
                       + ")", timeout=timeout, probe=True)


def payload(result, nonce):
    """(payload, ignored) from a request's outputs: the probe's JSON that answers the request `nonce` (without the
    nonce), and how many outputs of the probe's type were not that answer.

    The notebook's code runs in the same kernel and may publish output of the probe's type itself (a hook before
    every cell, a forward() that prints one): only the one output that echoes the request's nonce, unknowable to the
    notebook before the request, is the answer. None when there is none, or when the nonce came back twice (the
    notebook's code read it during the request and answered in the probe's place: nothing from this request counts).
    """
    answers, ignored = [], 0
    for output in result.outputs:
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        if not isinstance(data, dict) or MIME not in data:
            continue
        found = data[MIME]
        if isinstance(found, str):
            try:
                found = json.loads(found)
            except ValueError:
                found = None
        if isinstance(found, dict) and found.get("nonce") == nonce:
            answers.append(found)
        else:
            ignored += 1
    if len(answers) != 1:
        return None, ignored + (len(answers) if len(answers) > 1 else 0)
    return {k: v for k, v in answers[0].items() if k != "nonce"}, ignored


def draw_seed():
    """A fresh secret seed for one batch's grading inputs (Python's ``secrets``: unpredictable, never shipped).

    The students' ``check()`` has its own seed (``SELFCHECK_SEED``) and ships the expected values on its inputs;
    the grader's inputs are drawn from this seed, so a notebook cannot carry answers computed in advance. One
    seed serves a whole batch (its results stay comparable); the journal keeps it for ``--resume``."""
    while True:
        seed = secrets.randbits(63)
        if seed != C.SELFCHECK_SEED:
            return seed


def seed_of(config):
    """The session's grading seed: the batch's (grade_submission sets it), else one drawn for this session."""
    if SEED not in config.stash:
        config.stash[SEED] = draw_seed()
    return config.stash[SEED]
