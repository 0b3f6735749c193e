"""Grading HW3_Modules.ipynb: the assignment version it was written against, its cells, then every check.

The version is read off the notebook (:func:`grader.selfcheck.versions.detect`, or forced with ``profile``); the
code cells run one by one (cells holding only ``check(...)`` calls skipped), then every probe of that version's
modules (:mod:`grader.selfcheck`) runs in the same kernel and sends back raw values; the judges compare them,
here, with values computed from the kit's reference modules, by that version's conventions.
"""
from functools import lru_cache
from pathlib import Path

from grader import DIFFERENTIATION, KIT_ROOT, MAIN, MODULES
from grader import selfcheck as C
from grader.execution import probe
from grader.execution.kernel import Status
from grader.execution.probe import seed_of
from grader.parts.graded import CheckItem, GradedNotebook
from grader.selfcheck import versions as V
from grader.selfcheck.notebook import load_notebook

MODULES_CELLS_BUDGET = 300   # seconds for all cells of HW3_Modules.ipynb (a student's own experiments included)

@lru_cache(maxsize=1)
def _reference_modules():
    return load_notebook(KIT_ROOT / MODULES, name="reference_modules")


@lru_cache(maxsize=8)
def reference_expected(version, seed):
    """Expected values of every check of `version` on the inputs drawn from `seed` (the batch's secret), from the
    kit's reference notebook: computed once per batch and version in each grading process."""
    return C.expected_values(_reference_modules(), seed, C.checks_for(version))


def modules_version(prepared, profile=V.AUTO):
    """(version, why, the checks of the targets it is judged on, a note or None) of the submission's
    HW3_Modules.ipynb.

    `profile` ``"auto"`` (the default) judges each notebook by the version it was written against
    (:func:`~grader.selfcheck.versions.detect`: what the student worked from). A name of
    :data:`grader.selfcheck.versions.VERSIONS` (the instructor's ``--profile NAME``) judges every notebook by that
    version, and one that looks written against another version gets a note saying so (its modules that version
    asks for and it lacks score 0).
    """
    nb = prepared.notebooks.get(MODULES) if prepared is not None else None
    note = None
    if profile == V.AUTO:
        version, why = (V.KIT, f"no readable {MODULES}") if nb is None else V.detect(nb)
        if nb is None and MODULES in (getattr(prepared, "unreadable", None) or {}):
            version, why = version_of_others(prepared)
        why += " (each notebook by the version it was written against)"
    else:
        version = V.version(profile or V.KIT.name)
        why = f"the course's version (--profile {version.name})"
        seen, evidence = V.detect(nb) if nb is not None else (version, "")
        if seen.name != version.name and nb is not None and any(c.cell_type == "code" for c in nb.cells):
            why += f"; the notebook looks like {seen.name} ({evidence})"
            note = (f"{MODULES} looks written against {seen.title} ({evidence}). This course's assignment is "
                    f"{version.title}: the notebook is graded against it, and the modules it asks for that the "
                    "notebook does not define score 0. If you were given another version, ask your instructor.")
    targets = V.targets_of(version, V.definitions(nb)) if nb is not None else list(version.targets)
    return version, why, C.checks_of(version=version, targets=targets), note


def version_of_others(prepared):
    """(version, why) for a handed-in HW3_Modules.ipynb that cannot be read (it tells nothing itself): the version
    the submission's other notebooks were written against, else the kit's. A differentiation notebook of 2018-21
    (the two templates share it) or an unnamed course main notebook leaves 2018 and 2019-21 open: 2019-21, whose
    maximum is the larger, so a TA's mark is never capped below the student's assignment."""
    from grader.parts import main_outputs
    from grader.intake import templates as template
    files = getattr(getattr(prepared, "submission", None), "files", None) or {}
    main, diff = prepared.notebooks.get(MAIN), prepared.notebooks.get(DIFFERENTIATION)
    if main is not None:
        file_name = Path(str(files.get(MAIN, MAIN))).name
        if main_outputs.is_kit(main):
            return V.KIT, f"{MODULES} cannot be read; the main notebook is the kit's"
        if main_outputs.is_course(main, file_name):
            seen = main_outputs.version(main, file_name)
            name = seen.split()[0] if seen.split()[0] in V.VERSIONS else "2019-21"
            return V.VERSIONS[name], f"{MODULES} cannot be read; the main notebook is the course's {seen}"
    if diff is not None:
        seen = template.version(template.cells_of(diff))
        if seen is not None:
            name = seen if seen in V.VERSIONS else "2019-21"
            return V.VERSIONS[name], (f"{MODULES} cannot be read; the differentiation notebook is "
                                      + ("the kit's" if seen == "kit" else f"the course's {seen} template"))
    return V.KIT, f"{MODULES} cannot be read and the other notebooks do not tell"


def criterion_candidates(prepared, version):
    """The classes to probe for which NLL criterion is which (see versions.criterion_candidates); [] if none."""
    nb = prepared.notebooks.get(MODULES) if prepared is not None else None
    return V.criterion_candidates(version, V.definitions(nb)) if nb is not None else []


def criteria_named(version, candidates, payload, seed):
    """`version` with its NLL criteria named by what the kernel's classes did (the answer of
    :func:`grader.selfcheck.probes.run_meanings`, untrusted: anything malformed leaves the version's own names)."""
    from grader.selfcheck.cases import criterion_meaning
    values = payload.get("values") if isinstance(payload, dict) and payload.get("ok") else None
    if not isinstance(values, dict):
        return version
    meanings = {}
    for name in candidates:
        losses = values.get(name)
        if isinstance(losses, list) and len(losses) == 2 and all(v is None or isinstance(v, (int, float)) for v in losses):
            meanings[name] = criterion_meaning(losses, seed)
    return V.with_criteria(version, meanings)


def probe_group(check):
    """What makes two checks' probes one round trip to the kernel: the same probe function made by the same factory
    with the same arguments (the catalogue makes a probe for each check; equal ones give equal values)."""
    probe = check.probe
    cells = []
    for cell in probe.__closure__ or ():
        value = cell.cell_contents
        value = getattr(value, "name", value) if isinstance(value, V.Version) else value
        cells.append(value if isinstance(value, (str, int, float, bool, type(None))) else id(value))
    return check.target, getattr(probe, "__code__", probe), tuple(cells)


class ModulesNotebook(GradedNotebook):
    notebook = MODULES
    budget = MODULES_CELLS_BUDGET

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.payloads = {}          # probe group -> payload, or why there is none (a str)
        self.target_seconds = {}    # target -> seconds its probes took
        self.hung = {}              # target -> why its next probes are not run
        self.helper_error = None    # why the probe helper could not be installed (None: installed or not yet)

    def check_items(self):
        for check in self.state.checks if self.state.checks is not None else C.CHECKS:
            yield ModuleCheck.from_parent(self, name=check.id, target=check.target, check_name=check.name,
                                          points=check.points, check=check)

    def install_helper(self):
        if self.kernel_session is None:   # no code cell at all: a kernel for the probes alone
            self.start_kernel()
        helper = probe.install(self.kernel_session)
        self.helper_installed = True
        if helper.status is Status.FULL:   # the notebook's doing, named as such (not the grader's probe)
            self.helper_error = f"not run: {helper.evalue}"
            self.name_full_folder(helper)
        elif not helper.ok:
            self.helper_error = f"the kernel could not run the grader's probes ({helper.describe()})"
            self.state.errors.append(f"the grader could not install its probe in the kernel: {helper.describe()}")
        else:
            self.name_criteria()

    def name_criteria(self):
        """When the notebook's names leave open which NLL criterion is which, ask its classes (both meanings
        probed) and judge by what they do: the state's version gets those names."""
        candidates = criterion_candidates(self.state.prepared, self.state.version)
        if not candidates:
            return
        seed = seed_of(self.config)
        outcome, answer = self.ask("grader.selfcheck.probes.run_meanings", "asked which criterion is which",
                                   timeout=self.state.options.timeout, names=candidates, seed=seed)
        named = criteria_named(self.state.version, candidates, answer, seed)
        if named.names != self.state.version.names:
            self.state.notes.append(f"{MODULES}: which NLL criterion is which was decided by what the classes do: "
                                    + ", ".join(f"{named.class_name(t)} judged as the criterion on "
                                                f"{'probabilities' if t == 'ClassNLLCriterion' else 'log-probabilities'}"
                                                for t in V.NLL_TARGETS if named.class_name(t) in candidates))
        self.state.version = named

    def start_kernel(self):
        super().start_kernel()
        startup = self.state.version.kernel_startup
        if startup:   # the course environment that version's code expects (kept: a restarted kernel gets it too)
            self.kernel_session.run(startup, keep=True)

    def group_payload(self, check):
        """The payload of `check`'s probe group (run once per group); a str says why there is none."""
        if not self.helper_installed:
            self.install_helper()
        if self.helper_error:
            return self.helper_error
        key = probe_group(check)
        if key in self.payloads:
            return self.payloads[key]
        target, version = check.target, self.state.version
        shown = version.class_name(target)
        limit = self.state.options.timeout
        if target in self.hung:
            payload = self.hung[target]
        else:
            left = limit - self.target_seconds.get(target, 0.0)
            outcome, answer = self.ask("grader.selfcheck.run_probe", f"checked {shown}", timeout=max(1.0, left),
                                       check_id=check.id, seed=seed_of(self.config), version=version.name,
                                       names=dict(version.names))
            self.target_seconds[target] = self.target_seconds.get(target, 0.0) + outcome.seconds
            if outcome.status is Status.BUDGET:
                payload = self.state.out_of_time()
            elif outcome.status is Status.TIMEOUT:
                payload = (f"{shown} did not finish within {limit:g} s (an endless loop?); "
                           "it was interrupted and the other modules' checks went on")
                self.hung[target] = f"not run: {shown} did not finish within {limit:g} s in an earlier check (an endless loop?)"
            elif outcome.status is Status.DEAD:
                payload = f"the kernel died while checking {shown} (a crash, or the memory limit)"
            elif outcome.status is Status.FULL:   # named once in the errors by ask()
                payload = f"not run: {outcome.evalue}"
            elif outcome.ok:
                payload = answer
            else:
                payload = {"ok": False, "error": outcome.describe()}
        self.payloads[key] = payload
        return payload


class ModuleCheck(CheckItem):
    def __init__(self, *args, check, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def verdict(self):
        payload = self.parent.group_payload(self.check)
        if isinstance(payload, str):
            return self.failed(payload)
        version, nb = self.parent.state.version, self.parent.nb   # (its names settled by the first payload)
        check = C.by_id(version).get(self.check.id, self.check)
        expected = reference_expected(version.name, seed_of(self.config))[self.check.id]
        return C.verdict(check, payload, expected, version, lambda name: V.locate(nb, name))
