"""Where two documents match: per cell, the lines covered by the fingerprints they share.

    regions = matching_regions(comparison, pair)
    regions[0] == {"a": {"notebook": "HW3_Modules.ipynb", "cell": 12, "lines": [[3, 9]]},
                   "b": {"notebook": "HW3_Modules.ipynb", "cell": 7, "lines": [[2, 8]]}, "shared": 14}

``cell`` is the code cell's number as the grader's messages give it (code cells counted from 0, nbval's
"Cell N"); ``lines`` are ranges of the cell's own lines, first and last included. Shared fingerprints are grown into runs of
normalised text with copydetect's ``get_copied_slices`` (a fingerprint covers K characters), and runs into the
lines they came from. Each cell of `a` is paired with the cell of `b` it shares most fingerprints with.
"""
from collections import Counter, defaultdict

import numpy as np
from copydetect import utils as copydetect_utils

from grader.similarity.fingerprint import K


def _positions(doc, shared):
    """{cell number in doc: [(position, hash)] of its fingerprints in `shared`} and {hash: {cell numbers}}."""
    hashes, cells, positions = doc.index()
    mask = np.isin(hashes, shared)
    where, cells_of = defaultdict(list), defaultdict(set)
    for h, c, pos in zip(hashes[mask].tolist(), cells[mask].tolist(), positions[mask].tolist()):
        where[c].append((pos, h))
        cells_of[h].add(c)
    return where, cells_of


def line_ranges(cell_print, positions):
    """[[first, last]] lines of the cell covered by k-grams starting at `positions` (merged, sorted)."""
    starts, ends = copydetect_utils.get_copied_slices(np.asarray(positions), K)
    ranges = []
    for start, end in zip(np.asarray(starts, dtype=int), np.asarray(ends, dtype=int)):
        end = min(end, len(cell_print.lines))
        if end <= start:
            continue
        first, last = int(cell_print.lines[start]), int(cell_print.lines[end - 1])
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], last)
        else:
            ranges.append([first, last])
    return ranges


def matching_regions(comparison, pair):
    """[region] of `pair` (see the module docstring), in the order of `a`'s cells."""
    a, b = comparison.docs[pair.a], comparison.docs[pair.b]
    shared = np.intersect1d(comparison.kept[pair.a], comparison.kept[pair.b], assume_unique=True)
    where_a, cells_a = _positions(a, shared)
    where_b, cells_b = _positions(b, shared)
    regions = []
    for n in sorted(where_a):
        hashes = {h for h, cells in cells_a.items() if n in cells}
        partners = Counter(m for h in hashes for m in cells_b.get(h, ()))
        if not partners:
            continue
        m, count = min(partners.items(), key=lambda kv: (-kv[1], kv[0]))
        common = {h for h in hashes if m in cells_b.get(h, ())}
        pos_a = sorted(pos for pos, h in where_a[n] if h in common)
        pos_b = sorted(pos for pos, h in where_b[m] if h in common)
        regions.append({"a": _place(a, n, pos_a), "b": _place(b, m, pos_b), "shared": int(count)})
    return regions


def _place(doc, n, positions):
    cell = doc.cells[n]
    return {"notebook": cell.notebook, "cell": cell.index, "lines": line_ranges(doc.prints[n], positions)}
