"""The code the assignment gives, as k-gram hashes: excluded before submissions are compared.

    given = given_hashes()          # int64 array, sorted: every k-gram of every template's code cells

Two students who hand in the untouched template, or fill the same stubs, share all of the template's code; that
is not similarity. The shipped ``templates.npz`` holds, for each version of the assignment students work from
(``../shared/templates.md``: the course's ``homework_modules.ipynb`` of 2017, 2018 and 2019-21, and this kit's
own release, modules and differentiation), the hashes of every k-gram (not only the winnowed ones: a student's
fingerprint may be any of them) of the normalised code of every code cell: class skeletons, stubs, given
modules and helpers. Docstrings and comments are normalised away anyway. Hashes, not the templates' text, are
shipped: the course's text stays in the course's repository.

The hashes depend on the normaliser (``fingerprint.NORMALISER``, ``K``): the file records both and is refused
if they differ. When the kit's notebooks change, refresh the kit's part (the course's part is kept):

    python -m grader release /tmp/release && python -m grader.similarity.templates --release /tmp/release

and after a change of the normaliser, rebuild the course's part too from the templates' text (each as a .py
file, cells separated by ``# %%`` lines): ``--course 2017=FILE.py --course 2018=... --course 2019-21=...``.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from grader.intake.notebooks import read_lenient
from grader.similarity.code import COMPARED, cells_of_notebook
from grader.similarity.fingerprint import K, NORMALISER, fingerprint_cell

DATA = Path(__file__).with_name("templates.npz")
CELL_SEPARATOR = "# %%\n"


class TemplateDataError(RuntimeError):
    """The shipped template hashes do not fit this normaliser (rebuild them: see the module docstring)."""


def hashes_of_sources(sources):
    """Sorted unique int64 hashes of every k-gram of the given cell sources."""
    parts = [fingerprint_cell(src).hashes for src in sources]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def release_sources(folder):
    """{name: [cell source]} of the kit's release notebooks (HW3_Modules, HW3_differentiation) in `folder`."""
    out = {}
    for notebook in COMPARED:
        nb, _ = read_lenient(Path(folder) / notebook)
        out[f"kit:{notebook}"] = [c.source for c in cells_of_notebook(nb, notebook)]
    return out


def build(course_files, release_folder, keep=None):
    """{name: hashes} for course templates ({version: .py path}) and the kit's release folder; without
    `course_files`, the course's tables of `keep` (a file made by the same normaliser) are kept."""
    tables = {} if course_files else {n: h for n, h in load(keep).items() if n.startswith("course:")}
    sources = {f"course:{version}": Path(path).read_text(encoding="utf-8").split(CELL_SEPARATOR)
               for version, path in sorted(course_files.items())}
    sources.update(release_sources(release_folder))
    tables.update({name: hashes_of_sources(cells) for name, cells in sources.items()})
    return tables


def save(tables, out):
    meta = json.dumps({"k": K, "normaliser": NORMALISER, "sources": sorted(tables)})
    np.savez_compressed(out, meta=np.array(meta), **{name: tables[name] for name in tables})


def load(path=DATA):
    """{name: hashes} from the shipped file; TemplateDataError if made by another normaliser."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("k") != K or meta.get("normaliser") != NORMALISER:
            raise TemplateDataError(f"{path} was made with {meta.get('normaliser')} (k={meta.get('k')}), this "
                                    f"kit normalises with {NORMALISER} (k={K}): rebuild it "
                                    "(python -m grader.similarity.templates)")
        return {name: data[name] for name in meta["sources"]}


def given_hashes(path=DATA):
    """int64 array, sorted and unique: the union of every template's k-gram hashes."""
    tables = load(path)
    return np.unique(np.concatenate(list(tables.values())))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.similarity.templates",
                                     description="Rebuild the template hashes excluded from similarity.")
    parser.add_argument("--out", default=str(DATA), help="default: the kit's own templates.npz")
    parser.add_argument("--course", action="append", default=[], metavar="VERSION=FILE.py",
                        help="a course template's code (default: keep the course's tables of --out)")
    parser.add_argument("--release", required=True, metavar="OUTDIR", help="written by python -m grader release")
    args = parser.parse_args(argv)
    course = dict(item.split("=", 1) for item in args.course)
    tables = build(course, args.release, keep=args.out)
    save(tables, args.out)
    for name, hashes in sorted(tables.items()):
        print(f"{name}: {len(hashes)} k-grams")
    return 0


if __name__ == "__main__":
    sys.exit(main())
