"""Fingerprints of code: normalised the way MOSS and copydetect do, hashed, winnowed.

    fp = fingerprint_cell(source)
    fp.hashes      # every k-gram's hash (int64), one per position of the normalised text
    fp.selected    # the winnowed positions: the cell's fingerprints
    fp.lines       # for each character of the normalised text, the line (1-based) of the cell it came from

Normalisation (what a student who disguises a copy changes, and two honest students write differently) follows
copydetect 0.5.0's ``filter_code`` (Pygments' Python lexer): whitespace and comments are dropped, variable and
attribute names become ``V``, names of functions defined become ``F`` and of classes ``O``, string contents
``S``. Additions: docstrings are dropped like comments (a copier adds or rewrites them), built-in names become ``V`` (``input``, the templates'
parameter name, is a built-in for the lexer; a student who renames it changes nothing), an augmented
assignment ``x += y`` is written ``x = x + y`` (the same tokens as the long form), and every ``def`` and
``class`` starts a new segment: no k-gram spans two functions, so reordering methods or classes changes no
fingerprint. Each character keeps the
line of the cell it came from, so a match is shown on the student's own lines.

Hashes are Karp-Rabin hashes of the normalised text's k-grams of characters (as in Schleimer, Wilkerson and
Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003), computed with numpy and
finished with splitmix64: the same text gives the same hashes in every process. (copydetect's own
``hashed_kgrams`` uses Python's ``hash()`` of strings, which is salted per process: its fingerprints, and so
its results, change from run to run.) Winnowing is copydetect's ``utils.winnow`` (robust winnowing: the
rightmost smallest hash of every window). A match of ``GUARANTEE`` characters or more is always found; one
shorter than ``K`` never is.
"""
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from copydetect import utils as copydetect_utils
from pygments import token
from pygments.lexers import PythonLexer

K = 25                # characters of normalised text per k-gram (copydetect's default noise threshold)
GUARANTEE = 30        # a shared run this long is always fingerprinted
WINDOW = GUARANTEE - K + 1
NORMALISER = "copydetect-0.5.0-filter+builtins+nodoc+augassign+def-segments/karp-rabin-257-splitmix64"   # names the hashes' recipe

_BASE = np.uint64(257)
_AUG_OPS = {"+", "-", "*", "/", "//", "%", "@", "**", ">>", "<<", "&", "|", "^"}
_VARIABLE = (token.Name, token.Name.Variable, token.Name.Attribute, token.Name.Builtin,
             token.Name.Variable.Magic, token.Name.Function.Magic)
_LEXER = PythonLexer(stripnl=False, ensurenl=False)


@dataclass
class CellPrint:
    """The normalised text of one cell and its k-grams.

    text: the normalised text (str, n characters); lines: int32 (n,), the cell line of each character;
    hashes: int64 (max(n - K + 1, 0),), the hash of the k-gram starting at each character;
    selected: int64 (m,), the positions winnowing keeps (sorted, unique; no k-gram that spans two segments).
    """
    text: str
    lines: np.ndarray
    hashes: np.ndarray
    selected: np.ndarray


_KIND_CACHE = {}


def _kind(kind):
    """What a Pygments token kind becomes: "drop", "space", "V", "F", "O", "string" or "keep" (cached: the
    subtype tests of Pygments' token kinds are slow and a notebook has thousands of tokens)."""
    found = _KIND_CACHE.get(kind)
    if found is None:
        if kind in token.Comment and kind not in (token.Comment.Preproc, token.Comment.Hashbang):
            found = "drop"
        elif kind in token.Literal.String.Doc:       # a docstring is a comment (copydetect keeps it as S)
            found = "drop"
        elif kind in token.Text or kind in token.Whitespace:
            found = "space"
        elif kind in _VARIABLE:
            found = "V"
        elif kind in token.Name.Function:
            found = "F"
        elif kind in token.Name.Class:
            found = "O"
        elif kind in token.Literal.String:
            found = "string"
        elif kind in token.Operator:
            found = "operator"
        elif kind in token.Keyword:
            found = "keyword"
        else:
            found = "keep"
        _KIND_CACHE[kind] = found
    return found


def _symbols(source):
    """(symbol, line) pairs of the normalised token stream of `source`, augmented assignments spelled out."""
    out = []
    statement = 0          # index in `out` where the current statement starts
    assigned = False       # the statement has its assignment already: a later `op=` is not spelled out again
    depth = 0
    pending_op = None      # an operator token that may be the first half of an augmented assignment
    line = 1
    for _, kind, value in _LEXER.get_tokens_unprocessed(source):
        here = line
        line += value.count("\n")
        what = _kind(kind)
        if what == "drop":
            continue
        if what == "space":
            if "\n" in value and depth == 0:
                statement, assigned = len(out), False
            continue
        if what in ("V", "F", "O"):
            symbol = what
        elif what == "string":
            symbol = '"' if value in ("'", '"') else "S"
        else:
            symbol = value
        if symbol in "([{" and len(symbol) == 1:
            depth += 1
        elif symbol in ")]}" and len(symbol) == 1:
            depth = max(depth - 1, 0)
        elif symbol == ";" and depth == 0:
            out.append((symbol, here))
            statement, assigned = len(out), False
            continue
        if symbol in ("def", "class") and what == "keyword":
            out.append(("", here))       # an empty symbol: a segment boundary (see normalise)
        if symbol == "=" and pending_op is not None and depth == 0 and pending_op == len(out) - 1 and not assigned:
            # `target op= value` -> `target = target op value`: the tokens of the long form. Once a statement: each
            # spelled-out target holds the one before, so `x += x += x ...` (which the lexer reads, Python never
            # runs) doubled at every `+=`, 2^30 tokens from 150 characters of a cell: the grader's memory gone
            op, op_line = out.pop()
            target = out[statement:]
            out.append(("=", here))
            out.extend(target)
            out.append((op, op_line))
            pending_op, assigned = None, True
            continue
        if symbol == "=" and depth == 0:
            assigned = True
        pending_op = len(out) if (what == "operator" and value in _AUG_OPS and depth == 0) else None
        out.append((symbol, here))
    return out


def normalise(source):
    """(text, lines, starts): the normalised text of `source`, per character the source line it came from, and
    the positions where segments start (0 and every ``def`` / ``class``)."""
    symbols = _symbols(source)
    text = "".join(s for s, _ in symbols)
    lines = np.fromiter((ln for s, ln in symbols for _ in s), dtype=np.int32, count=len(text))
    starts, at = [0], 0
    for symbol, _ in symbols:
        if symbol == "" and at > starts[-1]:
            starts.append(at)
        at += len(symbol)
    return text, lines, starts


def kgram_hashes(text, k=K):
    """int64 (len(text) - k + 1,): a deterministic 52-bit hash of every k-gram of characters of `text`."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):                       # Karp-Rabin: sum of c[i+j] * B^(k-1-j), modulo 2^64
            h = h * _BASE + codes[j:j + n]
        h ^= h >> np.uint64(30)                  # splitmix64's finaliser spreads the bits evenly
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    # 52 bits: copydetect's winnowing compares in float64, which holds them exactly
    return (h >> np.uint64(12)).astype(np.int64)


def fingerprint_cell(source):
    """CellPrint of one code cell's source (any text: the lexer never fails)."""
    text, lines, starts = normalise(source)
    hashes = kgram_hashes(text)
    chosen = []
    for start, end in zip(starts, starts[1:] + [len(text)]):
        if end - start < K:
            continue
        _, picked = copydetect_utils.winnow(hashes[start:end - K + 1], WINDOW, remove_duplicates=False)
        chosen.append(np.asarray(picked, dtype=np.int64) + start)
    selected = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return CellPrint(text, lines, hashes, selected)


PARALLEL_FROM = 300      # distinct cells: below this, starting worker processes costs more than it saves


def fingerprint_many(sources, jobs=None):
    """{source: CellPrint} of distinct cell sources, in `jobs` processes (default: one per core).

    Lexing is most of the time of a batch (Pygments is pure Python), and cells are independent. Workers are
    forked when this process runs one thread (the command line); spawned when it runs more (after grading:
    Dask's or a progress bar's threads may hold a lock that a fork would copy, held forever).
    """
    distinct = sorted(set(sources))
    jobs = os.cpu_count() or 1 if jobs is None else jobs
    if jobs <= 1 or len(distinct) < PARALLEL_FROM:
        return {src: fingerprint_cell(src) for src in distinct}
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        return dict(zip(distinct, pool.map(fingerprint_cell, distinct, chunksize=64)))
