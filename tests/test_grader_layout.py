"""The grader's house rules, checked on its source: no file over 450 lines, no import circle between its files
(imports at module level and inside functions alike), every stage importing only from the stages before it.

The imports are read with :mod:`ast`, never by importing: ``from grader.x import y`` is an edge to the module
``grader.x.y`` when there is one, else to ``grader.x``; ``import grader.x as x`` an edge to ``grader.x``.
"""
import ast

import pytest

from conftest import ROOT

GRADER = ROOT / "grader"
MAX_LINES = 450
# The layers in the order the work flows (grader/__init__.py lists the stages): a file may import from its own
# layer and the ones before it, never from a later one. selfcheck/ (shipped to students) imports nothing else.
# execution/ has two ends: what runs a notebook (work copy, sandbox, kernel, probe protocol) is below the parts;
# what drives whole submissions (one pytest session, the cluster, the batch) is above the report it returns.
BASE = ["__init__", "scratch"]   # below every stage
LAYERS = ["selfcheck", "intake", "execution", "options", "parts", "report", "review", "similarity", "execution.session",
          "execution.cluster", "execution.batch", "plugin", "kit", "__main__"]


def modules():
    """{dotted module name: path} of every Python file of grader/."""
    found = {}
    for path in sorted(GRADER.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path, known, root=ROOT):
    """The modules of `known` that a file imports, anywhere in it (module level, functions, classes)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from grader.selfcheck import expected` imports the module grader.selfcheck.expected; `from
            # grader.selfcheck import check` a name of the package grader.selfcheck (its __init__).
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        edges |= {name for name in names if name in known}
    return edges


def graph():
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def layer(name):
    """The layer of module `name`: the longest entry of LAYERS it is in; '__init__' for the package itself and the
    utilities every stage may use (scratch.py: the process's temporary folders)."""
    inside = name.split(".", 1)[1] if "." in name else "__init__"
    found = [entry for entry in LAYERS if inside == entry or inside.startswith(entry + ".")]
    if not found:
        assert inside in BASE, f"{name}: in no layer (add it to LAYERS or BASE)"
    return max(found, key=len) if found else "__init__"


def cycles(edges):
    """Every import circle, each as a list of module names (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.a import x\n")
    (package / "c.py").write_text("import pkg.a\n")
    known = {"pkg.a": package / "a.py", "pkg.b": package / "b.py", "pkg.c": package / "c.py"}
    edges = {name: imports(path, known, root=tmp_path) for name, path in known.items()}
    assert edges == {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}
    assert cycles(edges) == [["pkg.a", "pkg.b"]]


def test_every_import_of_the_grader_names_one_of_its_modules():
    """An import of a module that moved (``from grader.grade import ...`` inside a function) fails only when that
    line runs: every ``grader...`` import, anywhere in a file, must name a module of grader/ (or a name in one)."""
    known = modules()
    unknown = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            else:
                continue
            unknown += [f"{name}: {t}" for t in targets if t.split(".")[0] == "grader" and t not in known]
    assert unknown == []


def test_no_import_circle_between_the_graders_files():
    assert cycles(graph()) == []


def test_each_layer_imports_only_from_itself_and_the_layers_before_it():
    order = {name: i for i, name in enumerate(["__init__"] + LAYERS)}
    assert layer("grader.execution.kernel") == "execution" and layer("grader.execution.batch") == "execution.batch"
    assert layer("grader.scratch") == "__init__" and layer("grader.review.page") == "review"
    upward = [f"{module} -> {target}" for module, targets in graph().items() for target in targets
              if order[layer(target)] > order[layer(module)]]
    assert upward == []


@pytest.mark.parametrize("path", sorted(GRADER.rglob("*.py")), ids=lambda p: str(p.relative_to(GRADER)))
def test_no_file_of_the_grader_is_over_450_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
