"""What the grader writes: the JSON list, the gradebooks, the feedback files, the summary table on the terminal.

Gradebooks, one row per student, keyed by the identifier the intake read from the platform's download:

* the kit's own CSV: key, name, submission, score, max_score, number of problems, feedback file, points per module;
* **Canvas** (``--lms canvas``): the Gradebook import layout — columns ``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one column per assignment named after it, and a ``Points Possible`` row; Canvas matches a row by
  ``ID``, the Canvas user id that the bulk download's file names carry. Documented in the Canvas Instructor Guide,
  "How do I import grades in the Gradebook?" (community.canvaslms.com) and e.g. Ohio State's "Import a CSV file to Carmen grades"
  (teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades).
* **Moodle** (``--lms moodle``): the assignment's offline grading worksheet — ``Identifier, Full name, Email
  address, Status, Grade, Maximum Grade, Grade can be changed, Last modified (submission), Last modified (grade),
  Feedback comments``. The upload ("Upload grading worksheet") locates the columns ``Identifier`` (its value
  ``Participant <id>``, the id of the download's ``Full Name_<id>_assignsubmission_file_`` folders), ``Grade`` and
  ``Last modified (grade)`` by their English names, and the feedback plugins' columns by theirs. Documented in
  MoodleDocs "Assignment settings" (Feedback types: Offline grading worksheet) and in Moodle's source,
  mod/assign/feedback/offline/importgradeslib.php (``init()`` and ``next()``).

Feedback files are named by the student's key (any script is kept: ``ДЗ3`` stays ``ДЗ3``; a repeated key gets
``-2``), in Markdown and in HTML.
"""
import csv
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from grader.parts.unreadable import awaiting_unreadable
from grader.report.mdtext import md_text
from grader.report.report import awaiting
from grader.report.safetext import clean_tree, csv_row

JSON_KEYS = ("submission", "key", "version", "graded", "score", "max_score", "awaiting_review", "checks", "errors",
             "notes", "sandbox")


def public(result):
    """The report object with exactly the documented keys."""
    return {key: result.get(key, True if key in ("sandbox", "graded") else 0 if key == "awaiting_review" else [])
            for key in JSON_KEYS}


def target_totals(result):
    """{target: (points, max_points)} in the order the checks came; a check awaiting a TA's review counts in
    neither (see grader.report.report.totals)."""
    totals = {}
    for check in result["checks"]:
        if awaiting(check):
            totals.setdefault(check["target"], (0, 0))
            continue
        points, max_points = totals.get(check["target"], (0, 0))
        totals[check["target"]] = (points + check["points"], max_points + check["max_points"])
    return totals


def target_awaiting(result):
    """{target: points awaiting a TA's review} of a report."""
    out = {}
    for check in result["checks"]:
        if awaiting(check):
            out[check["target"]] = out.get(check["target"], 0) + (check.get("max_points") or 0)
    return out


def waits_for_file(result):
    """A graded report with a notebook that could not be read and awaits a TA whole (grader/parts/unreadable.py):
    the terminal's table says "awaiting review" in place of a score (see also awaits_review)."""
    return result.get("graded") is not False and bool(awaiting_unreadable(result))


def awaits_review(result):
    """A graded report with points a TA has yet to mark: its grade is not known yet. The platform gradebooks leave
    it empty until the marks are merged (``--marks``): a partial score out of the assignment's points would count
    the points awaiting review as 0 there."""
    return result.get("graded") is not False and bool(result.get("awaiting_review"))


def _awaiting_status(result):
    """Moodle's Status cell (which its upload does not read) for a report that awaits review: what, in a few words."""
    names = list(dict.fromkeys(c["name"] for c in result.get("checks", []) if awaiting(c)))
    more = f" and {len(names) - 4} more" if len(names) > 4 else ""
    return f"awaiting a TA's review ({result['awaiting_review']:g} points): " + ", ".join(names[:4]) + more


def _points_text(points, max_points, pending):
    if pending and not max_points:
        return f"awaits a TA's review ({pending:g} points)"
    return f"{points:g} / {max_points:g}" + (f" (and {pending:g} points await a TA's review)" if pending else "")


def safe_stem(text, limit=80):
    """A file name stem from any text: letters of every script kept (ДЗ3 stays ДЗ3), the rest '_'."""
    stem = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", str(text))).strip("._")
    return stem[:limit] or "submission"


def feedback_name(result, taken):
    """The feedback file's stem: the student's key (platform id, else name), unique in the batch."""
    stem = safe_stem(result.get("key") or Path(str(result["submission"]).rstrip("/")).name.removesuffix(".zip"))
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name


class safe_writer:
    """csv.writer whose every cell goes through grader.report.safetext.csv_cell: text cleaned, and a cell a spreadsheet
    would run as a formula (=, +, -, @, tab, CR first) neutralised with an apostrophe (OWASP)."""

    def __init__(self, f):
        self.writer = csv.writer(f)

    def writerow(self, row):
        self.writer.writerow(csv_row(row))


def feedback_markdown(result):
    who = md_text(result.get("name") or result.get("key") or result["submission"])   # never a path of the TA's machine
    if result.get("graded") is False:   # never a score: the reason and what to do (grader/execution/failures.py)
        return "\n".join([f"# Feedback: {who}", "", "**Not graded yet.**", "", md_text(result["errors"][0]), ""])
    lines = [f"# Feedback: {who}", "",
             f"**Score: {result['score']:g} / {result['max_score']:g}**", ""]
    if result.get("awaiting_review"):
        lines += [f"{result['awaiting_review']:g} points await a TA's review (answers the grader does not judge "
                  "alone): they are in neither number above until a TA has marked them.", ""]
    if result.get("version") and not str(result.get("version_reason", "")).startswith("no readable"):
        lines += [f"Judged as written against {result.get('version_title', result['version'])} "
                  f"(version `{result['version']}`: {md_text(result.get('version_reason', ''))}); the maximum counts that "
                  "version's modules, and any other module your notebook defines."
                  + (f" Not part of that assignment, not counted: {md_text(', '.join(result['not_counted']))}."
                     if result.get("not_counted") else ""), ""]
    if result.get("fast"):
        lines += ["(Graded with `--fast`: the main notebook was not run.)", ""]
    if not result.get("sandbox", True):
        lines += ["(Graded **without a sandbox** (`--no-sandbox`): the notebooks ran unconfined.)", ""]
    if result.get("notes"):
        lines += ["## What was graded", ""] + [f"- {md_text(n)}" for n in result["notes"]] + [""]
    if result["errors"]:
        lines += ["## Problems running your notebooks", ""] + [f"- {md_text(e)}" for e in result["errors"]] + [""]
    lines += ["## Summary", "", "| part | points |", "|---|---|"]
    pending = target_awaiting(result)
    for target, (points, max_points) in target_totals(result).items():
        lines.append(f"| {target} | {_points_text(points, max_points, pending.get(target, 0))} |")
    names = {c["target"]: c["defined_as"] for c in result["checks"] if c.get("defined_as") not in (None, c["target"])}
    if names:
        lines += ["", "Your names: " + ", ".join(f"{target} is your `{name}`" for target, name in names.items()) + "."]
    lines += ["", "## Every check", ""]
    current = None
    for check in result["checks"]:
        if check["target"] != current:
            current = check["target"]
            lines += ["", f"### {current}", "", "| | check | points | message |", "|---|---|---|---|"]
        mark = "awaits review" if awaiting(check) else "ok" if check["passed"] else "**FAILED**"
        points = f"– / {check['max_points']:g}" if awaiting(check) else f"{check['points']:g} / {check['max_points']:g}"
        message = md_text(check["message"], table=True)
        lines.append(f"| {mark} | {md_text(check['name'], table=True)} | {points} | {message} |")
    return "\n".join(lines) + "\n"


LMS = ("canvas", "moodle")
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def feedback_html(result):
    """The Markdown feedback as a standalone HTML page (a TA pastes or uploads it as a comment)."""
    import html
    import mistune
    body = mistune.create_markdown(plugins=["table"], escape=True)(feedback_markdown(result))
    title = html.escape(f"Feedback: {result.get('name') or result.get('key') or result['submission']}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}</style></head>\n"
            f"<body>\n{body}</body></html>\n")


def _comment(result):
    """The platform's feedback comment, which the student reads: self-contained (no file of the TA's machine)."""
    parts = "; ".join(f"{t} {p:g}/{m:g}" for t, (p, m) in _parts(result).items())
    lost = [f"{t} {p:g}/{m:g}" for t, (p, m) in target_totals(result).items() if p < m]
    text = f"Score {result['score']:g}/{result['max_score']:g} ({parts})."
    if result.get("awaiting_review"):
        text += f" {result['awaiting_review']:g} points await a TA's review."
    if lost:
        more = f" and {len(lost) - 6} more" if len(lost) > 6 else ""
        text += " Points lost in: " + ", ".join(lost[:6]) + more + "."
    if result["errors"]:
        text += f" Problems ({len(result['errors'])}): " + "; ".join(
            e if len(e) <= 200 else e[:199] + "…" for e in result["errors"][:3])
        text += (" …" if len(result["errors"]) > 3 else "") + ("" if text.endswith(".") else ".")
    return text


def _parts(result):
    """Points per part of the homework: the modules together, the differentiation, the main notebook."""
    parts = {}
    for target, (points, max_points) in target_totals(result).items():
        part = target if target in ("differentiation", "main notebook") else "modules"
        got, top = parts.get(part, (0, 0))
        parts[part] = (got + points, top + max_points)
    return parts


def _rows_for(results, platform):
    """The reports one platform's gradebook holds: its own students and those of plain folders (no platform id:
    the TA fills it in); never another platform's students (an empty or foreign id that the importer would
    match by name, or refuse)."""
    return [r for r in results if r.get("platform", "folder") in (platform, "folder")]


def _student(result):
    """The name a platform's gradebook shows: the platform's, else the key (a plain folder's name), never a path
    of the TA's machine."""
    return result.get("name") or result.get("key") or Path(str(result["submission"]).rstrip("/")).name


def graded(results):
    """The reports that are grades (a report with graded false is the grader's failure, never a score)."""
    return [r for r in results if r.get("graded") is not False]


def gradebook_top(results):
    """The gradebooks' full marks: the largest maximum among the graded reports."""
    return max((r["max_score"] for r in graded(results)), default=0)


def platform_grade(result, top, scale=False):
    """The score a platform's gradebook gets, out of `top` (the batch's largest maximum), as the cell's text. With
    `scale` (the instructor's ``--scale-versions``) every version is on one scale: a perfect 2017
    notebook is 100 %, `top`, not its own smaller maximum. Without it the score stands as graded: a smaller maximum
    is never scaled up to full marks. A report that is not graded has no grade: the cell stays empty, so an upload
    changes nothing for that student."""
    if result.get("graded") is False or awaits_review(result):   # no grade yet: never a 0 (see awaits_review)
        return ""
    if not result["max_score"]:
        return "0"
    return f"{round(result['score'] * top / result['max_score'], 2) if scale else round(result['score'], 2):g}"


def write_canvas(results, path, assignment, scale=False):
    """Canvas's gradebook import layout: Student, ID, SIS User ID, SIS Login ID, Section, then one column per
    assignment (header: its name), a 'Points Possible' row first. Canvas matches rows by ID (the Canvas user id,
    which the bulk download's file names carry). Scores out of the batch's largest maximum (see platform_grade)."""
    top = gradebook_top(results)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = safe_writer(f)
        writer.writerow(CANVAS_COLUMNS + [assignment])
        writer.writerow(["    Points Possible", "", "", "", "", f"{top:g}"])
        for r in _rows_for(results, "canvas"):
            canvas = r.get("platform") == "canvas"
            writer.writerow([_student(r), r.get("key", "") if canvas else "", "", "", "", platform_grade(r, top, scale)])


def write_moodle(results, path, scale=False):
    """Moodle's offline grading worksheet layout (Assignment > Download grading worksheet): the import reads
    'Identifier' ('Participant <id>', the id in the download's folder names), 'Grade' and 'Last modified (grade)',
    and 'Feedback comments' when feedback comments are on. Grades out of the batch's largest maximum (see
    platform_grade): set the
    assignment's maximum grade in Moodle to the 'Maximum Grade' written here."""
    import datetime
    now = datetime.datetime.now().strftime("%A, %d %B %Y, %I:%M %p")
    top = gradebook_top(results)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = safe_writer(f)
        writer.writerow(MOODLE_COLUMNS)
        for r in _rows_for(results, "moodle"):
            moodle = r.get("platform") == "moodle"
            # not graded, or points awaiting a TA: no grade, no date, no comment (an upload changes nothing);
            # the Status column (which the upload does not read) says why for the TA
            done = r.get("graded") is not False and not awaits_review(r)
            status = _awaiting_status(r) if awaits_review(r) else ""
            writer.writerow([f"Participant {r.get('key', '')}" if moodle else "", _student(r), "",
                             status, platform_grade(r, top, scale), f"{top:g}", "Yes", "", now if done else "",
                             _comment(r) if done else ""])


SIMILAR_COLUMN = "most similar to (score)"


def write_reports(results, json_path, lms=None, assignment="HW3", scale=False, similar=None):
    """Writes FILE (JSON), FILE's stem + .csv (the kit's gradebook: points per module), + _canvas.csv or
    _moodle.csv (the platform's import layout; by default for each platform the intake found), + _feedback/
    (one .md and one .html per student, named by the student's key) and + _summary.png (the batch at a glance).
    scale: the platform gradebooks put every assignment version on one scale (only when the instructor asks,
    ``--scale-versions``; see platform_grade). similar: {key: "name (score)"} from the similarity
    report (``--similarity``): the kit CSV's last column, SIMILAR_COLUMN.

    Returns {what: path}.
    """
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    # A submission's text may hold lone surrogates (no UTF-8 writer takes them): replaced once, for every file.
    results = [clean_tree(r) for r in results]
    json_path.write_text(json.dumps([public(r) for r in results], indent=1, ensure_ascii=False), encoding="utf-8")
    csv_path = json_path.with_suffix(".csv")
    targets = list(dict.fromkeys(t for r in results for t in target_totals(r)))
    feedback_dir = json_path.with_name(json_path.stem + "_feedback")
    feedback_dir.mkdir(exist_ok=True)
    taken = set()
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = safe_writer(f)
        writer.writerow(["key", "name", "submission", "version", "score", "max_score", "awaiting_review", "errors",
                         "sandbox", "feedback"] + targets + ([SIMILAR_COLUMN] if similar is not None else []))
        for r in results:
            stem = feedback_name(r, taken)
            (feedback_dir / f"{stem}.md").write_text(feedback_markdown(r), encoding="utf-8")
            (feedback_dir / f"{stem}.html").write_text(feedback_html(r), encoding="utf-8")
            feedback = str(Path(feedback_dir.name) / f"{stem}.md")
            totals = target_totals(r)
            if r.get("graded") is False:   # never a 0: the reason is the feedback file's and the JSON's
                score, top, review, points = "not graded", "", "", [""] * len(targets)
            else:
                score, top, review = r["score"], r["max_score"], r.get("awaiting_review", 0)
                pending = target_awaiting(r)   # a notebook that awaits a TA whole: "awaiting review", never a 0
                points = ["awaiting review" if pending.get(t) and not totals[t][1] else
                          f"{totals[t][0]:g}" if t in totals else "" for t in targets]
            writer.writerow([r.get("key", ""), r.get("name", ""), r["submission"], r.get("version", ""), score, top,
                             review, len(r["errors"]), "yes" if r.get("sandbox", True) else "no", feedback] + points
                            + ([similar.get(r.get("key"), "")] if similar is not None else []))
    written = {"json": json_path, "csv": csv_path, "feedback": feedback_dir}
    platforms = [lms] if lms else [p for p in LMS if any(r.get("platform") == p for r in results)]
    for platform in platforms:
        path = json_path.with_name(f"{json_path.stem}_{platform}.csv")
        (write_canvas(results, path, assignment, scale) if platform == "canvas" else write_moodle(results, path, scale))
        written[platform] = path
    if graded(results):
        from grader.report.summary import summary_png
        written["summary"] = summary_png(graded(results), json_path.with_name(json_path.stem + "_summary.png"))
    return written


def summary_table(results):
    """The terminal's table: one line per submission, with its key when it is not the name shown (two students of
    one name, e.g. 'John Smith', are then told apart)."""
    def who(r):
        label = str(r["submission"])
        return f"{label} ({r['key']})" if r.get("platform") in LMS and r.get("key") else label
    width = max([len(who(r)) for r in results] + [10])
    lines = [f"{'submission':<{width}}  {'version':<10}  {'score':>15}  {'errors':>6}  {'seconds':>7}", "-" * (width + 48)]
    for r in results:
        score = (f"{'not graded':>15}" if r.get("graded") is False else f"{'awaiting review':>15}" if waits_for_file(r)
                 else f"{r['score']:>8g} / {r['max_score']:<4g}")
        lines.append(f"{who(r):<{width}}  {str(r.get('version') or '-'):<10}  {score}  {len(r['errors']):>6}  "
                     f"{r.get('seconds', 0):>7.1f}")
    versions = Counter(str(r.get("version")) for r in graded(results) if r.get("version"))
    if len(versions) > 1:   # a TA should see at once that some notebooks were written against another version
        lines += ["", "Assignment versions in this batch (each notebook judged by the one it was written against): "
                  + ", ".join(f"{name} {n}" for name, n in versions.most_common())
                  + f". The platform gradebooks count every score out of {gradebook_top(results):g}; a smaller "
                  "maximum is scaled up only with --scale-versions. --profile NAME judges every notebook by one version."]
    waiting = [r for r in results if waits_for_file(r)]
    if waiting:   # never a 0: a TA looks at the file, then --marks merges the mark
        lines += ["", f"AWAITING A TA'S REVIEW ({len(waiting)}; a notebook could not be graded as handed in (unreadable, "
                  "handed in twice over, or its classes in another notebook): its points are "
                  "in neither the score nor the maximum, and the grades are left empty in the Canvas and Moodle "
                  "gradebooks until a TA's marks are merged with --marks; see the review pages):"]
        lines += [f"  {who(r)}: " + "; ".join(c["name"] for c in awaiting_unreadable(r))
                  + f" ({r['awaiting_review']:g} points await review; {r['score']:g} / {r['max_score']:g} automatic)"
                  for r in waiting]
    partial = [r for r in results if awaits_review(r) and not waits_for_file(r)]
    if partial:   # answers the grader does not judge alone (a derivation, the main notebook's opinion ...)
        lines += ["", f"{len(partial)} submission(s) have answers awaiting a TA's review "
                  f"({sum(r['awaiting_review'] for r in partial):g} points in all, in neither score nor maximum): "
                  "their grades are left empty in the Canvas and Moodle gradebooks until the TA's marks are merged "
                  "with --marks (see the review pages)."]
    missing = [r for r in results if r.get("graded") is False]
    if missing:   # their grades are left empty in the Canvas and Moodle gradebooks
        lines += ["", f"NOT GRADED ({len(missing)}; their grades are left empty in the gradebooks):"]
        lines += [f"  {who(r)}: {r['errors'][0]}" for r in missing]
    return "\n".join(lines)
