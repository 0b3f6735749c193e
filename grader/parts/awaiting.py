"""A check that awaits a TA's review: the `review` object a part puts on it (the one place its keys are written;
grader/review reads it to build the pages, grader/review/marks.py merges the TA's marks back).

    {"question": "ex1",            the page it goes to (one page per question or rubric row)
     "title": "ex. 1: dy/dx ...",  the page's heading
     "group": "9f2c...",           equal answers have equal groups (the judge's equivalence, else the normalised text)
     "answer": "\\frac{dy}{dx} = 2x_i",   the answer as the judge found it (LaTeX), may be empty
     "work": "...",                everything the student wrote for the question (markdown), for context
     "images": ["iVBOR..."],       base64 PNG, JPEG or GIF images shown with the work (a main notebook's plots, a
                                   photographed derivation), may be empty
     "reference": "2x",            the reference (LaTeX), shown beside the answers, may be empty
     "reason": "...",              why it was not decided automatically
     "status": "awaiting"}         "marked" once a TA's mark is merged

Such a check has `points` 0 and stays outside the automatic score and maximum until it is marked.
"""
import hashlib
from dataclasses import dataclass

from grader import selfcheck as C


@dataclass
class ReviewResult(C.Result):
    """A check's result that may await a TA's review (`review`: the object below)."""
    review: dict = None

    def as_dict(self):
        out = super().as_dict()
        if self.review:
            out["review"] = self.review
        return out


def group_id(key):
    """A stable, short id for a judge's equivalence key (any repr-able value)."""
    return hashlib.sha256(repr(key).encode("utf-8", "replace")).hexdigest()[:16]


def review_object(question, title, key, reason, answer="", work="", reference="", images=()):
    """The `review` object of a check awaiting review; `key` is what makes answers equal (see group_id)."""
    return {"question": question, "title": title, "group": group_id(key), "answer": answer, "work": work,
            "images": list(images), "reference": reference, "reason": reason, "status": "awaiting"}
