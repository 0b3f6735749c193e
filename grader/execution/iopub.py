"""A kernel's output message, as the grader keeps it: checked for its shape and measured whole.

A submission's code can send any message on the kernel's output channel with the running cell's header (IPython's
``display_pub.session.send``, ``_showtraceback``, ``publish_display_data(data, metadata=...)``), so a message is
hostile input like the notebook itself:

* **Measured whole.** Every string the grader would keep counts towards the cell's output cap
  (grader/execution/kernel.py): a display's ``metadata`` and an error's ``ename`` and ``evalue`` as much as its
  ``data`` and ``traceback``. Counted by ``data`` alone, 40 displays of 20 MB metadata each were 800 MB held in
  the grader's own memory from one cell (and an error flood the same through ``evalue``). Every message also counts
  ``OVERHEAD``: empty displays (``publish_display_data({})``, 4,400 a second) counted nothing and were all kept.
* **Shape checked.** The Jupyter messaging protocol's fields for the types kept (``stream``: ``name`` and ``text``
  strings; ``display_data`` / ``execute_result``: ``data`` and ``metadata`` objects with string keys; ``error``:
  ``ename``, ``evalue`` strings, ``traceback`` a list of strings); a message of another shape is not kept and its
  size is counted as dropped, never an exception in the grader (a ``stream`` whose text was a number raised
  TypeError in the grader, and during a module's check made the whole submission "not graded").
* **Read or dropped.** A message that cannot be read at all (content that is not JSON, a bad signature, a header
  that is not an object: the code holds the kernel's key and sockets) is dropped by :func:`receive`, never raised.

Source: the Jupyter messaging protocol, "Messages on the IOPub (PUB/SUB) channel"
(jupyter-client.readthedocs.io/en/stable/messaging.html).
"""

KEPT = ("stream", "display_data", "execute_result", "error")
UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError)   # what jupyter_client's deserialize raises
TRACEBACK_LINES = 20   # an error keeps the last lines of its traceback
OVERHEAD = 64          # characters counted for every message besides its strings (an empty one is still an object)


def size(value):
    """Characters of every string, key and number in a JSON value (iterative: nesting depth costs no recursion)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            total += len(repr(item)) if isinstance(item, (int, float, bool)) or item is None else 1
    return total


def _strings(values):
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def _mapping(value):
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


def output(kind, content):
    """(output, size): the notebook output of an IOPub message of type `kind` with `content`, and the characters it
    holds; output None for a type the grader does not keep (status, clear_output, comms: size 0) or a message of a
    type it keeps whose fields are not the protocol's (size: all it holds, dropped)."""
    if kind not in KEPT:
        return None, 0
    if not isinstance(content, dict):
        return None, OVERHEAD + size(content)
    if kind == "stream":
        name, text = content.get("name"), content.get("text")
        if isinstance(name, str) and isinstance(text, str):
            return {"output_type": "stream", "name": name, "text": text}, OVERHEAD + len(name) + len(text)
    elif kind == "error":
        ename, evalue, traceback = content.get("ename", ""), content.get("evalue", ""), content.get("traceback", [])
        if isinstance(ename, str) and isinstance(evalue, str) and _strings(traceback):
            traceback = traceback[-TRACEBACK_LINES:]
            return ({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback},
                    OVERHEAD + len(ename) + len(evalue) + sum(map(len, traceback)))
    else:
        data, metadata = content.get("data", {}), content.get("metadata", {})
        if _mapping(data) and _mapping(metadata):
            return {"output_type": kind, "data": data, "metadata": metadata}, OVERHEAD + size(data) + size(metadata)
    return None, OVERHEAD + size(content)


def receive(get, timeout):
    """(parent's msg_id, type, content) of the next message from `get` (a kernel client's get_iopub_msg or
    get_shell_msg); None for a message that cannot be read (dropped); queue.Empty when none came within `timeout`."""
    try:
        msg = get(timeout=timeout)
        return msg["parent_header"].get("msg_id"), msg["msg_type"], msg["content"]
    except UNREADABLE:
        return None
