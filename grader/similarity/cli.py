"""``python -m grader similarity SUBMISSION... [--against DIR...] --json OUT.json``: the similarity report.

SUBMISSION is what the grader takes (folders, Canvas and Moodle downloads, zips): one submission per student.
Writes OUT.json (``report.similarity``) and, in the folder OUT's stem names (``out/similarity.json`` ->
``out/similarity/``), ``index.html``, the pairs to review, and one page per pair. Prints one line per
submission that could not be read (the report goes on without it) and the pairs to review. Exit status 0
when the report was written, 2 for a usage error.
"""
import argparse
import sys
from pathlib import Path

from grader.intake.discover import discover
from grader.similarity.html import write_html
from grader.similarity.report import REVIEW, discover_known, problem_lines, similarity, write_json


def html_folder(json_path):
    """The folder of the HTML pages that go with `json_path` (its stem beside it)."""
    path = Path(json_path)
    return path.with_name(path.stem if path.suffix else path.name + "_pages")


def run(students, known, json_path, out=None):
    """Computes, writes and summarises the report; returns it."""
    out = sys.stdout if out is None else out
    report = similarity(students, known)
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    write_json(report, json_path)
    index = write_html(report, html_folder(json_path))
    for line in problem_lines(report):
        print(f"problem: {line}", file=out)
    review = [p for p in report["pairs"] if p["score"] >= REVIEW]
    for pair in review[:20]:
        print(f"{pair['score']:.2f}  {pair['a']['name']} ({pair['a']['key']})  ~  {pair['b']['name']} "
              f"({pair['b']['kind']} {pair['b']['key']})", file=out)
    more = f" (the first 20 above)" if len(review) > 20 else ""
    print(f"{len(review)} pairs at {REVIEW:.2f} or more{more}; report: {json_path}, pages: {index}", file=out)
    return report


def main(argv=None, prog="python -m grader similarity"):
    parser = argparse.ArgumentParser(prog=prog, description="Which submissions share code with each other or "
                                     "with known solutions (the code the assignment gives left out).")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    parser.add_argument("--against", action="append", default=[], metavar="DIR",
                        help="a folder of known solutions (each entry one solution): compared with every student, "
                             "never reported as a student")
    parser.add_argument("--json", required=True, metavar="OUT.json")
    args = parser.parse_args(argv)
    for folder in args.against:
        if not Path(folder).is_dir():
            parser.error(f"--against {folder}: not a folder")
    run(discover(args.submissions), discover_known(args.against), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
