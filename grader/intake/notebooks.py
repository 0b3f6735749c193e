"""Submissions' notebooks read as Jupyter reads them: whatever Jupyter itself opens is graded.

Old formats are upgraded by nbformat, keys the schema does not allow are dropped (``outputs`` on a markdown cell),
cell ids are added, made valid or de-duplicated (ids under ``nbformat_minor`` 4 make it 4.5), and every repair is
listed; only a file that is not a notebook at all is refused, with the reason.
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
        NotebookError: missing, or not a notebook at all (not UTF-8 JSON, no cells...), with the reason.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise NotebookError(f"{path}: notebook not found") from exc
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path}: not a valid Jupyter notebook (not UTF-8 text: another kind of file under a "
                            f"notebook's name?); {ASK_AGAIN}") from exc
    head = text.lstrip()[:512].lower()
    if not head:
        raise NotebookError(f"{path}: not a valid Jupyter notebook (the file is empty: the upload failed or the "
                            "notebook was never saved); ask the student to upload it again")
    if head.startswith(("<!doctype html", "<html")) or (head.startswith("<") and "<html" in head):
        raise NotebookError(f"{path}: not a valid Jupyter notebook (a web page saved under a notebook's name, e.g. "
                            "from GitHub or Colab in the browser); ask the student for the .ipynb file itself "
                            "(File > Download in Jupyter or Colab)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        return nb, []
    except Exception:   # NotJSONError, ValidationError, ...: repaired below, or refused with the first reason
        pass
    repairs = []
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
        raise NotebookError(f"{path}: not a valid Jupyter notebook ({why}); {ASK_AGAIN}") from exc
    return nb, repairs
