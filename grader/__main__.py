"""The grader's command line: one subcommand per job, each a thin front to the code that does it.

    python -m grader [grade] SUBMISSION... [--json FILE [--resume]] [--lms canvas|moodle] [--jobs N | --cluster ADDR]
                                          [--timeout SECONDS] [--submission-limit SECONDS] [--fast] [--no-sandbox]
                                          [--profile NAME] [--scale-versions]
    python -m grader similarity SUBMISSION... [--against DIR...] --json OUT.json   # who shares code (grader/similarity/)
    python -m grader release OUTDIR          # the students' version of the kit (grader/kit/release.py)
    python -m grader sandbox setup|check     # install / check the sandbox (grader/execution/sandbox.py)
    python -m grader run NOTEBOOK...         # make run: execute the kit's notebooks into build/ (grader/kit/runkit.py)

``grade`` is the default: ``python -m grader SUBMISSION...`` grades. A SUBMISSION is a folder holding the
notebooks, a .zip of one, or a course platform's bulk download (Canvas or Moodle, a folder or its .zip):
grader/intake/ finds one submission per student. Every submission is one task on a Dask cluster
(grader/execution/batch.py, cluster.py): an existing one with --cluster, else a local one of --jobs workers.
One line of progress per submission (and a progress bar on a terminal), a summary table at the end. With
--json FILE, also the gradebooks, the feedback files and the summary chart (grader/report/), and FILE's stem +
.jsonl (the journal, one line per report as it arrives; --resume grades only what it lacks). The grading
options (--timeout, --submission-limit, --fast, --no-sandbox, --profile) are grader/options.py's, the same at
pytest's door: each notebook is judged by the assignment version it was written against (read off its text;
--profile NAME judges every notebook by that version, with a note where one looks written against another);
--scale-versions puts every version on one scale in the platform gradebooks (never by default). The exit
status is 0 when every submission was graded, whatever the scores; 3 when the batch ran but some submissions were
not graded (the grader failed on them: grader/execution/failures.py; their reports say why and what to do); 2 for
a usage error, a cluster that cannot be used, a batch stopped because its first submissions all failed the same
way, or when the sandbox (bubblewrap) cannot run on a worker and --no-sandbox was not given; 130 when interrupted
(what was graded is kept).
"""
import argparse
import copy
import sys
import time
from pathlib import Path

from grader.options import Options, add_arguments, refusal
from grader.report.safetext import terminal

COMMANDS = ("grade", "release", "sandbox", "run", "similarity")
USAGE = ("python -m grader [grade] SUBMISSION... [--json FILE [--resume]] [--lms canvas|moodle] "
         "[--jobs N | --cluster tcp://HOST:PORT]\n       [--timeout SECONDS] [--submission-limit SECONDS] [--fast] "
         "[--no-sandbox] [--profile NAME] [--scale-versions]\n"
         "       [--similarity [--against DIR...]]\n"
         "       python -m grader similarity SUBMISSION... [--against DIR...] --json OUT.json\n"
         "       python -m grader release OUTDIR\n       python -m grader sandbox setup|check\n"
         "       python -m grader run NOTEBOOK...")


def grade_main(argv):
    parser = argparse.ArgumentParser(prog="python -m grader", usage=USAGE,
                                     description="Grade HW3 submissions (see README.md, 'For instructors').")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="a folder or a .zip of one, or a Canvas/Moodle bulk download (folder or .zip)")
    add_arguments(parser.add_argument)
    parser.add_argument("--resume", action="store_true",
                        help="grade only the submissions that FILE.jsonl of an earlier run does not hold")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="grade N submissions in parallel (default 1)")
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                        help="grade on the Dask cluster whose scheduler is there (see README.md)")
    parser.add_argument("--lms", choices=("canvas", "moodle"),
                        help="with --json: also the gradebook in this platform's import layout (default: the platforms "
                             "the downloads came from)")
    parser.add_argument("--assignment", default="HW3", metavar="NAME",
                        help="the assignment's column name in the Canvas gradebook (default HW3)")
    parser.add_argument("--scale-versions", action="store_true",
                        help="the platform gradebooks put every assignment version on one scale: score / the "
                             "submission's maximum x the batch's largest maximum (by default a smaller maximum is "
                             "never scaled up to full marks)")
    parser.add_argument("--similarity", action="store_true",
                        help="with --json: also the similarity report (FILE's stem + _similarity.json and its pages) "
                             "and the gradebook's column 'most similar to (score)'")
    parser.add_argument("--against", action="append", default=[], metavar="DIR",
                        help="with --similarity: a folder of known solutions every student is compared with")
    parser.add_argument("--marks", action="append", default=[], metavar="FILE",
                        help="with --json: merge a TA's marks (the file a review page downloads) into every gradebook "
                             "and feedback; may be given several times; with --resume nothing is graded again")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0 or args.submission_limit <= 0:
        parser.error("--jobs, --timeout and --submission-limit must be positive")
    if args.resume and not args.json:
        parser.error("--resume needs --json FILE (the journal of the earlier run is FILE's stem + .jsonl)")
    if args.marks and not args.json:
        parser.error("--marks needs --json FILE (the gradebooks the marks are merged into)")
    from grader.review.marks import MarksError, apply_marks, read_all
    try:
        marks = read_all(args.marks)
    except MarksError as exc:
        parser.error(str(exc))
    if args.cluster and args.jobs != 1:
        parser.error("--jobs is for grading here; with --cluster the cluster's workers decide how many run at once")
    if args.similarity and not args.json:
        parser.error("--similarity needs --json FILE (the report is FILE's stem + _similarity.json)")
    if args.against and not args.similarity:
        parser.error("--against is for --similarity")
    for folder in args.against:
        if not Path(folder).is_dir():
            parser.error(f"--against {folder}: not a folder")
    options = Options.from_namespace(args)
    from grader.execution import sandbox
    if not options.sandbox:
        print("warning: --no-sandbox: the submissions' code runs unconfined, with the grader's rights; "
              "every report of this run says it was graded without a sandbox", file=sys.stderr)
    else:   # every worker checks that it can make one too (grader/execution/cluster.py)
        why = None if args.cluster else sandbox.problem()
        if why:
            print(f"python -m grader: {refusal(why)}", file=sys.stderr)
            return 2

    from grader.execution.batch import BatchAborted, grade_batch
    from grader.execution.cluster import ClusterError, connect
    from grader.intake.discover import discover
    from grader.report.writers import summary_table, write_reports
    from grader.review.page import write_review
    written, similar = {}, None

    def write(reports):
        # the TA's marks go into what is written, never into the journal (a later run merges them again)
        reports = copy.deepcopy(reports)
        apply_marks(reports, marks)
        written.update(write_reports(reports, args.json, lms=args.lms, assignment=args.assignment,
                                     scale=args.scale_versions, similar=similar))
        review = write_review(reports, Path(args.json))
        if review:
            written["review"] = review

    start = time.perf_counter()
    submissions = discover(args.submissions)
    if args.similarity:   # before grading (it needs only the notebooks' code): every gradebook written has the column
        similar, path = similarity_of(submissions, args.against, args.json)
        written["similarity"] = path
    try:
        with connect(args.cluster, jobs=args.jobs, kernel_name=options.kernel_name, wait=print) as client:
            results = grade_batch(client, submissions, options, json_path=args.json, resume=args.resume,
                                  write=write if args.json else None)
    except (ClusterError, BatchAborted) as exc:
        print(f"error: {exc}" + ("\n(what was graded is kept: run again with --resume)" if args.json else ""),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted" + (f": what was graded is kept in {args.json} and its journal; "
                                 "run again with --resume to grade the rest" if args.json else ""), file=sys.stderr)
        return 130
    from grader.execution.failures import NOT_GRADED_EXIT, not_graded
    missing = not_graded(results)
    print()
    shown = copy.deepcopy(results)   # the table shows the TA's merged marks, as the gradebooks do
    apply_marks(shown, marks)
    print(terminal(summary_table(shown)))   # names and file names from submissions: no escape sequences
    print(f"\n{len(results) - len(missing)} submission(s) graded"
          + (f", {len(missing)} NOT GRADED (see above)" if missing else "")
          + f" in {time.perf_counter() - start:.0f} s"
          + (" (--fast: main notebooks not run)" if options.fast else "")
          + (" WITHOUT A SANDBOX (--no-sandbox)" if not options.sandbox else ""))
    if args.json:
        print("Reports: " + ", ".join(f"{path}" + ("/" if what in ("feedback", "review") else "")
                                      for what, path in written.items())
              + f", journal {Path(args.json).with_suffix('.jsonl')}")
    return NOT_GRADED_EXIT if missing else 0


def similarity_of(submissions, against, json_path):
    """({student key: "name (score)"}, path): the similarity report of a graded batch, FILE's stem +
    _similarity.json beside the gradebooks (its pages in the folder of that name), and the kit CSV's column."""
    from grader.similarity.cli import run
    from grader.similarity.report import discover_known, most_similar
    json_path = Path(json_path)
    path = json_path.with_name(json_path.stem + "_similarity.json")
    report = run(submissions, discover_known(against), path)
    return most_similar(report), path


def similarity_main(argv):
    from grader.similarity.cli import main as similarity_cli
    return similarity_cli(argv, prog="python -m grader similarity")


def release_main(argv):
    parser = argparse.ArgumentParser(prog="python -m grader release",
                                     description="Write the students' version of the kit into OUTDIR.")
    parser.add_argument("outdir")
    args = parser.parse_args(argv)
    from grader.kit.release import release
    try:
        written = release(args.outdir)
    except FileExistsError as exc:
        parser.error(str(exc))
    print("\n".join(f"wrote {path}" for path in written))
    return 0


def sandbox_main(argv):
    from grader.execution import sandbox
    if argv not in (["setup"], ["check"]):
        print("usage: python -m grader sandbox setup|check", file=sys.stderr)
        return 2
    return sandbox.main(argv)


def run_main(argv):
    from grader.kit import runkit
    return runkit.main(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else "grade"
    rest = argv[1:] if argv and argv[0] in COMMANDS else argv
    return {"grade": grade_main, "release": release_main, "sandbox": sandbox_main, "run": run_main,
            "similarity": similarity_main}[command](rest)


if __name__ == "__main__":
    sys.exit(main())
