"""Submissions' notebooks read as Jupyter reads them: whatever Jupyter itself opens is graded.

Old formats are upgraded by nbformat, keys the schema does not allow are dropped (``outputs`` on a markdown cell),
cell ids are added, made valid or de-duplicated (ids under ``nbformat_minor`` 4 make it 4.5), and every repair is
listed; only a file that is not a notebook at all is refused, with the reason (:class:`UnreadableNotebook`: the
grader cannot judge it, so its points go to a TA, never a 0: grader/parts/unreadable.py).

The bytes are decoded as a notebook's text really comes (:func:`decode`): UTF-8 (with or without a BOM), UTF-16 and
UTF-32 with a BOM (Windows editors, Windows PowerShell's ``>``) or without one (told by where a JSON text's zero bytes
fall, RFC 4627 section 3, as :func:`json.detect_encoding`), and UTF-8 holding a few bytes that are not UTF-8
(cp1252/latin-1 characters pasted into a comment or a markdown cell): each such byte becomes U+FFFD and the
repair is listed. A file that is not text at all (a PNG, PDF or zip under a notebook's name) is refused.
"""
import json
import re
import uuid
from pathlib import Path

import nbformat

from grader.selfcheck.notebook import NotebookError


CELL_KEYS = {"code": {"cell_type", "id", "metadata", "source", "outputs", "execution_count"},
             "markdown": {"cell_type", "id", "metadata", "source", "attachments"},
             "raw": {"cell_type", "id", "metadata", "source", "attachments"}}
NOTEBOOK_KEYS = {"cells", "metadata", "nbformat", "nbformat_minor"}
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ASK_AGAIN = "ask the student to open it in Jupyter, check that it shows their work, save it and hand it in again"
ASK_FOR_FILE = "look at the file; ask the student to hand in the notebook itself (the .ipynb file Jupyter saves)"

# Not text: the share of control bytes (C0 but tab, LF, CR) in the first 64 KiB. JSON allows none of them raw, so a
# notebook has 0; measured on 15 binary files (PNG, JPEG, PDF, gzip, a zip of the kit's notebooks, MNIST's .npz,
# random bytes) the share is 0.107 to 0.40. 1 % sits a factor ten below every one of them. The share of bytes that
# are not UTF-8 cannot tell them apart: binary files 0.16 to 0.43, a notebook whose markdown is all Russian saved
# as cp1251 0.36 (the kit's own notebooks saved as cp1252, cp1251 or latin-1: 0 to 0.0003): those bytes are
# replaced however many there are, and the repair says how many.
BINARY_SHARE = 0.01
# The largest notebook the grader reads. Parsed, a notebook takes about 9 times its size in the grader's memory (a
# 132 MB one of saved outputs: 1.0 GB), in the grader's own process, outside the sandbox: a notebook of 1 GB (in a
# folder; 512 MiB from a zip of half a megabyte) would take several GB per grading process. Honest notebooks with
# heavy outputs stay far below it (the largest the kit has met: 106 MB).
MAX_NOTEBOOK_BYTES = 256 * 2 ** 20
SNIFF_BYTES = 65536
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ESCAPED = re.compile("[\udc80-\udcff]")   # a byte that is not UTF-8, as the surrogateescape handler keeps it
BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"), (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
        (b"\xef\xbb\xbf", "utf-8", None), (b"\xff\xfe", "utf-16-le", "UTF-16"), (b"\xfe\xff", "utf-16-be", "UTF-16"))
MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
         (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive (or a Word/Excel document)"),
         (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"))


class UnreadableNotebook(NotebookError):
    """A handed-in file the grader cannot read as a notebook: `why` in a TA's words, `todo` what to do about it."""

    def __init__(self, path, why, todo=ASK_AGAIN):
        super().__init__(f"{path}: not a valid Jupyter notebook ({why}); {todo}")
        self.why, self.todo = why, todo


def _control_share(text):
    head = text[:SNIFF_BYTES]
    return len(_CONTROL.findall(head)) / max(len(head), 1)


def what_binary(data):
    """What a file that is not text looks like, in words ("a PNG image"), from its first bytes."""
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), "binary data, not text")


def decode(data, path="the file"):
    """(text, repairs) of a notebook file's bytes, decoded as the notebook's text really comes.

    Raises:
        UnreadableNotebook: binary (a PNG, PDF, zip... under a notebook's name), or a BOM's encoding that fails.
    """
    for bom, codec, name in BOMS:
        if data.startswith(bom) and name:
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise UnreadableNotebook(path, f"it starts as {name} text but is not {name} throughout") from None
            if _control_share(text) > BINARY_SHARE:
                raise UnreadableNotebook(path, f"{what_binary(data)} under a notebook's name", ASK_FOR_FILE)
            return text, [f"read as {name} text (saved so by a Windows editor or PowerShell; Jupyter saves UTF-8)"]
    bare = _without_bom(data, path)
    if bare is not None:
        return bare
    if _control_share(data[:SNIFF_BYTES].decode("latin-1")) > BINARY_SHARE:
        raise UnreadableNotebook(path, f"{what_binary(data)} under a notebook's name, not a notebook", ASK_FOR_FILE)
    text = data.decode("utf-8", "surrogateescape")
    text = text[1:] if text.startswith("\ufeff") else text
    bad = len(_ESCAPED.findall(text))
    if not bad:
        return text, []
    return _ESCAPED.sub("\ufffd", text), [
        f"replaced {bad} byte{'s' if bad != 1 else ''} that {'are' if bad != 1 else 'is'} not UTF-8 with \ufffd "
        "(characters typed in another encoding, e.g. Windows-1252)"]


def _without_bom(data, path):
    """(text, repairs) of a notebook saved as UTF-16 or UTF-32 without a byte-order mark, else None.

    json.detect_encoding names the encoding from the zero bytes of the first four (a JSON text starts with an ASCII
    character); it is taken only if the text then starts as a notebook does, with ``{``: a binary file that starts
    with a zero byte is left to the binary test.
    """
    codec = json.detect_encoding(data[:4])
    if codec not in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        return None
    name = codec[:6].upper()
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    if not text.lstrip(" \t\r\n").startswith("{") or _control_share(text) > BINARY_SHARE:
        return None
    return text, [f"read as {name} text without a byte-order mark (saved so by an editor or a script; Jupyter "
                  "saves UTF-8)"]


def excerpt(path, chars=1500, lines=30):
    """The start of a file as plain text for a TA to look at (its bytes decoded as :func:`decode` would, control
    characters replaced, at most `lines` lines and `chars` characters); a binary file is named, not shown."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(SNIFF_BYTES)
    except OSError:
        return ""
    try:
        text, _ = decode(data)
    except UnreadableNotebook:
        return f"({what_binary(data)})"
    text = _CONTROL.sub("\ufffd", text.replace("\r\n", "\n"))
    cut = "\n".join(text.splitlines()[:lines])[:chars]
    return cut + ("\n..." if len(cut) < len(text.rstrip()) else "")


def _source(value):
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    if isinstance(value, str):
        return value
    raise ValueError("a cell's source is neither text nor a list of lines")


def _repair_v4(data, repairs):
    """Makes a version-4 notebook dict schema-valid in place, as Jupyter would read it; notes each repair."""
    if not isinstance(data.get("cells"), list) or not all(isinstance(c, dict) for c in data["cells"]):
        raise ValueError("it has no list of cells")
    for key in sorted(set(data) - NOTEBOOK_KEYS):
        del data[key]
        repairs.append(f"dropped the top-level key {key!r}")
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
        repairs.append("replaced invalid notebook metadata")
    if any("id" in c for c in data["cells"]) and data.get("nbformat_minor", 0) < 5:
        repairs.append(f"declared nbformat 4.{data.get('nbformat_minor')} but has cell ids: read as 4.5")
        data["nbformat_minor"] = 5
    with_ids = data.get("nbformat_minor", 0) >= 5
    seen = set()
    for index, cell in enumerate(data["cells"]):
        kind = cell.get("cell_type")
        if kind not in CELL_KEYS:
            raise ValueError(f"cell {index} has the unknown type {kind!r}")
        cell["source"] = _source(cell.get("source", ""))
        extra = sorted(set(cell) - CELL_KEYS[kind])
        for key in extra:
            del cell[key]
        if extra:
            repairs.append(f"dropped {', '.join(map(repr, extra))} from {kind} cell {index}")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
            repairs.append(f"replaced the invalid metadata of cell {index}")
        if kind == "code":
            if not isinstance(cell.get("outputs"), list):
                cell["outputs"] = []
                repairs.append(f"gave code cell {index} an empty list of outputs")
            if not (cell.get("execution_count") is None or isinstance(cell.get("execution_count"), int)):
                cell["execution_count"] = None
            cell.setdefault("execution_count", None)
        if with_ids:
            cid = cell.get("id")
            if not isinstance(cid, str) or not CELL_ID.match(cid) or cid in seen:
                new = uuid.uuid4().hex[:8]
                repairs.append(f"cell {index}: " + ("added an id" if cid is None else f"replaced the id {cid!r}"))
                cell["id"] = cid = new
            seen.add(cid)
        elif "id" in cell:
            del cell["id"]


def read_lenient(path):
    """(notebook, repairs): a submission's notebook as Jupyter would open it, repaired to the v4 schema.

    Raises:
        NotebookError: missing.
        UnreadableNotebook: not a notebook at all (not text, not complete JSON, no cells, empty, a web page...) or
            larger than MAX_NOTEBOOK_BYTES,
            with the reason in a TA's words and what to do.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise UnreadableNotebook(path, f"the file is {size / 2 ** 20:,.0f} MiB, more than the grader reads "
                                     f"({MAX_NOTEBOOK_BYTES >> 20} MiB): saved outputs make a notebook that large",
                                     "ask the student to clear all outputs (Jupyter: Kernel > Restart Kernel and Clear "
                                     "Outputs of All Cells), save it and hand it in again")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotebookError(f"{path}: notebook not found") from exc
    text, decoded = decode(data, path)
    head = text.lstrip()[:512].lower()
    if not head:
        raise UnreadableNotebook(path, "the file is empty: the upload failed or the notebook was never saved",
                                 "ask the student to upload it again")
    if head.startswith(("<!doctype html", "<html")) or (head.startswith("<") and "<html" in head):
        raise UnreadableNotebook(path, "a web page saved under a notebook's name, e.g. from GitHub or Colab in the "
                                 "browser", "ask the student for the .ipynb file itself (File > Download in Jupyter "
                                 "or Colab)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        return nb, decoded
    except Exception:   # NotJSONError, ValidationError, ...: repaired below, or refused with the first reason
        pass
    repairs = list(decoded)
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
            raise ValueError("no nbformat version: not a notebook")
        if data["nbformat"] < 4:
            data = json.loads(json.dumps(nbformat.reads(text, as_version=4)))
            repairs.append("upgraded from nbformat 3 to 4")
        elif data["nbformat"] > 4:
            raise ValueError(f"nbformat {data['nbformat']} is newer than this grader reads")
        _repair_v4(data, repairs)
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        why = (f"the file is not complete JSON, cut off or edited by hand: {first}"
               if isinstance(exc, json.JSONDecodeError) else f"its contents are not a notebook's: {first}")
        raise UnreadableNotebook(path, why) from exc
    return nb, repairs
