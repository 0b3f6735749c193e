"""A course main notebook graded from its saved outputs, as the student ran it: never re-run into zeros.

The course's main notebooks (`HW3_main.ipynb` 2017, `homework_main.ipynb` 2018, `homework_main-basic.ipynb` and
`homework_main-advanced.ipynb` 2019-21) load the framework with `%run homework_modules.ipynb`, download MNIST
(`sklearn.datasets.fetch_mldata`, since removed, or the course's `mnist.py`), and train for minutes to hours on full
MNIST: run again here they would fail for reasons that are not the student's. What they show is in their saved
outputs: the printed losses and accuracies, the plots, the opinions. This kit's own `HW3_main.ipynb` is not judged
here (it is executed, :mod:`grader.parts.main_notebook`).

The rubric read from the outputs (7 points, every course version; the kit's metrics file does not exist there):

* ran (4): every code cell that holds code was run and none shows an error (a traceback in the outputs fails it; a
  section the text calls optional is not counted; cells stopped by hand, KeyboardInterrupt and no other error, a training run cut short: a TA's review);
* test accuracy (2): a printed test accuracy, above 0.5 (0.97 = 97 % either way): on a line that says test, or a
  cell's bare number where the text asks for it ("Print here your accuracy") or computed on the test set;
* the experiments (1): basic track, 2017, 2018: ReLU, ELU, LeakyReLU, SoftPlus compared and the normalisation the
  version's text asks for tried (2017: BatchMeanSubtraction; 2018 on: BatchNormalization), in the code of cells that
  ran, with their outputs; advanced track: a network with Conv2d, MaxPool2d and BatchNormalization;
* the opinion (1): always read by a TA (the text is shown on the review page), outside the automatic maximum.

What cannot be read with confidence goes to review with its points outside the automatic maximum: no test accuracy
printed (a validation one, or a plot only), experiments only partly there. A notebook with no saved outputs at all
is "not run": every point to review, with that note, never 0.
"""
import re

from grader.intake.main_template import is_kit   # noqa: F401 (also imported from here)
from grader.intake.main_template import COURSE_CELLS, SHARED_TITLE_VERSION, template_cells, text as _text, title_version
from grader.parts.awaiting import review_object
from grader.parts.derivations.images import kind as image_kind

TARGET = "main notebook"
FILE_VERSIONS = (("homework_main-advanced", "2019-21 advanced"), ("homework_main-basic", "2019-21 basic"),
                 ("homework_main", "2018"), ("hw3_main", "2017"))
ROWS = (("ran", "every code cell ran, none shows an error", 4), ("accuracy", "a test accuracy above 0.5 printed", 2),
        ("experiments", "the experiments the text asks for", 1), ("opinion", "the opinion asked for", 1))
ACTIVATIONS = ("relu", "elu", "leakyrelu", "softplus")
NORMALISATIONS = ("batchnormalization", "batchmeansubtraction")
MAX_IMAGES, MAX_IMAGE_BYTES, MAX_WORK = 6, 400_000, 60_000
_ACCURACY = re.compile(r"(acc(?:uracy)?|точност\w*)\D{0,40}?(\d+(?:[.,]\d+)?)\s*(%?)", re.IGNORECASE)
_BARE = re.compile(r"^(?:np\.float(?:16|32|64)\()?(\d+(?:[.,]\d+)?)\s*(%?)\)?$")
_HEADING = re.compile(r"^[^\S\n]{0,3}(#{1,6})[^\S\n]+(.*)$")
_OPTIONAL = re.compile(r"\boptional\b|необязательн|опционал", re.IGNORECASE)
PRINT_HERE = "print here your accuracy"   # the template's cell before the one that prints it (2017, 2018)
_PNG = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def _no_code(source):
    """Blank or comments only (the template's `# your code goes here`, a scratch line commented out): nothing to run,
    so a cell that never ran is no skipped work (it cost 'ran', 4 points)."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def is_course(nb, file_name):
    """Recognisably a course main notebook: a course version's title, the course template's own cells kept, or a
    course file name (the 2017 one, HW3_main.ipynb, is also the kit's: it tells nothing)."""
    lower = file_name.lower()
    return title_version(nb) is not None or template_cells(nb) >= COURSE_CELLS or \
        any(stem in lower for stem, _ in FILE_VERSIONS if stem != "hw3_main")


def version(nb, file_name):
    """The course version from the notebook's title, else its file name (lenient: case, `-Copy1`, prefixes)."""
    titled = title_version(nb)
    lower = file_name.lower()
    named = next((name for stem, name in FILE_VERSIONS if stem in lower), None)
    if titled == SHARED_TITLE_VERSION and named is not None:   # that title is 2017's repository's, 2018's, 2019-21's
        return named
    return titled or named or "course"


def _words(sources):
    """Sources as one lower-case text without underscores: class names as the rubric looks for them."""
    return " ".join(sources).lower().replace("_", "")


def _normalisations(nb, found_version):
    """The layers the version's text asks to try between Linear and the activation (any one of them will do): 2017's
    text BatchMeanSubtraction, which 2018 replaced by BatchNormalization. The question as kept in the notebook says
    which; without it, the 2017 title says BatchMeanSubtraction, the 2019-21 notebooks BatchNormalization, and the
    title that 2017's repository template shares with 2018's either."""
    if found_version == "2017":
        return ("batchmeansubtraction",)
    text = _words(_text(c.get("source")) for c in nb.get("cells", []) if c.get("cell_type") == "markdown")
    asked = tuple(name for name in NORMALISATIONS if re.search(rf"\b{name}\b", text))
    if asked:
        return asked
    return ("batchnormalization",) if found_version.startswith("2019-21") else NORMALISATIONS


def _outputs_text(cell):
    """The text a cell's outputs show (stdout, results), errors apart."""
    shown = []
    for output in cell.get("outputs") or []:
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            shown.append(_text(output.get("text")))
        elif output.get("output_type") in ("execute_result", "display_data"):
            shown.append(_text((output.get("data") or {}).get("text/plain")))
    return "\n".join(shown)


def _error(cell):
    for output in cell.get("outputs") or []:
        if output.get("output_type") == "error":
            return f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}"[:200]
        if output.get("output_type") == "stream" and "Traceback (most recent call last)" in _text(output.get("text")):
            return "a traceback in its output"
    return None


def _images(cells):
    found = []
    for cell in cells:
        for output in cell.get("outputs") or []:
            png = _text((output.get("data") or {}).get("image/png"))
            if png and len(png) <= MAX_IMAGE_BYTES and _PNG.match(png) and image_kind("".join(png.split())) == "png":
                found.append("".join(png.split()))
    return found


def _test_accuracies(text):
    """Test accuracies printed (as fractions): numbers after 'accuracy' on a line that says test."""
    found = []
    for line in text.splitlines():
        if not re.search(r"test|тест", line, re.IGNORECASE):
            continue
        for match in _ACCURACY.finditer(line):
            value = float(match.group(2).replace(",", "."))
            found.append(value / 100 if match.group(3) or value > 1 else value)
    return [v for v in found if 0 <= v <= 1]


def _bare_accuracies(nb):
    """[(accuracy as a fraction, cell number)] of the code cells whose output is one bare number (`0.9812`, `98.1 %`,
    numpy 2's `np.float64(0.9812)`) where that number is the accuracy the text asks for: the cell right after the
    template's "Print here your accuracy" (2017, 2018), or a cell that computes an accuracy on the test set (`test`
    in its code, and `acc` or a comparison `==`)."""
    found, asked = [], False
    for number, cell in enumerate(nb.get("cells", []), 1):
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            asked = source.strip().lower().startswith(PRINT_HERE)
            continue
        if cell.get("cell_type") != "code":
            continue
        bare = _BARE.match(_outputs_text(cell).strip())
        lower = source.lower()
        if bare and (asked or "test" in lower and ("acc" in lower or "==" in lower)):
            value = float(bare.group(1).replace(",", "."))
            value = value / 100 if bare.group(2) or value > 1 else value
            if 0 <= value <= 1:
                found.append((value, number))
        asked = False
    return found


def _optional_cells(nb):
    """Numbers of the cells in a section whose heading says it is optional (2017's "# Autoencoder (optional)": "This
    part is OPTIONAL, you may not do it. It will not be scored"), up to the next heading of its level or above: their
    code left unrun (the template's own code there fails unless the part is done) or failing is no skipped work."""
    found, level = set(), None
    for number, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") == "markdown":
            for line in _text(cell.get("source")).splitlines():
                heading = _HEADING.match(line)
                if heading and level is not None and len(heading.group(1)) <= level:
                    level = None
                if heading and level is None and _OPTIONAL.search(heading.group(2)):
                    level = len(heading.group(1))
        elif level is not None:
            found.add(number)
    return found


def _row(key, passed, message, review=None):
    name, points = next((title, p) for k, title, p in ROWS if k == key)
    return {"key": key, "name": name, "max_points": points, "passed": passed, "message": message, "review": review}


def _work(nb):
    """The notebook as markdown for the TA: markdown cells, code, its printed output (truncated)."""
    parts = []
    for number, cell in enumerate(nb.get("cells", []), 1):
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            parts.append(source)
        elif cell.get("cell_type") == "code" and source.strip():
            shown = _outputs_text(cell)
            parts.append(f"```python\n# cell {number}\n{source[:3000]}\n```" +
                         (f"\n```\n{shown[-2000:]}\n```" if shown.strip() else ""))
    return "\n\n".join(parts)[:MAX_WORK]


def work_and_images(nb):
    """(markdown, [base64 PNG]) of a main notebook as a TA's review page shows it: its text, code and saved outputs."""
    return _work(nb), _images(nb.get("cells", []))[:MAX_IMAGES]


def judge(nb, file_name):
    """(version, [row dict]) for a course main notebook: each row `key`, `name`, `max_points`, `passed` (True,
    False, or None when it awaits review), `message`, and `review` (the reason) when a TA decides."""
    found_version = version(nb, file_name)
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    optional = _optional_cells(nb)
    coded = [(n, c) for n, c in enumerate(nb.get("cells", []), 1)
             if c.get("cell_type") == "code" and not _no_code(_text(c.get("source"))) and n not in optional]
    ran = [c for c in cells if c.get("execution_count") is not None or c.get("outputs")]
    if not ran:
        reason = "not run: the notebook has no saved outputs (run it and hand it in with its outputs)"
        return found_version, [_row(k, None, reason, reason) for k, _, _ in ROWS]
    rows = []
    errors = [(n, _error(c)) for n, c in coded if _error(c)]
    skipped = [n for n, c in coded if c.get("execution_count") is None and not c.get("outputs")]
    interrupted = [n for n, error in errors if error.startswith("KeyboardInterrupt")]
    if errors and len(interrupted) == len(errors):   # stopped by hand (a long training run): ran, or not?
        reason = (f"cell {interrupted[0]} was stopped by hand (KeyboardInterrupt"
                  f"{f', {len(interrupted)} cells' if len(interrupted) > 1 else ''}): a TA judges whether the "
                  "notebook's work ran")
        rows.append(_row("ran", None, reason, reason))
    elif errors:
        rows.append(_row("ran", False, f"cell {errors[0][0]} shows an error: {errors[0][1]}"))
    elif skipped:
        rows.append(_row("ran", False, f"cell {skipped[0]} was not run ({len(skipped)} code cell(s) without "
                                       "output or execution count)"))
    else:
        rows.append(_row("ran", True, f"{len(coded)} code cells ran, none shows an error (read from the saved "
                                      "outputs: the notebook was not run again)"
                                      + ("; the optional part's cells are not counted" if optional else "")))
    printed = "\n".join(_outputs_text(c) for c in cells)
    bare = _bare_accuracies(nb)
    accuracies = _test_accuracies(printed) + [value for value, _ in bare]
    if accuracies and max(accuracies) > 0.5:
        cell = next((number for value, number in bare if value == max(accuracies)), None)
        rows.append(_row("accuracy", True, f"test accuracy {max(accuracies):.4f} printed"
                                           + (f" (cell {cell}'s output)" if cell else "")))
    elif accuracies:
        rows.append(_row("accuracy", False, f"the test accuracy printed, {max(accuracies):.4f}, is not above 0.5"))
    else:
        reason = "no test accuracy found in the printed outputs"
        rows.append(_row("accuracy", None, reason, reason))
    code = _words(_text(c.get("source")) for c in ran)
    if found_version == "2019-21 advanced":
        wanted = [("conv2d",), ("maxpool2d",), ("batchnormalization",)]
    else:
        wanted = [(name,) for name in ACTIVATIONS] + [_normalisations(nb, found_version)]
    missing = [" or ".join(names) for names in wanted if not any(re.search(rf"\b{n}\b", code) for n in names)]
    used = [next(n for n in names if re.search(rf"\b{n}\b", code)) for names in wanted if not missing]
    if not missing and (_images(ran) or printed.strip()):
        rows.append(_row("experiments", True, "in the cells that ran: " + ", ".join(used)))
    else:
        reason = f"not found in the cells that ran: {', '.join(missing) or 'their outputs'}"
        rows.append(_row("experiments", None, reason, reason))
    reason = "a TA reads the opinion"
    rows.append(_row("opinion", None, reason, reason))
    return found_version, rows


def checks(nb, file_name):
    """(version, report checks) for a course main notebook; rows awaiting review carry the pages' review object."""
    found_version, rows = judge(nb, file_name)
    work, images = work_and_images(nb)
    out = []
    for row in rows:
        check = {"target": TARGET, "defined_as": None, "name": row["name"], "passed": bool(row["passed"]),
                 "points": row["max_points"] if row["passed"] else 0, "max_points": row["max_points"],
                 "message": row["message"]}
        if row["passed"] is None:
            check["message"] = f"{row['name']}: awaits a TA's review ({row['review']})"
            check["review"] = review_object(f"main-{row['key']}", f"main notebook: {row['name']}",
                                            (row["key"], work, tuple(images)), row["review"], work=work,
                                            images=images)
        out.append(check)
    return found_version, out
