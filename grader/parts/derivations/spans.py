"""Delimited spans of a student's text (math in markdown: ``$$...$$``, ``\\[...\\]``, ``\\begin{align}...\\end{align}``,
``$...$``, ``\\(...\\)``), found as a regular expression ``OPENING(.+?)CLOSING`` (DOTALL) finds them with ``finditer``,
leftmost first, the shortest body, but in linear time.

Why not the regular expression itself: from an opening with no closing after it, the engine scans to the end of the
text, and does so again from every later opening; a markdown cell of 33,000 ``\\(`` took 13 s to read and as long
again to show on the review page, in the grader's own process, where no cell limit applies (a notebook of such cells
stalled the batch for the better part of an hour). Here the closing of each kind of opening is looked for once past
an opening: when none follows it, none follows any later opening of that kind, which is then skipped at once.
"""


def find(text, openings, closing, least=1):
    """[(start, end, opening match, closing match)] of every span of `text`, in order, none overlapping.

    `openings`: a compiled pattern matching every opening (lookbehinds see the text before the search position, as in
    ``finditer``); `closing(opening match)`: (kind, compiled pattern of its closing), the kind naming the openings that
    share that closing; `least`: characters the body holds at least (1 for ``.+?``, 0 for ``.*?``)."""
    spans, dead, position = [], set(), 0
    while True:
        opening = openings.search(text, position)
        if opening is None:
            return spans
        kind, pattern = closing(opening)
        found = None if kind in dead else pattern.search(text, opening.end() + least)
        if found is None:
            dead.add(kind)
            position = opening.start() + 1      # as finditer: the next try starts one character later
            continue
        spans.append((opening.start(), found.end(), opening, found))
        position = found.end() if found.end() > opening.start() else opening.start() + 1


def body(text, span):
    """The text between a span's opening and its closing."""
    return text[span[2].end():span[3].start()]


def replace(text, spans, replacement):
    """`text` with each span replaced by `replacement(span)` (a string), as ``pattern.sub`` replaces its matches."""
    out, position = [], 0
    for span in spans:
        out += [text[position:span[0]], replacement(span)]
        position = span[1]
    out.append(text[position:])
    return "".join(out)
