"""The TA's review of what the grader does not decide alone (derivations it could not read with confidence, a
course main notebook's opinions), offline: static pages, a marks file, the merge.

    items     the review items of a batch's reports, grouped (equal or equivalent answers: one group)
    markdown  a student's markdown and math as safe HTML (mistune, escaped; math left for KaTeX)
    page      one HTML page per question + an index, KaTeX vendored beside them (katex/, MIT)
    marks     the marks file the page downloads, read strictly and merged into the reports (re-runnable)
"""
