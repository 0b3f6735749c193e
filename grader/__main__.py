"""The grader's command line.

    python -m grader SUBMISSION... [--json FILE] [--lms canvas|moodle] [--jobs N] [--timeout SECONDS] [--fast] [--no-sandbox]
                     [--profile NAME]
    python -m grader release OUTDIR

A SUBMISSION is a folder holding HW3_Modules.ipynb, HW3_differentiation.ipynb and/or HW3_main.ipynb,
or a .zip of such a folder, or a course platform's bulk download (Canvas or Moodle, a folder or its .zip):
grader/intake.py finds one submission per student. One line of progress per submission, a summary table at
the end. With --json FILE, also the gradebooks, the feedback files and the summary chart (grader/report.py). Each HW3_Modules.ipynb is judged by the assignment version it
was written against, read off the notebook (its classes and signatures); --profile NAME forces one (kit, 2017,
2018, 2019-21, derivative). The exit status is 0 whenever grading ran, whatever the scores; 2 for a usage error, or
when the sandbox (bubblewrap) cannot run here and --no-sandbox was not given.
"""
import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

USAGE = ("python -m grader SUBMISSION... [--json FILE] [--lms canvas|moodle] [--jobs N] [--timeout SECONDS] [--fast]\n"
         "       [--no-sandbox] [--profile NAME]\n"
         "       python -m grader release OUTDIR")


def _grade_one(submission, timeout, fast, kernel_name, profile=None):
    from grader.grade import grade_submission
    return grade_submission(submission, timeout=timeout, fast=fast, kernel_name=kernel_name, profile=profile)


def grade_main(argv):
    parser = argparse.ArgumentParser(prog="python -m grader", usage=USAGE,
                                     description="Grade HW3 submissions (see README.md, 'For instructors').")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="a folder or a .zip of one, or a Canvas/Moodle bulk download (folder or .zip)")
    parser.add_argument("--json", metavar="FILE", help="write the report list here, plus FILE.csv and FILE_feedback/")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="grade N submissions in parallel (default 1)")
    parser.add_argument("--timeout", type=float, default=60, metavar="SECONDS",
                        help="time limit of one check or one cell (default 60)")
    parser.add_argument("--lms", choices=("canvas", "moodle"),
                        help="with --json: also the gradebook in this platform's import layout (default: the platforms "
                             "the downloads came from)")
    parser.add_argument("--assignment", default="HW3", metavar="NAME",
                        help="the assignment's column name in the Canvas gradebook (default HW3)")
    parser.add_argument("--fast", action="store_true", help="skip HW3_main.ipynb (module and differentiation checks only)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernels without the sandbox (every report then says so); only where bubblewrap cannot run")
    from grader.selfcheck.versions import VERSIONS
    parser.add_argument("--profile", choices=list(VERSIONS), metavar="NAME",
                        help="judge every submission by this assignment version (default: read off each notebook): "
                             + ", ".join(VERSIONS))
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0:
        parser.error("--jobs and --timeout must be positive")
    from grader import sandbox
    if args.no_sandbox:
        kernel_name = sandbox.NO_SANDBOX_KERNEL
        print("warning: --no-sandbox: the submissions' code runs unconfined, with the grader's rights; "
              "every report of this run says it was graded without a sandbox", file=sys.stderr)
    else:
        kernel_name = sandbox.KERNEL_NAME
        why = sandbox.problem()
        if why:
            print(f"python -m grader: cannot grade in a sandbox: {why}.\n"
                  "Submissions are untrusted code: fix that, or pass --no-sandbox to grade without one "
                  "(every report then says so).", file=sys.stderr)
            return 2

    from grader.intake import discover
    from grader.report import summary_table, write_reports
    submissions = discover(args.submissions)
    total = len(submissions)
    results = [None] * total
    start = time.perf_counter()

    def progress(i, result):
        done = sum(r is not None for r in results)
        errors = f", {len(result['errors'])} problems" if result["errors"] else ""
        who = result["submission"] + (f" ({result['key']})" if result.get("platform") in ("canvas", "moodle") else "")
        version = f" [{result['version']}]" if result.get("version") else ""
        print(f"[{done}/{total}] {who}{version}: {result['score']:g} / {result['max_score']:g}"
              f"{errors} ({result['seconds']:.0f} s)", flush=True)

    if args.jobs == 1:
        for i, submission in enumerate(submissions):
            results[i] = _crash_safe(submission, args.timeout, args.fast, kernel_name, args.profile)
            progress(i, results[i])
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(_grade_one, submission, args.timeout, args.fast, kernel_name, args.profile): i
                       for i, submission in enumerate(submissions)}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # a worker that died: still one report per submission
                    results[i] = _grader_failure(submissions[i], exc, kernel_name)
                progress(i, results[i])
    print()
    print(summary_table(results))
    print(f"\n{total} submission(s) graded in {time.perf_counter() - start:.0f} s"
          + (" (--fast: main notebooks not run)" if args.fast else "")
          + (" WITHOUT A SANDBOX (--no-sandbox)" if args.no_sandbox else ""))
    if args.json:
        written = write_reports(results, args.json, lms=args.lms, assignment=args.assignment)
        print("Reports: " + ", ".join(f"{path}" + ("/" if what == "feedback" else "") for what, path in written.items()))
    return 0


def _grader_failure(submission, exc, kernel_name):
    from grader.grade import identity_of
    from grader.sandbox import KERNEL_NAME
    return {**identity_of(submission), "score": 0, "max_score": 0, "checks": [], "seconds": 0, "notes": [],
            "sandbox": kernel_name == KERNEL_NAME,
            "errors": [f"the grader failed on this submission ({type(exc).__name__}: {exc}); please report it"]}


def _crash_safe(submission, timeout, fast, kernel_name, profile=None):
    try:
        return _grade_one(submission, timeout, fast, kernel_name, profile)
    except Exception as exc:
        return _grader_failure(submission, exc, kernel_name)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "release":
        parser = argparse.ArgumentParser(prog="python -m grader release",
                                         description="Write the students' version of the kit into OUTDIR.")
        parser.add_argument("outdir")
        args = parser.parse_args(argv[1:])
        from grader.release import release
        try:
            written = release(args.outdir)
        except FileExistsError as exc:
            parser.error(str(exc))
        print("\n".join(f"wrote {path}" for path in written))
        return 0
    return grade_main(argv)


if __name__ == "__main__":
    sys.exit(main())
