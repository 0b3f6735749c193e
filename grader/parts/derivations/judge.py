"""Verdicts on a course differentiation notebook's answers: automatic where the answer is read with confidence,
a TA's review otherwise, never 0 for what the judge could not read.

Per item (one derivative asked for), from the equations found for it (:mod:`.extract`):

* pass: every equation found gives the reference's value (in a layout the question accepts), on random matrices;
* fail: every equation found was read and gives another value (shape-consistent: a product of shapes that do not
  exist is not read), or the question's region holds no work at all (missing);
* review: anything else: an answer not read (text, indices, `\\sum`, a matrix written out), equations that disagree
  (a slip after a right answer), the transposed layout of a matrix derivative, no equation labelled with the
  derivative although the student wrote something, a derivative only a TA can judge (dF/dS).

Per question: pass if every item passes; fail if every item fails; review otherwise (partial credit is a TA's call).
A question's `key` groups equal answers across a batch (the values on the judge's fixed random inputs where the
answer was read, else the normalised text), so a TA marks each distinct answer once.
"""
import re
from dataclasses import dataclass, field

from grader.intake import templates as template
from grader.parts.derivations import evaluate, extract, images as pictures
from grader.parts.derivations.latex import NotRead, read
from grader.parts.derivations.questions import QUESTIONS

SEED = 20170                 # fixed: the values that group answers must be comparable from one student to the next


@dataclass
class ItemVerdict:
    label: str                    # "dy/dx"
    status: str                   # pass | fail | review
    answer: str = ""              # the answer's LaTeX as written (the last equation's last side)
    equation: str = ""            # the whole equation, for the TA
    cell: int = -1                # the notebook cell it came from (0-based), -1 when none
    note: str = ""                # why, in words for the student and the TA
    key: tuple = ()               # equal answers have equal keys


@dataclass
class QuestionVerdict:
    id: str
    title: str
    status: str                   # pass | fail | review
    points: float                 # awarded automatically (0 unless pass)
    max_points: float
    items: list = field(default_factory=list)
    work: str = ""                # what the student wrote in the question's region (for the review page)
    reference_tex: str = ""
    images: tuple = ()            # base64 images of the region's cells (a photographed derivation), as shown

    @property
    def key(self):
        return tuple(item.key for item in self.items)

    @property
    def message(self):
        head = f"{self.title}: "
        if self.status == "pass":
            return head + "; ".join(f"{i.label} = {i.answer} is right (checked on random matrices)" for i in self.items)
        if self.status == "fail":
            return head + "; ".join(f"{i.label}: {i.note}" for i in self.items)
        return head + "awaits a TA's review (" + "; ".join(f"{i.label}: {i.note}" for i in self.items
                                                          if i.status != "pass") + ")"


def _normal_text(text):
    """Text for grouping answers the judge did not read: LaTeX spacing is not meaning, so all of it goes."""
    return re.sub(r"\s+|\\[,;:! ]|\\quad|\\qquad|\$", "", text)


def _judge_item(question, item, region, images=()):
    label = item.label
    if region is None:
        return ItemVerdict(label, "review", note="the question's heading was not found: a TA finds the answer",
                           key=("text", "(question not found)"))
    written_out = {extract.function_text(f) for f in question.functions.get(item.numerator, ())}
    found = extract.candidates(region, (item.numerator, item.denominator), expression_numerator=written_out)
    if not found:
        if extract.has_work(region, template.SOURCES):   # images: equal only if their content is (all "image.png")
            return ItemVerdict(label, "review", note=f"no equation `{label} = ...` found in what you wrote: a TA "
                               "reads it", key=("text", _normal_text(_work(region)), pictures.digest(images)))
        return ItemVerdict(label, "fail", note="no answer found after the question", key=("text", "(no answer)"))
    last = found[-1]
    verdict = ItemVerdict(label, "review", answer=last.answer, equation=last.equation, cell=last.cell,
                          key=("text", _normal_text(last.answer)))
    if item.reference is None:
        verdict.note = "this derivative is read by a TA"
        return verdict
    outcomes = [_outcome(candidate.answer, item) for candidate in found]
    relation, detail = outcomes[-1]
    if relation != "not read":
        verdict.key = ("value", detail)
    relations = {r for r, _ in outcomes}
    if relations == {"equal"}:
        verdict.status, verdict.note = "pass", "right"
    elif relations == {"different"}:
        verdict.status, verdict.note = "fail", (f"{label} = {last.answer} is not the derivative (checked on random "
                                                "matrices of the question's shapes)")
    elif relations == {"transposed"}:
        verdict.note = "the transpose of the gradient (the other layout): a TA decides"
    elif len(relations) > 1:
        verdict.note = f"{len(found)} answers that do not agree (" + ", ".join(c.answer for c in found) + ")"
    else:
        verdict.note = f"{detail}"
    return verdict


def _outcome(answer, item):
    """(relation, fingerprint) of one answer, or ("not read", reason). An answer whose shapes do not fit with
    distinct sizes is tried with the template's square shapes: there a value other than the reference is wrong
    under the question's own text (fail), the reference's value is right only by the squareness (review)."""
    try:
        expression = read(answer, item.shapes)
        return evaluate.compare(expression, item, SEED)
    except evaluate.ShapeMismatch as reason:
        try:
            relation, fingerprint = evaluate.compare(expression, item, SEED, evaluate.SQUARE)
        except NotRead:
            return "not read", str(reason)
        if relation == "different":
            return "different", fingerprint
        return "not read", f"{reason}, unless the matrices are square"
    except NotRead as reason:
        return "not read", str(reason)


def _work(region):
    return "\n\n".join(source for _, _, source in region.cells
                       if " ".join(source.split()) and " ".join(source.split()) not in template.SOURCES)


def judge(cells, images=None):
    """(version, [QuestionVerdict]) for a course differentiation notebook; `cells` are (type, source, id), `images`
    {cell index: [base64 image]} (grader/parts/derivations/images.py)."""
    version = template.version(cells)
    found = {}
    for region in extract.regions([(kind, source) for kind, source, _ in cells]):
        if region.question in found:       # a repeated heading: the parts are one region
            found[region.question].cells += region.cells
        else:
            found[region.question] = region
    if version is None and found:
        version = "course"
    verdicts = []
    for question in QUESTIONS:
        region = found.get(question.id)
        own = [image for index, _, _ in (region.cells if region else ()) for image in (images or {}).get(index, ())]
        items = [_judge_item(question, item, region, own) for item in question.items]
        shown, left_out = pictures.shown(own)
        work = _work(region) if region is not None else ""
        if left_out:
            work += f"\n\n({left_out} more image{'s' if left_out > 1 else ''} in the notebook: too many or too large " \
                    "for this page)"
        statuses = {item.status for item in items}
        status = "pass" if statuses == {"pass"} else "fail" if statuses == {"fail"} else "review"
        verdicts.append(QuestionVerdict(
            question.id, question.title, status, question.points if status == "pass" else 0, question.points, items,
            work=work, images=shown,
            reference_tex=r" \qquad ".join(f"\\frac{{d{i.numerator}}}{{d{i.denominator}}} = {i.reference_tex}"
                                           for i in question.items)))
    return version, verdicts
