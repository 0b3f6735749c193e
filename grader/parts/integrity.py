"""Flags code that a framework or a derivation has no reason to contain: file reads, code run from strings, escapes.

The judges compare values, so a submission that fetched a solution at run time (the kit's reference
notebook can be found on disk: the kernel runs the kit's own Python, ``sys.executable``) would score.
It cannot hide that it reads files, runs strings as code, starts processes, patches modules or reaches
into the grader, so those are listed here. A finding takes no points (a false alarm must not cost a
student); it goes into the report's ``errors`` and the feedback, for a TA to read the cell it names.

The scan reads the syntax tree, never the text: IPython's own input transformer first turns magics
and shell lines into the Python the kernel would run, then :mod:`ast` parses it. So comments,
docstrings and strings are never findings, a method that happens to be called ``eval`` is not the
builtin, and ``!!!`` inside a docstring is not a shell command. A cell that does not parse runs
nothing and is not a finding.

Not listed, on purpose (each is ordinary in real submissions, and none can reach the kit or the
grader): ``%matplotlib``, ``%timeit``/``%time`` (their code is scanned), ``%cd``, ``%pip``/``!pip``
and other environment set-up commands, ``import os``/``sys`` for harmless attributes
(``sys.exit``, ``os.environ``, ``os.path.join``...), ``import io`` for ``StringIO``,
``from google.colab import drive``, ``from grader.selfcheck import check``.

Scanned: the code cells of the notebooks graded as HW3_Modules.ipynb and HW3_differentiation.ipynb, whatever
the file is called (``homework_modules.ipynb`` is the modules notebook). Never the main notebook (HW3_main.ipynb,
or a file taken as it): loading the modules with ``%run``, downloading and reading MNIST is its job.
"""
import ast

from grader import DIFFERENTIATION, MAIN, MODULES
from grader.intake.discover import match_tier
from grader.execution.workcopy import code_cells, first_line
from grader.parts.cell_syntax import MAX_NOTEBOOK_CHARS, parse_cell, source_line, too_deep, too_large, within_budget
from grader.selfcheck.wire import MIME

SCANNED = (MODULES, DIFFERENTIATION)

READS = "reads a file"
RUNS = "runs code from a string"
SHELL = "runs a shell command or starts a process"
MAGIC = "runs an IPython magic"
PATCH = "imports or patches by name"
OUTSIDE = "reaches outside numpy (files, the interpreter, processes or the network)"
GRADER = "uses the grader's internals"
TOO_DEEP = "is nested too deep for the scan to read (no framework needs it)"
TOO_LARGE = "holds more code than the scan reads (no framework needs it)"
NOTEBOOK = "names a notebook file"
KERNEL = "drives the kernel"

# Modules whose import alone is worth a look: processes, code loading, the interpreter's internals,
# the network, notebooks.
OUTSIDE_MODULES = {
    "subprocess", "ctypes", "importlib", "runpy", "pty", "socket", "shutil", "glob", "pickle", "marshal", "shelve",
    "builtins", "__builtin__", "inspect", "gc", "multiprocessing", "urllib", "urllib2", "requests", "http", "ftplib",
    "nbformat", "nbclient", "nbconvert", "code", "codeop", "zipimport", "pkgutil", "linecache", "dill", "cloudpickle",
}
# os and sys are imported for harmless things all the time: only other uses are listed.
HARMLESS = {
    "sys": {"exit", "version", "version_info", "float_info", "int_info", "maxsize", "getsizeof", "stdout", "stderr",
            "setrecursionlimit", "getrecursionlimit", "platform", "argv", "byteorder", "float_repr_style", "path"},
    "os": {"environ", "getenv", "cpu_count", "getcwd", "chdir", "sep", "linesep", "name", "path", "getpid", "makedirs",
           "mkdir"},
    "os.path": {"join", "exists", "isfile", "isdir", "basename", "dirname", "splitext", "abspath", "expanduser",
                "normpath", "sep"},
}
# Calls that read a file, whatever they are called on (distinctive names) ...
READER_METHODS = {"read_text", "read_bytes", "loadtxt", "genfromtxt", "fromfile", "memmap", "open_memmap", "loadmat",
                  "read_csv", "read_table", "read_json", "read_pickle", "read_excel", "read_parquet", "imread",
                  "urlopen", "urlretrieve", "load_notebook", "read_file"}
# ... and names that read only when called on an imported module (np.load, json.load, io.open, gzip.open).
MODULE_READERS = {"load", "open", "read"}
RUNNERS = {"exec", "eval", "compile", "execfile", "__import__"}
IMPORTERS = {"import_module", "__import__", "reload", "run_path", "run_module", "exec_module", "load_module"}
ESCAPES = {"__builtins__", "__globals__", "__subclasses__", "__code__", "__closure__", "__loader__", "__spec__",
           "__import__", "__getattribute__"}

# What the transformer makes of magics and shell lines, and which of them are ordinary.
HARMLESS_LINE_MAGICS = {"matplotlib", "timeit", "time", "autoreload", "config", "precision", "pip", "conda", "cd",
                        "pwd", "env", "who", "whos", "who_ls", "xmode", "pdb", "debug", "lsmagic", "magic", "pylab",
                        "pprint", "prun", "reset", "tb", "colors", "pinfo", "pinfo2", "psearch", "page", "notebook",
                        "history", "recall", "rerun", "dirs", "dhist", "bookmark", "clear", "automagic", "doctest_mode"}
CODE_MAGICS = {"timeit", "time", "prun", "capture"}        # their argument/body is Python: scanned too
HARMLESS_CELL_MAGICS = CODE_MAGICS | {"writefile", "html", "HTML", "markdown", "latex", "javascript", "js", "svg"}
HARMLESS_COMMANDS = {"pip", "pip3", "conda", "mamba", "nvidia-smi", "ls", "pwd", "mkdir", "echo", "nproc", "free",
                     "df", "apt", "apt-get", "lscpu", "uname", "which", "whoami", "date", "du"}
SHELL_METHODS = {"system", "getoutput"}

def _constant(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dotted(node):
    """'a.b.c' for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_get_ipython(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"


def _grader_import_allowed(module, names):
    return module in ("grader.selfcheck", "grader") and all(alias.name == "check" for alias in names)


def imported_names(trees):
    """{local name: module path} of every name an import binds, over the whole notebook."""
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        names[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


class _Scan(ast.NodeVisitor):
    """Collects (what, line) of every suspicious node of one cell's tree."""

    def __init__(self, modules, defined=frozenset()):
        self.modules = modules      # local name -> imported module path
        self.defined = defined      # names the notebook defines itself (a student's own `compile` is not the builtin)
        self.hits = []
        self.in_print = 0

    def hit(self, what, node):
        self.hits.append((what, getattr(node, "lineno", 1)))

    def resolved(self, node):
        """The imported path an expression names ('np.load' -> 'numpy.load'), or None."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head not in self.modules:
            return None
        return self.modules[head] + ("." + rest if rest else "")

    # ------------------------------------------------------------------ imports
    def visit_Import(self, node):
        for alias in node.names:
            self.check_module(alias.name, node)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level:
            pass                                   # a relative import cannot run in a notebook
        elif module.split(".")[0] == "grader":
            if not _grader_import_allowed(module, node.names):
                self.hit(GRADER, node)
        else:
            self.check_module(module, node)
            for alias in node.names:
                if alias.name == "*" and module in HARMLESS:
                    self.hit(OUTSIDE, node)
                elif alias.name != "*":
                    self.check_path(f"{module}.{alias.name}", node)
        self.generic_visit(node)

    def check_module(self, module, node):
        top = module.split(".")[0]
        if top == "grader":
            if module != "grader.selfcheck":
                self.hit(GRADER, node)
        elif top in OUTSIDE_MODULES or (top == "IPython" and not module.startswith("IPython.display")):
            self.hit(OUTSIDE, node)

    def check_use(self, path, node):
        """os/sys attributes outside the harmless ones ('sys.executable', 'os.listdir', 'os.system')."""
        for module, harmless in HARMLESS.items():
            if path.startswith(module + "."):
                rest = path[len(module) + 1:]
                if module == "os" and rest.startswith("path."):
                    continue                       # judged as os.path below
                name = rest.split(".")[0]
                if name not in harmless:
                    process = module == "os" and (name in ("system", "popen") or name.startswith(("exec", "spawn", "fork")))
                    self.hit(SHELL if process else OUTSIDE, node)
                return

    # ------------------------------------------------------------------ names and attributes
    def visit_Name(self, node):
        if node.id in ESCAPES:
            self.hit(PATCH, node)
        elif node.id.startswith("__hw3"):
            self.hit(GRADER, node)
        elif isinstance(node.ctx, ast.Load) and node.id not in self.modules and node.id not in self.defined:
            if node.id in RUNNERS:
                self.hit(PATCH if node.id == "__import__" else RUNS, node)
            elif node.id == "open":
                self.hit(READS, node)
            elif node.id == "get_ipython":
                self.hit(KERNEL, node)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ESCAPES:
            self.hit(PATCH, node)
        path = self.resolved(node)
        if path is not None:
            self.check_path(path, node)
            if node.attr == "__dict__":
                self.hit(PATCH, node)
        self.generic_visit(node)

    def check_path(self, path, node):
        """Judges an imported name or attribute path ('numpy.load', 'os.system', 'grader.checks.BY_ID')."""
        parts = path.split(".")
        name, top = parts[-1], parts[0]
        if top == "grader":
            if path not in ("grader.check", "grader.selfcheck", "grader.selfcheck.check"):
                self.hit(GRADER, node)
            return
        self.check_use(path, node)
        if len(parts) < 2:
            return
        if top in ("builtins", "__builtin__") and name in RUNNERS:
            self.hit(RUNS, node)
        elif name in MODULE_READERS or name in READER_METHODS:
            self.hit(READS, node)
        elif top in ("builtins", "__builtin__") and name in ("setattr", "delattr"):
            self.hit(PATCH, node)
        elif name in IMPORTERS:
            self.hit(PATCH, node)

    # ------------------------------------------------------------------ assignments (patching)
    def patched(self, target):
        """An assignment target that changes an imported module or something in it (np.allclose = ...)."""
        if isinstance(target, (ast.Tuple, ast.List)):
            return any(self.patched(t) for t in target.elts)
        if isinstance(target, ast.Starred):
            return self.patched(target.value)
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            if isinstance(target, ast.Subscript) and self.resolved(target.value) == "os.environ":
                return False                       # setting an environment variable patches nothing
            return _root(target) in self.modules
        return False

    def visit_Assign(self, node):
        if any(self.patched(t) for t in node.targets):
            self.hit(PATCH, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if self.patched(node.target):
            self.hit(PATCH, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        if self.patched(node.target):
            self.hit(PATCH, node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        if any(self.patched(t) for t in node.targets):
            self.hit(PATCH, node)
        self.generic_visit(node)

    # ------------------------------------------------------------------ calls
    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and _is_get_ipython(func.value):
            self.ipython_call(func.attr, node)
            return
        if isinstance(func, ast.Name):
            self.name_call(func.id, node)
        elif isinstance(func, ast.Attribute):
            self.attribute_call(func, node)
        printing = isinstance(func, ast.Name) and func.id in ("print", "display", "Markdown")
        self.in_print += printing
        self.generic_visit(node)
        self.in_print -= printing

    def name_call(self, name, node):
        if name in ("setattr", "delattr") and node.args and _root(node.args[0]) in self.modules:
            self.hit(PATCH, node)
        elif name == "getattr" and len(node.args) >= 2 and _root(node.args[0]) in self.modules:
            attribute = _constant(node.args[1])
            if attribute is None:                  # a computed name: getattr(np, 'lo' + 'ad')
                self.hit(PATCH, node)
            elif self.resolved(node.args[0]) is not None:
                self.check_path(f"{self.resolved(node.args[0])}.{attribute}", node)
        elif name == "vars" and node.args and _root(node.args[0]) in self.modules:
            self.hit(PATCH, node)

    def attribute_call(self, func, node):
        if self.resolved(func) is not None:
            return                                 # judged as a path by visit_Attribute
        if func.attr in READER_METHODS:
            self.hit(READS, node)                  # Path(...).read_text(), df.read_csv...
        elif func.attr == "open" and isinstance(func.value, ast.Call) \
                and (getattr(func.value.func, "id", None) or getattr(func.value.func, "attr", "")) in ("Path", "PurePath"):
            self.hit(READS, node)                  # Path(...).open()

    def ipython_call(self, method, node):
        args = [_constant(a) for a in node.args]
        if method in ("run_line_magic", "run_cell_magic") and args and args[0] is not None:
            magic = args[0]
            harmless = HARMLESS_LINE_MAGICS if method == "run_line_magic" else HARMLESS_CELL_MAGICS
            if magic == "load_ext" and (args[1:2] or [""])[0].strip() == "autoreload":
                return
            if magic not in harmless:
                self.hit(SHELL if magic in ("bash", "sh", "script", "system", "sx", "sc", "python", "python3",
                                            "perl", "ruby", "pypy") else MAGIC, node)
            elif magic in CODE_MAGICS:
                code = args[2] if method == "run_cell_magic" else args[1] if len(args) > 1 else None
                code = code if method == "run_cell_magic" else _magic_code(code)
                tree = parse_cell(code) if code else None
                if tree is not None:
                    inner = _Scan(self.modules, self.defined)
                    inner.visit(tree)
                    self.hits += [(what, node.lineno) for what, _ in inner.hits]
        elif method in SHELL_METHODS and args and args[0] is not None:
            words = args[0].split()
            command = words[0] if words else ""
            if words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
                return
            if command not in HARMLESS_COMMANDS or any(c in args[0] for c in ";&|`$<>"):
                self.hit(SHELL, node)
        else:
            self.hit(KERNEL, node)

    # ------------------------------------------------------------------ strings
    def visit_Expr(self, node):
        if _constant(node.value) is not None:      # a docstring or a bare string: never a finding
            return
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and ".ipynb" in node.value and not self.in_print:
            self.hit(NOTEBOOK, node)
        if isinstance(node.value, str) and ("__hw3" in node.value or MIME.split("/")[1] in node.value):
            self.hit(GRADER, node)   # globals()['__hw3_probe'] = ..., or output published as the probe's answer

    def visit_FunctionDef(self, node):
        if node.name.startswith("__hw3"):   # `def __hw3_probe(...)`: the grader's helper answered in its place
            self.hit(GRADER, node)
        self.generic_visit(node)


def _magic_code(line):
    """The statement of '%timeit -n 10 f(x)' / '%time f(x)': the line without its leading options."""
    if line is None:
        return None
    words = line.split()
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-n", "-r", "-p", "-o") or (len(option) == 2 and option != "-q"):
            if words and not words[0].startswith("-") and option in ("-n", "-r", "-p"):
                words.pop(0)
    return " ".join(words)


def defined_names(trees):
    """Names the notebook binds itself with def, class or assignment (not imports)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def cell_findings(source, modules, defined=frozenset()):
    """[(what, line number)] of one cell; modules: the notebook's imported names; defined: its own names.

    Each top-level statement is scanned on its own: one nested deeper than the scan's recursion goes (a sum of 600
    terms runs in the kernel) is itself a finding, and the statements after it are still read (one such line on
    top used to end the scan of its cell, hiding an open() below it)."""
    tree = parse_cell(source)
    if tree is None:
        return [(TOO_DEEP, 1)] if too_deep(source) else [(TOO_LARGE, 1)] if too_large(source) else []
    hits = []
    for statement in tree.body:
        scan = _Scan(modules, defined)
        try:
            scan.visit(statement)
        except RecursionError:
            scan.hit(TOO_DEEP, statement)
        hits += scan.hits
    return hits


def scanned(name):
    """True if a notebook file called `name` is graded as one of the SCANNED notebooks (see the module's doc)."""
    role = match_tier(name)
    return role is not None and role[0] in SCANNED


def findings(nb, name, only=None):
    """One message per suspicious code cell of notebook `nb` (a file called `name`); none for a notebook that is not
    scanned (the main notebook, or a file the grader takes as no kit notebook), unless `only` (kinds of findings) is
    given: the main notebook is read for the grader's internals alone (its evidence is asked of the kernel)."""
    if not scanned(name) and only is None:
        return []
    cells, unread = within_budget(code_cells(nb))
    trees = [tree for tree in (parse_cell(cell.source) for _, cell in cells) if tree is not None]
    modules = imported_names(trees)
    # A notebook's own `def compile(...)` would excuse its calls, but `exec = exec` would then hide exec: the
    # builtins that read or run code are never excused.
    defined = defined_names(trees) - RUNNERS - {"open", "get_ipython"}
    messages = []
    for index, cell in cells:
        hits = [(what, line) for what, line in cell_findings(cell.source, modules, defined) if not only or what in only]
        if not hits:
            continue
        shown = []
        for what, line in hits:
            line, text = source_line(cell.source, line)
            text = text or first_line(cell.source)
            text = text[:80] + ("..." if len(text) > 80 else "")
            entry = f"{what} (line {line}: `{text}`)"
            if entry not in shown:
                shown.append(entry)
        messages.append(f"integrity: {name} cell {index} (`{first_line(cell.source)}`) " + "; ".join(shown)
                        + ". A framework needs none of this: flagged for a TA to read (no points taken).")
    if unread is not None:
        messages.append(f"integrity: {name} holds more than {MAX_NOTEBOOK_CHARS:,} characters of code: cell {unread} "
                        "and those after it were not scanned. Flagged for a TA to read (no points taken).")
    return messages


def scan(prepared):
    """The findings of every scanned notebook of a prepared submission."""
    return [message for name in SCANNED if name in prepared.notebooks
            for message in findings(prepared.notebooks[name], name)] + (
        findings(prepared.notebooks[MAIN], MAIN, only={GRADER}) if MAIN in prepared.notebooks else [])
