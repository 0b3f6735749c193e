"""A TA's marks (the JSON file a review page downloads) merged into a batch's reports; re-runnable.

The file (one per page, or several pages' marks in one; `python -m grader --marks FILE` may name several):

    {"kind": "hw3-review-marks", "version": 1,
     "marks": [{"student": "12345", "question": "ex1", "group": "9f2c...", "points": 2.5, "comment": "..."}, ...]}

A mark applies to the student's check for that question only if the answer is still the one the TA saw (the same
`group`): a submission graded again with another answer stays awaiting review, with a note. Applying the same file
twice gives the same reports (a mark sets the points, it does not add them).

Points awaiting review are outside the automatic score and maximum; a marked check counts in both (:func:`rescore`).
"""
import json
import math

from grader.report.report import totals
from grader.review.items import review_checks, student_key

KIND = "hw3-review-marks"


class MarksError(ValueError):
    """The marks file cannot be used (the message names the file and the entry)."""


def read_marks(path):
    """{(student, question): mark dict} from one marks file. Raises MarksError naming the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MarksError(f"{path}: not a readable marks file ({error})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("marks"), list):
        raise MarksError(f"{path}: not a marks file of the review pages (kind {KIND!r} with a list of marks)")
    marks = {}
    for number, mark in enumerate(data["marks"], 1):
        if not isinstance(mark, dict) or not all(isinstance(mark.get(k), str) for k in ("student", "question")):
            raise MarksError(f"{path}: mark {number} has no student or question")
        points = mark.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) \
                or points < 0:
            raise MarksError(f"{path}: mark {number} ({mark['student']}, {mark['question']}): points must be a "
                             f"number of at least 0, not {points!r}")
        comment = mark.get("comment", "")
        marks[(mark["student"], mark["question"])] = {
            "points": float(points), "group": str(mark.get("group") or ""),
            "comment": comment if isinstance(comment, str) else ""}
    return marks


def read_all(paths):
    """The marks of several files, a later file's mark replacing an earlier one's."""
    marks = {}
    for path in paths:
        marks.update(read_marks(path))
    return marks


def apply_marks(reports, marks):
    """Merges `marks` into the report dicts (in place) and rescores them; returns how many marks were applied."""
    applied = 0
    for report in reports:
        student = student_key(report)
        for check in review_checks(report):
            review = check["review"]
            mark = marks.get((student, str(review.get("question"))))
            if mark is None:
                continue
            if mark["group"] and mark["group"] != review.get("group"):
                note = (f"a TA's mark for {review.get('title') or review.get('question')} was given to another "
                        "answer than the one graded now: not applied, the question awaits review again")
                if note not in report.setdefault("notes", []):
                    report["notes"].append(note)
                continue
            maximum = float(check.get("max_points") or 0)
            points = min(mark["points"], maximum)
            points = int(points) if float(points).is_integer() else points
            check["points"], check["passed"] = points, points >= maximum
            review["status"], review["comment"] = "marked", mark["comment"]
            title = review.get("title") or review.get("question")
            check["message"] = f"{title}: marked by a TA, {points:g}/{maximum:g}" + (
                f". {mark['comment']}" if mark["comment"] else "")
            applied += 1
        rescore(report)
    return applied


def rescore(report):
    """score, max_score and awaiting_review of a report dict after marks (grader.report.report.totals)."""
    report["score"], report["max_score"], report["awaiting_review"] = totals(report.get("checks", []))
    return report
