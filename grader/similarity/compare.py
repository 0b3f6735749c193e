"""Every pair of a batch compared at once: shared fingerprints counted with one sparse matrix product.

    docs = [Document.of(key, name, kind, cells) ...]       # kind: "student" or "known" (a known solution)
    result = compare(docs)
    result.pairs        # [Pair], best first: students with each other and with every known solution

A document's fingerprints are the winnowed k-gram hashes of its cells, less every k-gram of the templates
(``templates.given_hashes()``). Fingerprints found in many documents are kept: MOSS's ``-m`` and Dolos'
``maxFingerprintPercentage`` drop them as idioms, but measured on generated batches (tests/similarity_corpus.py,
bench/similarity.py) dropping those found in more than a tenth of the batch raised the best independent pair
from 0.63 to 0.78 while the disguised copies fell (0.92 -> 0.82 for all disguises at once): what is left of two
students after their common code is small, and the little they share by chance weighs more.

The score of a pair is the number of fingerprints they share over the fingerprints of the smaller of the two
(at least ``MIN_PRINTS``, so that a student who wrote two lines is not "100 % similar" to everyone who wrote
them too): 1 when one's code is wholly inside the other's, 0 when they share nothing of their own. It is in
[0, 1] and symmetric. With 300 students and 100 known solutions the product is a (400 x F) by (F x 400)
sparse matrix product, well under a second.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from grader.similarity.fingerprint import fingerprint_cell

MIN_PRINTS = 40


@dataclass
class Document:
    """One submission's code. key/name: as the gradebook names it; kind: "student" or "known";
    cells: [code.Cell]; prints: [fingerprint.CellPrint], one per cell; problems: lines for the TA."""
    key: str
    name: str
    kind: str
    cells: list
    prints: list
    problems: list = field(default_factory=list)

    @classmethod
    def of(cls, key, name, kind, cells, problems=(), cache=None):
        """The Document of `cells`; `cache` (a dict shared by a batch) fingerprints a cell's text once: the
        template's untouched cells recur in every submission."""
        cache = {} if cache is None else cache
        prints = []
        for cell in cells:
            found = cache.get(cell.source)
            if found is None:
                found = cache[cell.source] = fingerprint_cell(cell.source)
            prints.append(found)
        return cls(key, name, kind, list(cells), prints, list(problems))

    def index(self):
        """(hashes, cells, positions): the document's winnowed fingerprints, sorted by hash, with the cell
        (position in `cells`) and the offset in its normalised text of each (int64 arrays; computed once)."""
        if not hasattr(self, "_index"):
            hashes = [p.hashes[p.selected] for p in self.prints]
            cells = [np.full(len(p.selected), n, dtype=np.int64) for n, p in enumerate(self.prints)]
            positions = [p.selected for p in self.prints]
            if hashes:
                h, c, pos = np.concatenate(hashes), np.concatenate(cells), np.concatenate(positions)
            else:
                h = c = pos = np.zeros(0, dtype=np.int64)
            order = np.argsort(h, kind="stable")
            self._index = (h[order], c[order], pos[order])
        return self._index

    def fingerprints(self):
        """int64 array: the document's winnowed hashes (unique, sorted)."""
        parts = [p.hashes[p.selected] for p in self.prints]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class Pair:
    """Two documents (indices into the batch), their score in [0, 1] and the fingerprints they share."""
    a: int
    b: int
    score: float
    shared: int


@dataclass
class Comparison:
    docs: list
    pairs: list              # [Pair] with score > 0, best first (ties by the two keys)
    kept: list               # per document: the hashes that count (int64 arrays, sorted)
    best: dict               # student index -> Pair of their highest score (students and known solutions)


def compare(docs, given=None, min_prints=MIN_PRINTS):
    """Comparison of `docs`: students with students and with known solutions (known ones never with each other).

    given: the template hashes to exclude (int64, sorted); None excludes nothing.
    """
    prints = [d.fingerprints() for d in docs]
    if given is not None and len(given):
        prints = [p[~np.isin(p, given, assume_unique=True)] for p in prints]
    n = len(docs)
    rows = np.repeat(np.arange(n), [len(p) for p in prints])
    flat = np.concatenate(prints) if n else np.zeros(0, dtype=np.int64)
    vocabulary, cols = np.unique(flat, return_inverse=True)
    matrix = sparse.csr_matrix((np.ones(len(flat), dtype=np.int32), (rows, cols.ravel())),
                               shape=(n, len(vocabulary)))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    shared = (matrix @ matrix.T).tocoo()
    student = np.array([d.kind == "student" for d in docs], dtype=bool)
    pairs = []
    for i, j, s in zip(shared.row, shared.col, shared.data):
        if i >= j or not (student[i] or student[j]):
            continue
        score = float(s) / max(min(sizes[i], sizes[j]), min_prints)
        pairs.append(Pair(int(i), int(j), round(min(score, 1.0), 4), int(s)))
    pairs.sort(key=lambda p: (-p.score, -p.shared, docs[p.a].key, docs[p.b].key))
    best = {}
    for p in pairs:
        for me in (p.a, p.b):
            if student[me] and me not in best:
                best[me] = p
    return Comparison(docs, pairs, prints, best)
