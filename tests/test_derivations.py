"""The course's differentiation notebook judged from its LaTeX (grader/parts/derivations): the shared case, a set of
real-looking answers (tests/derivations/answers.py) with 0 false passes and 0 false fails, and where answers are
found (markdown math of every kind, code cells, Russian text, aligned blocks, the template left unanswered)."""
import nbformat
import pytest

from conftest import SHARED_CASES
from derivations.answers import ANSWERS, PREFIXES
from grader.parts.derivations import judge_notebook
from grader.parts.derivations.judge import judge
from grader.parts.derivations.latex import NotRead, normalise, read
from grader.parts.derivations.questions import BY_ID
from grader.intake.templates import version

HEADINGS = {"ex1": "## ex. 1", "ex2": "## ex. 2", "ex3": "## ex. 3", "ex4": "## ex. 4", "ex4c": "### Third approach"}


def notebook(*cells):
    """(type, source) pairs -> the judge's (type, source, id) triples."""
    return [(kind, source, None) for kind, source in cells]


def one_answer(question, index, latex, prefix=r"\frac{d{n}}{d{d}} = "):
    item = BY_ID[question].items[index]
    cells = [("markdown", "# Homework 1: Differentiation")]
    if question == "ex4c":
        cells.append(("markdown", "## ex. 4"))
    cells += [("markdown", HEADINGS[question]),
              ("markdown", "$$" + prefix.replace("{n}", item.numerator).replace("{d}", item.denominator) + latex
               + "$$")]
    _, verdicts = judge(notebook(*cells))
    [verdict] = [v for v in verdicts if v.id == question]
    return verdict.items[index]


def test_the_course_latex_case_gets_its_verdict():
    """real/differentiation-latex-course: ex1 (row 2x^T), ex2, ex3 (column Ac), ex4 pass automatically; ex4c (a lost
    factor 2) never passes."""
    nb = nbformat.read(str(SHARED_CASES / "real" / "differentiation-latex-course" / "homework_differentiation.ipynb"),
                       as_version=4)
    found, verdicts = judge_notebook(nb)
    status = {v.id: v.status for v in verdicts}
    assert found == "2018-21"
    assert status == {"ex1": "pass", "ex2": "pass", "ex3": "pass", "ex4": "pass", "ex4c": status["ex4c"]}
    assert status["ex4c"] in ("fail", "review")
    chain = {i.label: i.status for i in verdicts[-1].items}
    assert chain["dJ/dF"] == "fail" and chain["dJ/dS"] == "fail"


@pytest.mark.parametrize("question, index, latex, right", ANSWERS,
                         ids=[f"{q}.{i}:{a}:{'right' if r else 'wrong'}" for q, i, a, r in ANSWERS])
def test_no_wrong_answer_passes_and_no_right_one_fails(question, index, latex, right):
    verdict = one_answer(question, index, latex)
    assert verdict.status == ("pass" if right else "fail") or verdict.status == "review", verdict.note


def test_the_answer_set_is_mostly_decided_automatically():
    """The measured share: right answers passed and wrong ones failed without a TA (the rest goes to review):
    96 of 105 when written (index notation, sums, matrices written out, the other layout of a matrix derivative and
    products of shapes that never fit go to review)."""
    decided = sum(one_answer(q, i, a).status == ("pass" if r else "fail") for q, i, a, r in ANSWERS)
    assert decided / len(ANSWERS) >= 0.9, f"{decided}/{len(ANSWERS)} decided automatically"
    assert sum(r for *_, r in ANSWERS) >= 40 and sum(not r for *_, r in ANSWERS) >= 40


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_left_side_is_read_in_every_spelling(prefix):
    assert one_answer("ex4", 0, r"2A^T(AS - X)", prefix).status == "pass"
    assert one_answer("ex4", 0, r"A^T(AS - X)", prefix).status == "fail"


def test_transposes_and_traces_are_normalised():
    assert normalise(r"2A^\top(AS-X)") == normalise(r"2A^{T}(AS - X)") == normalise(r"2A'(AS-X)")
    assert r"\trace" in normalise(r"\operatorname{tr}(AB)") and r"\trace" in normalise(r"\mathrm{tr}(AB)")
    assert normalise(r"x^TAc") == r"x ^ { T } \cdot A \cdot c"


@pytest.mark.parametrize("question, index, typed, status", [
    ("ex2", 0, "Bᵀ", "pass"), ("ex3", 0, "A·c", "pass"), ("ex3", 1, "x·cᵀ", "pass"), ("ex3", 1, "x⋅c⊤", "pass"),
    ("ex4", 0, "2Aᵀ(AS − X)", "pass"), ("ex4", 0, "−2Aᵀ(X − AS)", "pass"), ("ex4", 0, "2·Aᵀ×(A·S − X)", "pass"),
    ("ex4c", 0, "2(F − X)", "pass"),
    ("ex2", 0, "−Bᵀ", "fail"), ("ex3", 1, "cᵀx", "fail"), ("ex4", 0, "2Aᵀ(X − AS)", "fail"), ("ex4c", 0, "X − F", "fail"),
])
def test_unicode_typed_for_latex_is_read_as_that_latex(question, index, typed, status):
    """Answers typed without LaTeX commands (a phone, a word processor): U+2212 minus, the dots and cross of a
    product, the superscript T of a transpose. They are decided as their LaTeX is; before, each awaited a TA."""
    assert one_answer(question, index, typed).status == status


def test_an_index_expression_is_not_read_with_confidence():
    with pytest.raises(NotRead):
        read(r"2x_i", {"x": ("N", 1)})
    with pytest.raises(NotRead):
        read(r"\sum_i x_i^2", {"x": ("N", 1)})


def test_answers_are_found_in_every_kind_of_cell():
    cells = notebook(
        ("markdown", "# Homework 1: Differentiation"),
        ("markdown", "## ex. 1"),
        ("markdown", "Решение: $y = \\sum_i x_i^2$, поэтому\n\\begin{align} \\frac{dy}{dx} &= \\frac{d}{dx} x^Tx \\\\"
                     " &= 2x^T \\end{align}\nОтвет получен."),
        ("markdown", "## ex. 2"),
        ("code", "# dy/dA = B.T\n"),
        ("markdown", "## ex. 3"),
        ("markdown", "$\\nabla_x y = Ac$ and \\[\\frac{\\partial y}{\\partial A} = x c^\\top\\]"),
        ("markdown", "## ex. 4"),
        ("raw", "dJ/dS = 2*A.T @ (A@S - X)"),
    )
    _, verdicts = judge(cells)
    assert [v.status for v in verdicts[:4]] == ["pass"] * 4, [v.message for v in verdicts]


def test_a_slip_after_a_right_answer_goes_to_review():
    cells = notebook(("markdown", "## ex. 1"), ("markdown", "$$\\frac{dy}{dx} = 2x$$"),
                     ("markdown", "So finally $\\frac{dy}{dx} = 2x^Tx$."))
    _, verdicts = judge(cells)
    assert verdicts[0].status == "review" and "do not agree" in verdicts[0].items[0].note


def test_the_template_left_unanswered_fails_and_work_without_a_label_goes_to_review():
    template = notebook(("markdown", "# Homework 1: Differentiation"), ("markdown", "## ex. 1"),
                        ("markdown", "$$  \ny = x^Tx,  \\quad x \\in \\mathbb{R}^N \n$$"),
                        ("markdown", "$$\n\\frac{dy}{dx} = \n$$"), ("code", ""),
                        ("markdown", "## ex. 2"), ("markdown", "Ответ: $B^T$, см. фото"))
    _, verdicts = judge(template)
    assert verdicts[0].status == "fail" and verdicts[0].items[0].note == "no answer found after the question"
    assert verdicts[1].status == "review"
    assert verdicts[2].status == "review"      # ex3's heading is missing: a TA looks, never a 0


def test_the_version_is_read_from_the_text():
    assert version(notebook(("markdown", "# Home work 3: Differentiation "))) == "2017"
    assert version(notebook(("markdown", "# Homework 1: Differentiation"))) == "2018-21"
    assert version([("code", "def grad_xTx(x):\n    return 2 * x", "ex1-answer")]) == "kit"
    assert judge(notebook(("markdown", "## ex. 1")))[0] == "course"


def test_equal_answers_share_a_key_and_different_ones_do_not():
    factored = one_answer("ex4", 0, r"2A^T(AS - X)")
    expanded = one_answer("ex4", 0, r"-2A^TX + 2A^TAS")
    wrong = one_answer("ex4", 0, r"A^T(AS - X)")
    assert factored.key == expanded.key != wrong.key
    assert one_answer("ex1", 0, r"2 x_i").key == one_answer("ex1", 0, r"2  x_i").key


def test_an_answer_after_a_differential_and_an_implication_is_found():
    cells = notebook(("markdown", "## ex. 1"),
                     ("markdown", r"$$dy = d(x^Tx) = 2x^T dx \Rightarrow \frac{dy}{dx} = 2x^T, \quad x \in \mathbb{R}^N$$"))
    _, verdicts = judge(cells)
    assert verdicts[0].status == "pass" and verdicts[0].items[0].answer == "2x^T"


@pytest.mark.parametrize("question, left, answer", [
    ("ex1", r"\frac{\partial (x^\top x)}{\partial x}", r"2x"),
    ("ex2", r"\frac{\partial\, \operatorname{tr}(AB)}{\partial A}", r"B^T"),
    ("ex4", r"\frac{\partial \|X - AS\|_F^2}{\partial S}", r"2A^T(AS - X)"),
])
def test_the_function_written_out_on_the_left_is_the_questions_derivative(question, left, answer):
    cells = notebook(("markdown", "## ex. 4" if question == "ex4" else f"## ex. {question[-1]}"),
                     ("markdown", f"$${left} = {answer}$$"))
    _, verdicts = judge(cells)
    assert next(v for v in verdicts if v.id == question).status == "pass"


def test_an_intermediate_derivative_of_another_function_is_not_taken_for_the_answer():
    cells = notebook(("markdown", "## ex. 4"),
                     ("markdown", r"$\frac{\partial \operatorname{tr}(X^T A S)}{\partial S} = A^T X$, so"),
                     ("markdown", r"$$\frac{dJ}{dS} = 2A^T(AS - X)$$"))
    _, verdicts = judge(cells)
    assert verdicts[3].status == "pass"


def test_a_huge_answer_goes_to_review_quickly():
    import time
    started = time.monotonic()
    verdict = one_answer("ex4", 0, "+".join(["A^TAS"] * 2000))
    assert verdict.status == "review" and time.monotonic() - started < 5
    cells = notebook(("markdown", "## ex. 1"), ("markdown", "$" * 200_000 + r"$$\frac{dy}{dx} = 2x$$"))
    started = time.monotonic()
    judge(cells)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("latex", [r"9^{9^{9}} x^T", r"2^{-99999999} x^T", r"((2^{60})^{60})^{60} x^T",
                                   r"9^{\frac{99999999}{2}} x^T", r"20000! \cdot x^T", r"\binom{10000000}{5000000} x^T"])
def test_a_power_tower_answer_is_refused_before_sympy_computes_it(latex):
    """SymPy computes powers, factorials and binomials of exact numbers as it builds them, in the grader's process:
    9^{9^{9}} (370 million digits) held the batch for hours. Refused at once, the answer goes to a TA."""
    import time
    started = time.monotonic()
    verdict = one_answer("ex1", 0, latex)
    assert time.monotonic() - started < 5
    assert verdict.status == "review" and "too large to compute" in verdict.note, verdict.note


def test_small_exact_powers_are_still_computed():
    assert one_answer("ex1", 0, r"2^{1} x^T").status == "pass"
    assert one_answer("ex1", 0, r"\frac{4}{2^{1}} x^T").status == "pass"
    assert one_answer("ex1", 0, r"2^{10} x^T").status == "fail"


ATTACKS = {"unclosed \\(": "\\(" * 33_000, "unclosed \\[": "\\[" * 33_000,
           "unclosed environments": "\\begin{equation}" * 6_000 + "\\end{align}",
           "escaped dollars": "$a\\$ " * 20_000, "unclosed matrices": "$$" + "\\begin{pmatrix}" * 6_000 + "$$"}


@pytest.mark.parametrize("attack", ATTACKS)
def test_math_openings_without_their_closing_are_read_in_linear_time(attack):
    """A cell of 33,000 '\\(' took 13 s to read (each opening scanned to the end of the text for its closing): a
    notebook of such cells stalled the batch. Now milliseconds, and the answer after them is still found."""
    import time
    cells = notebook(("markdown", "## ex. 1"), ("markdown", ATTACKS[attack]), ("markdown", r"$$\frac{dy}{dx} = 2x^T$$"))
    started = time.monotonic()
    _, verdicts = judge(cells)
    assert time.monotonic() - started < 2
    assert verdicts[0].status == "pass"


OLD_DISPLAY = (r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(\\begin\{(equation|align(?:ed)?|gather(?:ed)?|multline|eqnarray)\*?\}.+?"
               r"\\end\{\4\*?\})")
OLD_INLINE = r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$|\\\((.+?)\\\)"
MATH_TOKENS = ["$", "$$", "\\", "\\(", "\\)", "\\[", "\\]", "a", " ", "x^T", "\n", "*", "}", "{", "=", "\\\\", "&",
               "\\begin{equation}", "\\end{equation}", "\\begin{equation*}", "\\end{equation*}", "\\begin{align}",
               "\\end{align}", "\\begin{aligned}", "\\end{aligned}", "\\end{alignat}", "\\begin{pmatrix}",
               "\\end{pmatrix}", "\\begin{cases}", "\\end{cases}"]


def test_math_spans_are_those_the_regular_expressions_found():
    """The linear reading finds what the regular expressions it replaced found (so the judge's verdicts stay), on
    random texts of every delimiter: the math in order, the text left once it is taken out, the matrices kept whole."""
    import random
    import re
    from grader.parts.derivations import extract
    display, inline = re.compile(OLD_DISPLAY, re.DOTALL), re.compile(OLD_INLINE, re.DOTALL)
    matrix = re.compile(r"\\begin\{([pbvBV]?matrix|smallmatrix|cases)\}.*?\\end\{\1\}", re.DOTALL)

    def old_math(source):
        bodies = [next(g for g in m.groups()[:3] if g) for m in display.finditer(source)]
        rest = display.sub(" ", source)
        bodies += [m.group(1) or m.group(2) for m in inline.finditer(rest)]
        return bodies, inline.sub(" ", rest)

    def old_matrices(math):
        kept = {}
        return matrix.sub(lambda m: kept.setdefault(f"@{len(kept)}@", m.group(0)) and f"@{len(kept) - 1}@", math), kept

    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(MATH_TOKENS) for _ in range(rng.randint(0, 14)))
        assert extract._math(text) == old_math(text), text
        assert extract._take_matrices(text) == old_matrices(text), text


def _photo(kind, seed):
    """base64 of a tiny raster image of `kind` ('png', 'jpeg', 'gif'), distinct per seed (its first bytes are real)."""
    import base64
    head = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff\xe0", "gif": b"GIF89a"}[kind]
    return base64.b64encode(head + bytes([seed]) * 40).decode()


def _photographed(*attachments):
    """A course differentiation notebook whose ex. 1 holds only a pasted photo (Jupyter names it image.png)."""
    cells = [nbformat.v4.new_markdown_cell("# Homework 1: Differentiation"), nbformat.v4.new_markdown_cell("## ex. 1")]
    photo = nbformat.v4.new_markdown_cell("![image.png](attachment:image.png)")
    photo["attachments"] = {f"image{i}.png": bundle for i, bundle in enumerate(attachments)}
    return nbformat.v4.new_notebook(cells=cells + [photo, nbformat.v4.new_markdown_cell("## ex. 2")])


def test_a_photographed_derivation_is_shown_to_the_ta_and_grouped_by_its_content(tmp_path):
    """ex. 1 answered by a pasted photo: the markdown is `![image.png](attachment:image.png)` for every student, so two
    different photos were one answer (a TA's mark for one applied to both) and the review page showed no image. Now
    the images travel with the review object, group by their content, and the page shows PNG and JPEG as images;
    an SVG (which can hold script) is never shown."""
    from grader.parts.derivations.checks import checks_of
    from grader.review.page import write_pages
    svg = {"image/svg+xml": "<svg onload=alert(1)></svg>"}
    students = {"ann": _photographed({"image/png": _photo("png", 1)}),
                "bob": _photographed({"image/jpeg": _photo("jpeg", 2)}, svg),
                "cat": _photographed({"image/png": _photo("png", 1)})}   # ann's photo again
    reviews, reports = {}, []
    for name, nb in students.items():
        _, verdicts = judge_notebook(nb)
        [check] = [c for c in checks_of(verdicts) if c["name"].startswith("ex. 1")]
        reviews[name] = check["review"]
        reports.append({"key": name, "submission": name, "checks": [check]})
    assert reviews["ann"]["images"] == [_photo("png", 1)] and reviews["bob"]["images"] == [_photo("jpeg", 2)]
    assert reviews["ann"]["group"] == reviews["cat"]["group"] != reviews["bob"]["group"]
    page = write_pages(reports, tmp_path)["ex1"].read_text(encoding="utf-8")
    assert f'src="data:image/png;base64,{_photo("png", 1)}"' in page
    assert f'src="data:image/jpeg;base64,{_photo("jpeg", 2)}"' in page
    assert "svg" not in page.lower() and "onload" not in page


def test_images_past_the_page_s_limits_are_counted_in_the_work():
    from grader.parts.derivations import images
    big = _photo("png", 3) + "A" * images.MAX_IMAGE_CHARS
    nb = _photographed(*[{"image/png": _photo("png", i)} for i in range(images.MAX_IMAGES + 1)], {"image/png": big})
    _, verdicts = judge_notebook(nb)
    [ex1] = [v for v in verdicts if v.id == "ex1"]
    assert len(ex1.images) == images.MAX_IMAGES and big not in ex1.images
    assert "(2 more images in the notebook: too many or too large for this page)" in ex1.work
