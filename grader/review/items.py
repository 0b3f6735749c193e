"""What awaits a TA: the review items of a batch's reports, grouped so that each distinct answer is marked once.

A check that awaits review carries a `review` object (its keys: grader/parts/awaiting.py), written by the part that
could not decide (the derivations judge, the main notebook's outputs).
"""
import re
from dataclasses import dataclass, field

from grader.parts.awaiting import group_id

_BASE64 = re.compile(r"^[A-Za-z0-9+/]+=*$")


def student_key(report):
    """Who a report is: the platform's id or the name the intake gave (the gradebooks' key)."""
    return str(report.get("key") or report.get("submission") or "")


@dataclass
class Entry:
    """One student's answer to one question awaiting (or having had) review."""
    student: str
    submission: str
    points: float
    max_points: float
    answer: str
    work: str
    reason: str
    status: str
    images: tuple = ()            # base64 PNG, JPEG or GIF images (a main notebook's plots, a photographed derivation)


@dataclass
class Group:
    id: str
    entries: list = field(default_factory=list)

    @property
    def answer(self):
        """The group's answer as shown: the first entry's (they are equal or equivalent)."""
        return self.entries[0].answer

    @property
    def work(self):
        return self.entries[0].work

    @property
    def images(self):
        return self.entries[0].images


@dataclass
class Question:
    id: str
    title: str
    reference: str
    max_points: float
    groups: dict = field(default_factory=dict)     # group id -> Group, in order of first appearance

    @property
    def students(self):
        return sum(len(group.entries) for group in self.groups.values())


def review_checks(report):
    """The checks of one report that carry a review object."""
    return [check for check in report.get("checks", []) if isinstance(check.get("review"), dict)]


def collect(reports):
    """{question id: Question} over a batch's reports (report dicts as the JSON writes them), groups largest first."""
    questions = {}
    for report in reports:
        for check in review_checks(report):
            review = check["review"]
            qid = str(review.get("question") or check.get("name") or "?")
            question = questions.setdefault(qid, Question(qid, str(review.get("title") or qid),
                                                          str(review.get("reference") or ""),
                                                          float(check.get("max_points") or 0)))
            gid = str(review.get("group") or group_id(review.get("answer", "")))
            question.groups.setdefault(gid, Group(gid)).entries.append(Entry(
                student_key(report), str(report.get("submission") or ""), float(check.get("points") or 0),
                float(check.get("max_points") or 0), str(review.get("answer") or ""), str(review.get("work") or ""),
                str(review.get("reason") or ""), str(review.get("status") or "awaiting"),
                tuple(i for i in review.get("images") or () if isinstance(i, str) and _BASE64.match(i))))
    for question in questions.values():
        question.groups = dict(sorted(question.groups.items(), key=lambda kv: -len(kv[1].entries)))
    return dict(sorted(questions.items()))
