"""The batch at a glance: one PNG a TA looks at rather than reads.

Left: per module (and the differentiation and main notebooks), the share of students with full marks, each bar
labelled with how many scored 0 there and the check that failed most often among the others. Right: the histogram of the total scores.
"""
from collections import Counter

from grader.report.report import awaiting


def module_stats(results):
    """{target: (share with full marks, most frequent failing check or '', how many failed it, how many scored 0)}
    over the batch. The failing check is counted among the students who scored some of the target's points:
    a missing notebook or an untouched stub fails every check alike and would hide the informative mistake."""
    stats = {}
    def judged(c):   # a check awaiting a TA is neither full marks nor a zero yet
        return c["max_points"] > 0 and not awaiting(c)
    targets = list(dict.fromkeys(c["target"] for r in results for c in r["checks"] if judged(c)))
    for target in targets:
        full, zero, failing = 0, 0, Counter()
        graded = 0
        for r in results:
            checks = [c for c in r["checks"] if c["target"] == target and judged(c)]
            if not checks:
                continue
            graded += 1
            full += all(c["points"] == c["max_points"] for c in checks)
            if not any(c["points"] for c in checks):
                zero += 1
                continue
            failing.update(c["name"] for c in checks if c["points"] < c["max_points"])
        name, count = failing.most_common(1)[0] if failing else ("", 0)
        stats[target] = (full / graded if graded else 0.0, name, count, zero)
    return stats


def summary_png(results, path):
    """Writes the summary chart of a batch of reports to `path` (matplotlib, no display needed); returns path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = module_stats(results)
    targets = list(stats)[::-1]   # the first module at the top
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, max(4.5, 0.38 * len(targets) + 1.5)),
                                      gridspec_kw={"width_ratios": [2.2, 1]})
    shares = [100 * stats[t][0] for t in targets]
    left.barh(targets, shares, color=["#4c9a2a" if s == 100 else "#d08c2a" for s in shares])
    for y, target in enumerate(targets):
        share, check, count, zero = stats[target]
        label = [f"{100 * share:.0f} % full"] if share < 1 else ["all full marks"]
        label += [f"{zero} with 0"] if zero else []
        label += [f"most failed: {check} ({count})"] if check else []
        label = "; ".join(label)
        left.text(102, y, label, va="center", fontsize=8)
    left.axvline(100, color="#999999", linewidth=0.8)
    left.set_xlim(0, 230)   # the labels go right of the 100 % line
    left.set_xticks(range(0, 101, 25))
    left.set_xlabel("students with full marks (%)")
    left.set_title(f"Per module: full marks, zeros and the most frequent failing check ({len(results)} students)")
    # a report whose every point awaits a TA (max_score 0) has no automatic score to chart, never a 0 %
    scores = [100 * r["score"] / r["max_score"] if r["max_score"] else 0 for r in results
              if r["max_score"] or not r.get("awaiting_review")]
    right.hist(scores, bins=[i * 5 for i in range(21)], color="#3a6ea5", edgecolor="white")
    right.set_xlim(0, 100)
    right.set_xlabel("total score (% of the maximum)")
    right.set_ylabel("students")
    right.set_title("Score histogram")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
