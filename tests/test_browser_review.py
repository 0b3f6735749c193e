"""The TA's review page in a real (headless) Chromium, opened from the folder as a TA opens it (file://, no server,
no network): the math is typeset by the vendored KaTeX, a group is marked, the marks are downloaded, and the
downloaded file merged into the reports gives those students their points.

Needs Debian's Chromium and the Playwright driver (tests/browser/chromium.py installs them when it can; otherwise
the test is skipped, saying why). A screenshot goes to build/browser/review-ex4c.png.
"""
import json

import pytest

from conftest import ROOT
from browser.chromium import LAUNCH_ARGS, Unavailable, ensure_chromium, ensure_playwright
from derivations.batch import reports
from grader.review.items import collect
from grader.review.marks import apply_marks, read_marks
from grader.review.page import write_pages

SHOTS = ROOT / "build" / "browser"


@pytest.fixture(scope="module")
def driver():
    try:
        return ensure_playwright(), ensure_chromium()
    except Unavailable as exc:
        pytest.skip(f"no browser for the review page test: {exc}")


def test_a_ta_marks_a_group_downloads_the_marks_and_they_merge(driver, tmp_path):
    sync_api, chromium = driver
    batch = reports(30)
    pages = write_pages(batch, tmp_path / "review")
    question = collect(batch)["ex4c"]
    first_group = next(iter(question.groups.values()))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(accept_downloads=True, viewport={"width": 1300, "height": 900})
            requests = []
            page.on("request", lambda request: requests.append(request.url))
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(pages["ex4c"].as_uri())
            page.wait_for_selector(".katex", timeout=15000)
            assert not errors, errors
            assert page.locator(".math-error").count() == 0
            assert page.locator(".group").count() == len(question.groups)
            assert page.locator(".reference .katex").count() == 1
            # every answer's math typeset, the fonts loaded from the folder
            assert page.locator(".group .answer .katex").count() == len(question.groups)
            assert page.evaluate("document.fonts.check('16px KaTeX_Main')")

            group = page.locator(".group").first
            group.locator(".group-points").fill("2")
            group.locator(".group-comment").fill("dF/dS right, the factor 2 lost")
            group.locator("details.students summary").click()
            group.locator(".student-points").first.fill("1")      # one student of the group marked on their own
            assert "1 of 3 answers marked" in page.locator("#progress").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "review-ex4c.png"), full_page=False)
            with page.expect_download() as download_info:
                page.locator("#download").click()
            marks_path = tmp_path / "marks-ex4c.json"
            download_info.value.save_as(str(marks_path))

            page.reload()                                              # the TA's input survives a reload
            page.wait_for_selector(".katex")
            assert page.locator(".group").first.locator(".group-points").input_value() == "2"
        finally:
            browser.close()
    assert all(url.startswith("file://") for url in requests), [u for u in requests if not u.startswith("file:")]

    saved = json.loads(marks_path.read_text(encoding="utf-8"))
    assert saved["kind"] == "hw3-review-marks" and saved["question"] == "ex4c"
    marked = {m["student"]: m for m in saved["marks"]}
    students = [entry.student for entry in first_group.entries]
    assert set(marked) == set(students)
    assert marked[students[0]]["points"] == 1 and all(marked[s]["points"] == 2 for s in students[1:])

    before = {r["key"]: (r["score"], r["max_score"], r["awaiting_review"]) for r in batch}
    assert apply_marks(batch, read_marks(marks_path)) == len(students)
    for report in batch:
        score, maximum, awaiting = before[report["key"]]
        if report["key"] in marked:
            gained = marked[report["key"]]["points"]
            assert (report["score"], report["max_score"], report["awaiting_review"]) == (
                score + gained, maximum + 3, awaiting - 3)
            check = next(c for c in report["checks"] if c.get("review") and c["review"]["question"] == "ex4c")
            assert "the factor 2 lost" in check["message"]
        else:
            assert (report["score"], report["max_score"], report["awaiting_review"]) == (score, maximum, awaiting)
