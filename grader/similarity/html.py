"""The HTML pages of a similarity report: a sortable list of the pairs to review, and each pair side by side.

    write_html(report, "out/similarity")      # index.html and pair-0001.html, ... (static: no server, no network)

Everything that comes from a submission (names, keys, code) is escaped; the pages run no code of theirs but a
few lines that sort the table when a heading is clicked. A pair's page shows, for each region where the two
match, the two cells side by side, every line numbered, the matching lines highlighted.
"""
import html
from pathlib import Path

from grader.report.safetext import clean

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f3f3f3}th:after{content:" \\2195";color:#999}
.score{font-variant-numeric:tabular-nums;text-align:right}
.side{width:50%}pre{margin:0;font-size:12px;white-space:pre-wrap;word-break:break-all}
.m{background:#ffe08a}.n{color:#999;user-select:none;display:inline-block;width:3.2em;text-align:right;margin-right:.6em}
.where{font-weight:600;margin:.2em 0}"""

SORT = """document.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0], rows = Array.from(body.rows);
  const up = th.dataset.dir !== 'up'; th.dataset.dir = up ? 'up' : 'down';
  const value = r => r.cells[col].dataset.v ?? r.cells[col].textContent;
  rows.sort((a, b) => { const x = value(a), y = value(b), nx = parseFloat(x), ny = parseFloat(y);
    const c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny; return up ? c : -c; });
  rows.forEach(r => body.appendChild(r)); }));"""


def _e(text):
    return html.escape(str(text), quote=True)


def _page(title, body, script=""):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n" + (f"<script>{script}</script>" if script else "")
            + "</body></html>\n")


def _who(side):
    return f"{_e(side['name'])} <small>({_e(side['kind'])} {_e(side['key'])})</small>"


def _cell_html(source, ranges):
    marked = {n for first, last in ranges for n in range(first, last + 1)}
    out = []
    for n, line in enumerate(source.splitlines() or [""], start=1):
        text = f"<span class=\"n\">{n}</span>{_e(line)}"
        out.append(f"<span class=\"m\">{text}</span>" if n in marked else text)
    return "<pre>" + "\n".join(out) + "</pre>"


def _source(report, key, notebook, cell):
    for c in report["_cells"].get(key, ()):
        if c["notebook"] == notebook and c["cell"] == cell:
            return c["source"]
    return ""


def pair_page(report, pair):
    rows = []
    for region in pair["regions"]:
        sides = []
        for side, who in (("a", pair["a"]), ("b", pair["b"])):
            place = region[side]
            source = _source(report, who["key"], place["notebook"], place["cell"])
            sides.append(f"<td class=\"side\"><div class=\"where\">{_e(place['notebook'])}, cell {place['cell']}"
                         f"</div>{_cell_html(source, place['lines'])}</td>")
        rows.append("<tr>" + "".join(sides) + "</tr>")
    body = (f"<p><a href=\"index.html\">All pairs</a></p><h1>Score {pair['score']:.2f}</h1>"
            f"<p>{pair['shared']} fingerprints shared; highlighted: the lines they cover.</p>"
            f"<table><thead><tr><th class=\"side\">{_who(pair['a'])}</th><th class=\"side\">{_who(pair['b'])}</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return _page(f"{pair['a']['name']} / {pair['b']['name']}", body)


def index_page(report, pages):
    review = report["thresholds"]["review"]
    rows = []
    for pair, page in pages:
        rows.append(f"<tr><td class=\"score\" data-v=\"{pair['score']:.4f}\"><a href=\"{page}\">{pair['score']:.2f}</a>"
                    f"</td><td>{_e(pair['a']['name'])}</td><td>{_e(pair['a']['key'])}</td>"
                    f"<td>{_e(pair['b']['name'])}</td><td>{_e(pair['b']['key'])}</td><td>{_e(pair['b']['kind'])}</td>"
                    f"<td class=\"score\">{pair['shared']}</td></tr>")
    students = sum(1 for s in report["submissions"] if s["kind"] == "student")
    known = len(report["submissions"]) - students
    problems = [f"<li>{_e(s['name'])} ({_e(s['key'])}): {_e(p)}</li>" for s in report["submissions"]
                for p in s["problems"]]
    body = (f"<h1>Similarity: {len(rows)} pairs at {review:.2f} or more</h1>"
            f"<p>{students} students compared with each other and with {known} known solutions; the code every "
            "template of the assignment gives is left out. Score: fingerprints shared over those of the smaller "
            "of the two. Click a heading to sort, a score to see the pair.</p>"
            "<table><thead><tr><th>score</th><th>student</th><th>key</th><th>similar to</th><th>key</th>"
            f"<th>kind</th><th>fingerprints shared</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + (f"<h2>Problems (what could not be read was not compared)</h2><ul>{''.join(problems)}</ul>" if problems else ""))
    return _page("Similarity", body, SORT)


def write_html(report, folder):
    """Writes index.html and one page per pair at or above the review threshold into `folder`; returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for n, pair in enumerate(p for p in report["pairs"] if p["score"] >= report["thresholds"]["review"]):
        name = f"pair-{n + 1:04d}.html"
        (folder / name).write_text(clean(pair_page(report, pair)), encoding="utf-8")
        pages.append((pair, name))
    index = folder / "index.html"
    index.write_text(clean(index_page(report, pages)), encoding="utf-8")   # lone surrogates: U+FFFD
    return index
