"""The grader's command line.

    python -m grader SUBMISSION... [--json FILE [--resume]] [--lms canvas|moodle] [--jobs N | --cluster tcp://HOST:PORT]
                                   [--timeout SECONDS] [--submission-limit SECONDS] [--fast] [--no-sandbox] [--profile NAME]
    python -m grader release OUTDIR

A SUBMISSION is a folder holding HW3_Modules.ipynb, HW3_differentiation.ipynb and/or HW3_main.ipynb,
or a .zip of such a folder, or a course platform's bulk download (Canvas or Moodle, a folder or its .zip):
grader/intake.py finds one submission per student. Every submission is one task on a Dask cluster
(grader/batch.py, grader/cluster.py): an existing one with --cluster, else a local one of --jobs workers.
One line of progress per submission (and a progress bar on a terminal), a summary table at the end. With
--json FILE, also the gradebooks, the feedback files and the summary chart (grader/report.py), and FILE's
stem + .jsonl (the journal, one line per report as it arrives; --resume grades only what it lacks). Every
HW3_Modules.ipynb is judged by the course's assignment version, --profile NAME (kit, 2017, 2018, 2019-21,
derivative; default: kit); a notebook that looks written against another one gets a note. --profile auto allows
mixed versions: each notebook is judged by the version read off it (its classes and signatures), and the
platform gradebooks put every version on one scale. The exit status
is 0 whenever grading ran, whatever the scores; 2 for a usage error, a cluster that cannot be used, or
when the sandbox (bubblewrap) cannot run on a worker and --no-sandbox was not given; 130 when interrupted
(what was graded is kept).
"""
import argparse
import sys
import time
from pathlib import Path

from grader.clock import SUBMISSION_LIMIT
from grader.safetext import terminal

USAGE = ("python -m grader SUBMISSION... [--json FILE [--resume]] [--lms canvas|moodle] "
         "[--jobs N | --cluster tcp://HOST:PORT]\n       [--timeout SECONDS] [--submission-limit SECONDS] [--fast] [--no-sandbox] [--profile NAME]\n"
         "       python -m grader release OUTDIR")


def grade_main(argv):
    parser = argparse.ArgumentParser(prog="python -m grader", usage=USAGE,
                                     description="Grade HW3 submissions (see README.md, 'For instructors').")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="a folder or a .zip of one, or a Canvas/Moodle bulk download (folder or .zip)")
    parser.add_argument("--json", metavar="FILE",
                        help="write the report list here, plus FILE.csv, FILE_feedback/ and the journal FILE.jsonl")
    parser.add_argument("--resume", action="store_true",
                        help="grade only the submissions that FILE.jsonl of an earlier run does not hold")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="grade N submissions in parallel (default 1)")
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                        help="grade on the Dask cluster whose scheduler is there (see README.md)")
    parser.add_argument("--timeout", type=float, default=60, metavar="SECONDS",
                        help="time limit of one check or one cell (default 60)")
    parser.add_argument("--submission-limit", type=float, default=SUBMISSION_LIMIT, metavar="SECONDS",
                        help="wall-clock limit of one submission: all its notebooks, restarts and replays included "
                             f"(default {SUBMISSION_LIMIT:g})")
    parser.add_argument("--lms", choices=("canvas", "moodle"),
                        help="with --json: also the gradebook in this platform's import layout (default: the platforms "
                             "the downloads came from)")
    parser.add_argument("--assignment", default="HW3", metavar="NAME",
                        help="the assignment's column name in the Canvas gradebook (default HW3)")
    parser.add_argument("--fast", action="store_true", help="skip HW3_main.ipynb (module and differentiation checks only)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the kernels without the sandbox (every report then says so); only where bubblewrap cannot run")
    from grader.selfcheck.versions import AUTO, KIT, VERSIONS
    parser.add_argument("--profile", choices=list(VERSIONS) + [AUTO], default=KIT.name, metavar="NAME",
                        help="the course's assignment version every HW3_Modules.ipynb is judged by (default: kit): "
                             + ", ".join(VERSIONS) + f"; {AUTO}: mixed versions allowed, each notebook judged by the "
                             "version it was written against, the platform gradebooks on one scale")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0 or args.submission_limit <= 0:
        parser.error("--jobs, --timeout and --submission-limit must be positive")
    if args.resume and not args.json:
        parser.error("--resume needs --json FILE (the journal of the earlier run is FILE's stem + .jsonl)")
    if args.cluster and args.jobs != 1:
        parser.error("--jobs is for grading here; with --cluster the cluster's workers decide how many run at once")
    from grader import sandbox
    if args.no_sandbox:
        kernel_name = sandbox.NO_SANDBOX_KERNEL
        print("warning: --no-sandbox: the submissions' code runs unconfined, with the grader's rights; "
              "every report of this run says it was graded without a sandbox", file=sys.stderr)
    else:
        kernel_name = sandbox.KERNEL_NAME   # every worker checks that it can make one too (grader/cluster.py)
        why = None if args.cluster else sandbox.problem()
        if why:
            print(f"python -m grader: cannot grade in a sandbox: {why}.\n"
                  "Submissions are untrusted code: fix that, or pass --no-sandbox to grade without one "
                  "(every report then says so).", file=sys.stderr)
            return 2

    from grader.batch import BatchAborted, grade_batch
    from grader.cluster import ClusterError, connect
    from grader.intake import discover
    from grader.report import summary_table, write_reports
    options = {"timeout": args.timeout, "fast": args.fast, "kernel_name": kernel_name, "profile": args.profile,
               "submission_limit": args.submission_limit}
    written = {}

    def write(reports):
        written.update(write_reports(reports, args.json, lms=args.lms, assignment=args.assignment,
                                     scale=args.profile == AUTO))

    start = time.perf_counter()
    submissions = discover(args.submissions)
    try:
        with connect(args.cluster, jobs=args.jobs, kernel_name=kernel_name, wait=print) as client:
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
    print()
    print(terminal(summary_table(results)))   # names and file names from submissions: no escape sequences
    print(f"\n{len(results)} submission(s) graded in {time.perf_counter() - start:.0f} s"
          + (" (--fast: main notebooks not run)" if args.fast else "")
          + (" WITHOUT A SANDBOX (--no-sandbox)" if args.no_sandbox else ""))
    if args.json:
        print("Reports: " + ", ".join(f"{path}" + ("/" if what == "feedback" else "") for what, path in written.items())
              + f", journal {Path(args.json).with_suffix('.jsonl')}")
    return 0


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
