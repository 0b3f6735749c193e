"""What the grader writes: the JSON list, the gradebook CSV, one Markdown feedback file per submission,
and the summary table on the terminal."""
import csv
import json
import re
from pathlib import Path

JSON_KEYS = ("submission", "score", "max_score", "checks", "errors", "sandbox")


def public(result):
    """The report object with exactly the documented keys."""
    return {key: result[key] for key in JSON_KEYS}


def target_totals(result):
    """{target: (points, max_points)} in the order the checks came."""
    totals = {}
    for check in result["checks"]:
        points, max_points = totals.get(check["target"], (0, 0))
        totals[check["target"]] = (points + check["points"], max_points + check["max_points"])
    return totals


def feedback_name(submission, taken):
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(submission).rstrip("/")).name.removesuffix(".zip")) or "submission"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name + ".md"


def feedback_markdown(result):
    lines = [f"# Feedback: {result['submission']}", "",
             f"**Score: {result['score']:g} / {result['max_score']:g}**", ""]
    if result.get("fast"):
        lines += ["(Graded with `--fast`: the main notebook was not run.)", ""]
    if not result["sandbox"]:
        lines += ["(Graded **without a sandbox** (`--no-sandbox`): the notebooks ran unconfined.)", ""]
    if result["errors"]:
        lines += ["## Problems running your notebooks", ""] + [f"- {e}" for e in result["errors"]] + [""]
    lines += ["## Summary", "", "| part | points |", "|---|---|"]
    for target, (points, max_points) in target_totals(result).items():
        lines.append(f"| {target} | {points:g} / {max_points:g} |")
    lines += ["", "## Every check", ""]
    current = None
    for check in result["checks"]:
        if check["target"] != current:
            current = check["target"]
            lines += ["", f"### {current}", "", "| | check | points | message |", "|---|---|---|---|"]
        mark = "ok" if check["passed"] else "**FAILED**"
        message = str(check["message"]).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {mark} | {check['name']} | {check['points']:g} / {check['max_points']:g} | {message} |")
    return "\n".join(lines) + "\n"


def write_reports(results, json_path):
    """Writes FILE (JSON), FILE's stem + .csv (gradebook) and FILE's stem + _feedback/ (one .md each)."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps([public(r) for r in results], indent=1))
    csv_path = json_path.with_suffix(".csv")
    targets = list(dict.fromkeys(t for r in results for t in target_totals(r)))
    feedback_dir = json_path.with_name(json_path.stem + "_feedback")
    feedback_dir.mkdir(exist_ok=True)
    taken = set()
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "score", "max_score", "errors", "sandbox", "feedback"] + targets)
        for r in results:
            name = feedback_name(r["submission"], taken)
            (feedback_dir / name).write_text(feedback_markdown(r))
            totals = target_totals(r)
            writer.writerow([r["submission"], r["score"], r["max_score"], len(r["errors"]), "yes" if r["sandbox"] else "no",
                             str(Path(feedback_dir.name) / name)] + [f"{totals.get(t, (0, 0))[0]:g}" for t in targets])
    return csv_path, feedback_dir


def summary_table(results):
    width = max([len(str(r["submission"])) for r in results] + [10])
    lines = [f"{'submission':<{width}}  {'score':>13}  {'errors':>6}  {'seconds':>7}", "-" * (width + 34)]
    for r in results:
        lines.append(f"{str(r['submission']):<{width}}  {r['score']:>6g} / {r['max_score']:<4g}  "
                     f"{len(r['errors']):>6}  {r.get('seconds', 0):>7.1f}")
    return "\n".join(lines)
