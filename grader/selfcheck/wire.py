"""Probe values across the kernel boundary: arrays as base64 bytes with dtype and shape, anything else as text.

The kernel runs :func:`encode`; the grader runs :func:`decode`, which accepts plain numeric arrays and
text only (never pickles), so a submission cannot send the grader objects.
"""
import base64

import numpy as np

MIME = "application/vnd.hw3-grader.probe+json"  # how the kernel hands probe values to the grader


_KINDS = "biuf"


def encode(values):
    """Probe values -> JSON: arrays as base64 bytes with dtype and shape; anything else as text."""
    out = {}
    for key, value in values.items():
        if value is None:
            out[key] = {"none": True}
            continue
        if isinstance(value, str):
            out[key] = {"text": value}
            continue
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is None or array.dtype.kind not in _KINDS:
            out[key] = {"text": f"{type(value).__name__}: {str(value)[:300]}"}
            continue
        array = np.array(array, order="C", copy=True)  # (ascontiguousarray would make a 0-d array 1-d)
        out[key] = {"dtype": array.dtype.str, "shape": list(array.shape),
                    "data": base64.b64encode(array.tobytes()).decode("ascii")}
    return out


ALLOWED_DTYPES = {np.dtype(t).str for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")}


MAX_BYTES = 64 * 2 ** 20


def decode(encoded):
    """The grader's strict inverse of encode: only plain numeric arrays and text; never pickles."""
    if not isinstance(encoded, dict):
        raise ValueError("probe values are not a JSON object")
    values = {}
    for key, item in encoded.items():
        if not isinstance(item, dict):
            raise ValueError(f"probe value {key!r} is malformed")
        if "none" in item:
            values[key] = None
        elif "text" in item:
            values[key] = np.str_(str(item["text"]))
        else:
            dtype = str(item.get("dtype"))
            if dtype not in ALLOWED_DTYPES:
                raise ValueError(f"probe value {key!r} has dtype {dtype!r}")
            shape = tuple(int(s) for s in item.get("shape", []))
            raw = base64.b64decode(str(item.get("data", "")), validate=True)
            if len(raw) > MAX_BYTES:
                raise ValueError(f"probe value {key!r} is too large")
            array = np.frombuffer(raw, dtype=np.dtype(dtype)).copy()
            if array.size != int(np.prod(shape)):
                raise ValueError(f"probe value {key!r}: {array.size} numbers for shape {shape}")
            values[key] = array.reshape(shape)
    return values
