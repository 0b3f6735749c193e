"""The similarity report of a batch: from the intake's submissions to the JSON a TA reads (and the HTML pages).

    report = similarity(discover(paths), known=discover_known(dirs))
    write_json(report, "similarity.json")
    most_similar(report)["12345"] == "Bob Smith (0.93)"

`report` is a plain dict (JSON-ready, deterministic: the same input gives the same bytes):

* ``submissions``: one entry per student and per known solution: ``key`` and ``name`` as the gradebook names
  them, ``kind`` ("student" or "known solution"), ``fingerprints`` (how many of their own, after the template's
  code is left out), ``problems`` (one line per notebook that could not be read);
* ``pairs``: every pair scoring at least ``LISTED``, best first: ``a`` and ``b`` (key, name, kind), ``score`` in
  [0, 1], ``shared`` (fingerprints), ``regions`` (``regions.matching_regions``: notebook, cell, lines on each side);
  ``b`` is the known solution when there is one;
* ``most_similar``: per student key, the key, name and score of the submission or known solution they share most
  with (whatever the score);
* ``thresholds`` and ``method``: what the numbers mean.

Thresholds (README, "Similarity"): ``REVIEW`` = 0.8, the pairs the HTML page lists: every disguised copy of
the generated batches scored 0.92 or more, the best of 4,950 pairs of independently written students 0.71
(tests/similarity_corpus.py: students who draw each method from three or four implementations, so two of them
share a third of their methods outright: harsher than real classes); ``LISTED`` = 0.6, the pairs the JSON
keeps for a closer look.
"""
import json
from pathlib import Path

from grader.intake.discover import discover, match_tier
from grader.report.safetext import clean_tree
from grader.similarity.code import code_of
from grader.similarity.compare import Document, Pair, compare
from grader.similarity.fingerprint import GUARANTEE, K, NORMALISER, fingerprint_many
from grader.similarity.regions import matching_regions
from grader.similarity.templates import given_hashes

REVIEW = 0.8
LISTED = 0.6
KINDS = {"student": "student", "known": "known solution"}


def _solutions_in(folder):
    """The paths of the known solutions in `folder` (see discover_known)."""
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    if any(e.is_dir() or e.suffix.lower() == ".zip" for e in entries):
        return [e for e in entries if e.is_dir() or e.suffix.lower() in (".zip", ".ipynb")]
    notebooks = [e for e in entries if e.suffix.lower() == ".ipynb"]
    kinds = [match_tier(e.name) for e in notebooks]
    if len({k[0] for k in kinds if k}) == len(notebooks):     # at most one of each kit notebook: one solution
        return [folder]
    return notebooks


def discover_known(folders, staging=None):
    """Submissions of the known solutions in `folders`.

    In a folder of solutions, each sub-folder, zip and notebook file is one solution; a folder that holds only
    notebooks, at most one of each kit notebook (``HW3_Modules.ipynb``, ``homework_modules.ipynb``...), is one
    solution.
    """
    paths = []
    for folder in map(Path, folders):
        paths += _solutions_in(folder) if folder.is_dir() and not folder.is_symlink() else [folder]
    return discover(paths, staging) if paths else []


def _documents(submissions, jobs):
    """[Document] of (submission, kind) pairs; every distinct cell fingerprinted once, in `jobs` processes."""
    read = [(s, kind, *code_of(s)) for s, kind in submissions]
    cache = fingerprint_many([c.source for _, _, cells, _ in read for c in cells], jobs)
    return [Document.of(s.key, s.name or s.key, kind, cells, problems, cache) for s, kind, cells, problems in read]


def _who(doc):
    return {"key": doc.key, "name": doc.name, "kind": KINDS[doc.kind]}


def similarity(students, known=(), listed=LISTED, given=None, jobs=None):
    """The report dict of `students` (intake Submissions) against each other and against `known` ones.

    given: template hashes to leave out (default: the shipped ones); jobs: processes that fingerprint.
    """
    docs = _documents([(s, "student") for s in students] + [(s, "known") for s in known], jobs)
    taken = {d.key for d in docs if d.kind == "student"}
    for doc in docs:
        if doc.kind != "known":
            continue
        base, n = f"known:{doc.key}", 1
        doc.key = base
        while doc.key in taken:            # a known solution never shares a key with a student
            n += 1
            doc.key = f"{base}-{n}"
        taken.add(doc.key)
    result = compare(docs, given_hashes() if given is None else given)
    pairs = []
    for pair in result.pairs:
        if pair.score < listed:
            break
        a, b = (pair.b, pair.a) if docs[pair.a].kind == "known" else (pair.a, pair.b)    # the student first
        oriented = Pair(a, b, pair.score, pair.shared)
        pairs.append({"a": _who(docs[a]), "b": _who(docs[b]), "score": pair.score, "shared": pair.shared,
                      "regions": matching_regions(result, oriented)})
    best = {}
    for index, pair in sorted(result.best.items()):
        other = pair.b if pair.a == index else pair.a
        best[docs[index].key] = {**_who(docs[other]), "score": pair.score}
    return {
        "method": {"fingerprints": "winnowed k-grams of normalised code (copydetect's filter and winnowing)",
                   "k": K, "guarantee": GUARANTEE, "normaliser": NORMALISER,
                   "score": "shared fingerprints / fingerprints of the smaller of the two (template's code left out)"},
        "thresholds": {"review": REVIEW, "listed": listed},
        "submissions": [{**_who(d), "fingerprints": int(len(k)), "problems": d.problems}
                        for d, k in zip(docs, result.kept)],
        "pairs": pairs,
        "most_similar": best,
        "_cells": {d.key: [{"notebook": c.notebook, "cell": c.index, "source": c.source} for c in d.cells]
                   for d in docs},
    }


def public(report):
    """The report without its private ``_cells`` (the code the HTML pages show), as the JSON file holds it."""
    return {k: v for k, v in report.items() if not k.startswith("_")}


def write_json(report, path):
    # clean_tree: a lone surrogate in a notebook's text (valid JSON, not UTF-8) becomes U+FFFD, as in every report
    Path(path).write_text(json.dumps(clean_tree(public(report)), ensure_ascii=False) + "\n", encoding="utf-8")


def most_similar(report):
    """{student key: "name (score)"}: the kit CSV's column "most similar to … (score)"; "" without any match."""
    out = {s["key"]: "" for s in report["submissions"] if s["kind"] == "student"}
    for key, other in report["most_similar"].items():
        out[key] = f"{other['name']} ({other['score']:.2f})"
    return out


def problem_lines(report):
    """One line per submission with notebooks that could not be read (what the intake and reader said)."""
    return [f"{s['name']}: {problem}" if s["name"] == s["key"] else f"{s['name']} ({s['key']}): {problem}"
            for s in report["submissions"] for problem in s["problems"]]
