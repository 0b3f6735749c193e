"""Similarity: which submissions share code with each other or with a known (public) solution.

The stages, in the order the data flows (each file imports only those before it):

    code.py         a Submission of the intake -> its code cells (modules and differentiation notebooks)
    fingerprint.py  a cell -> normalised text, k-gram hashes, winnowed fingerprints (copydetect's filter and winnow)
    templates.py    the hashes of the code every template gives (templates.npz), left out
    compare.py      every pair of the batch at once (sparse matrix product) -> scores in [0, 1]
    regions.py      where a pair matches: notebook, cell, lines
    report.py       the report dict, JSON, the kit CSV's "most similar to" column
    html.py         the sortable list of pairs to review and the side-by-side pages
    cli.py          python -m grader similarity SUBMISSION... [--against DIR...] --json OUT.json
"""
