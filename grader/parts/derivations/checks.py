"""The derivations judge's verdicts as report checks: one check per question; a question in review carries the
`review` object the TA's pages read (grader/review/items.py) and is left out of the automatic score and maximum."""
from grader.parts.derivations.judge import QuestionVerdict
from grader.parts.awaiting import review_object

TARGET = "differentiation"


def _answer_tex(verdict: QuestionVerdict):
    """The equations the judge found, one per item, for the page (empty when none was found)."""
    shown = [item.equation for item in verdict.items if item.equation]
    if len(shown) < 2:
        return "".join(shown)
    return r"\begin{gathered}" + r" \\ ".join(shown) + r"\end{gathered}"


def check_of(verdict: QuestionVerdict):
    """The check of one question (the keys of the report's `checks`, plus `review` when a TA decides)."""
    check = {"target": TARGET, "defined_as": None, "name": verdict.title, "passed": verdict.status == "pass",
             "points": verdict.points, "max_points": verdict.max_points, "message": verdict.message}
    if verdict.status == "pass":
        check["message"] = ""
    if verdict.status == "review":
        check["review"] = review_object(
            verdict.id, verdict.title, (verdict.id, verdict.key),
            "; ".join(f"{item.label}: {item.note}" for item in verdict.items if item.status != "pass"),
            answer=_answer_tex(verdict), work=verdict.work, reference=verdict.reference_tex, images=verdict.images)
    return check


def checks_of(verdicts):
    return [check_of(verdict) for verdict in verdicts]
