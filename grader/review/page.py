"""The TA's review pages: one static HTML page per question, opened from the report folder, no server, no network.

    <folder>/index.html          the questions, with how many students and distinct answers await review
    <folder>/<question>.html     every answer group: the answer rendered (KaTeX), the reference beside, the
                                 students in it, points for the group (or a student) and a comment
    <folder>/assets/             KaTeX 0.19.1 (katex.min.js, katex.min.css, WOFF2 fonts, its MIT licence),
                                 page.js, page.css

The page keeps the TA's input in the browser's localStorage and offers "Download marks" (a JSON file, see
grader/review/marks.py), which `python -m grader --marks FILE` merges into the gradebooks and feedback.
Everything a student wrote is escaped (grader/review/markdown.py); the data the script needs is JSON in a
`<script type="application/json">` with `<` escaped, so no answer can close it.
"""
import hashlib
import html
import json
import shutil
from pathlib import Path

from grader.parts.derivations import images
from grader.review.items import collect
from grader.review.markdown import code_html, math_html, to_html

HERE = Path(__file__).resolve().parent
ASSETS = ("page.js", "page.css")


def _e(text):
    return html.escape(str(text), quote=True)


def _page_name(question_id):
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in question_id)
    return (safe or "question") + ".html"


def _head(title):
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'self' "
            "'unsafe-inline'; style-src 'self' 'unsafe-inline'; font-src 'self'; img-src 'self' data:\">"
            f"<title>{_e(title)}</title>"
            "<link rel=\"stylesheet\" href=\"assets/katex/katex.min.css\">"
            "<link rel=\"stylesheet\" href=\"assets/page.css\"></head>\n<body>\n")


def _answer_html(group):
    parts = []
    if group.answer:
        parts.append(f'<div class="answer">{math_html(group.answer)}</div>')
    if group.work:
        body = to_html(group.work)
        if group.answer:
            parts.append(f'<details><summary>everything written for this question</summary>'
                         f'<div class="work">{body}</div></details>')
        else:
            parts.append(f'<div class="work">{body}</div>')
    for image in group.images:    # base64 (items.py keeps only base64 text: no markup can come in) of a raster image
        kind = images.kind(image)   # (by its first bytes: PNG, JPEG or GIF; never SVG, which can hold script)
        if kind:
            parts.append(f'<img class="plot" alt="an image of the notebook" src="data:image/{kind};base64,{image}">')
    if not parts:
        parts.append(code_html("(nothing written for this question)"))
    return "\n".join(parts)


def _group_html(question, number, group):
    gid = _e(group.id)
    reasons = sorted({entry.reason for entry in group.entries if entry.reason})
    students = []
    for index, entry in enumerate(group.entries):
        sid = f"s-{gid}-{index}"
        students.append(
            f'<div class="student" data-student="{_e(entry.student)}"><span class="who">{_e(entry.student)}</span>'
            f'<input type="number" class="student-points" id="{sid}-points" min="0" max="{question.max_points:g}" '
            f'step="0.5" placeholder="group" aria-label="points for {_e(entry.student)}">'
            f'<textarea class="student-comment" id="{sid}-comment" placeholder="comment for this student only">'
            f'</textarea></div>')
    size = len(group.entries)
    return (f'<section class="group" data-group="{gid}" id="group-{number}">\n'
            f'<h2><span>Answer {number}</span><span>{size} student{"s" if size != 1 else ""}</span></h2>\n'
            f'{_answer_html(group)}\n'
            + (f'<p class="reason">Not decided automatically: {_e("; ".join(reasons))}</p>\n' if reasons else "")
            + f'<div class="controls"><label>points for everyone in this group '
              f'<input type="number" class="group-points" id="g-{gid}-points" min="0" '
              f'max="{question.max_points:g}" step="0.5"></label> / {question.max_points:g} '
              f'<button type="button" class="full-marks">full marks</button>'
              f'<textarea class="group-comment" id="g-{gid}-comment" placeholder="comment (shown to the students)">'
              f'</textarea></div>\n'
            + f'<details class="students"><summary>the students (a mark here overrides the group\'s)</summary>'
              f'{"".join(students)}</details>\n</section>\n')


def _question_page(question, batch):
    data = {"batch": batch, "question": question.id, "max_points": question.max_points,
            "groups": len(question.groups), "students": question.students}
    blob = json.dumps(data, ensure_ascii=True).replace("<", "\\u003c")
    groups = "".join(_group_html(question, n, g) for n, g in enumerate(question.groups.values(), 1))
    return (_head(f"Review: {question.title}")
            + f'<header><a href="index.html">all questions</a><h1>{_e(question.title)}</h1>\n'
              f'<div class="reference"><b>Reference</b> {math_html(question.reference)}</div>\n'
              f'<span class="progress" id="progress"></span> '
              f'<button type="button" id="download">Download marks</button></header>\n'
              f'<p>{question.students} students, {len(question.groups)} distinct answers (equal or equivalent '
              f'answers are grouped). Points per group, or per student under "the students"; then "Download '
              f'marks" and run <code>python -m grader ... --marks marks-{_e(question.id)}.json</code>.</p>\n'
            + groups
            + f'<script type="application/json" id="review-data">{blob}</script>\n'
              '<script src="assets/katex/katex.min.js"></script>\n<script src="assets/page.js"></script>\n'
              '</body></html>\n')


def _index_page(questions):
    rows = "".join(f'<tr><td><a href="{_page_name(q.id)}">{_e(q.title)}</a></td><td>{q.students}</td>'
                   f'<td>{len(q.groups)}</td><td>{q.max_points:g}</td></tr>' for q in questions.values())
    return (_head("Review") + "<h1>Answers awaiting a TA's review</h1>\n"
            + ('<table class="index"><tr><th>question</th><th>students</th><th>distinct answers</th>'
               f'<th>points</th></tr>{rows}</table>\n' if rows else "<p>Nothing awaits review.</p>\n")
            + "</body></html>\n")


def write_pages(reports, folder):
    """Writes the review pages of a batch's reports (report dicts) into `folder`; returns {question id: path}."""
    folder = Path(folder)
    questions = collect(reports)
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "katex", folder / "assets" / "katex", dirs_exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(HERE / name, folder / "assets" / name)
    students = sorted({e.student for q in questions.values() for g in q.groups.values() for e in g.entries})
    batch = hashlib.sha256("\n".join(students).encode("utf-8", "replace")).hexdigest()[:12]
    written = {}
    for question in questions.values():
        path = folder / _page_name(question.id)
        path.write_text(_question_page(question, batch), encoding="utf-8")
        written[question.id] = path
    (folder / "index.html").write_text(_index_page(questions), encoding="utf-8")
    return written


def write_review(reports, json_path):
    """The review pages of a batch beside its JSON (FILE's stem + `_review/`), when anything awaits a TA; returns the
    folder, or None (a folder of an earlier run is left as it is: the TA's downloads may be in it)."""
    if not any(collect(reports)):
        return None
    folder = Path(json_path).with_name(Path(json_path).stem + "_review")
    write_pages(reports, folder)
    return folder
