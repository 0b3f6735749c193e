"""The versions of the assignment students work from, and which one a notebook was written against.

Each version is judged by its own text (see ``../shared/templates.md`` in the course repository's history):

==============  ==========================================================================================
``kit``         this kit's HW3_Modules.ipynb: every module, kit names, ``+=`` accumulation, float32 kept
``2017``        the course's original template: the seed's modules only; ``ClassNLLCriterion`` takes
                probabilities; ``Dropout(p)`` multiplies by a Bernoulli(p) mask (p keeps a unit);
                mode switch through the ``training`` attribute (its ``training()`` method is shadowed)
``2018``        + LogSoftMax, BatchNormalization; ``ClassNLLCriterionUnstable`` takes probabilities and
                ``ClassNLLCriterion`` log-probabilities; p zeroes a unit, kept ones scaled by 1/(1-p);
                the hint assigns parameter gradients (``self.gradW = ...``); ChannelwiseScaling is given
                (with a wrong gradGamma): not asked
``2019-21``     + ``train()``, ChannelwiseScaling (given), Flatten (given), Conv2d, MaxPool2d, the optimizers
``derivative``  the 2019-21 text with PyTorch-style ``Conv2d(in, out, kernel_size, stride, padding)``,
                ``MaxPool2d(kernel_size, stride, padding)``, ``Flatten(start_dim)``
==============  ==========================================================================================

:func:`detect` reads a notebook's code (its classes, their methods and signatures, which is what students
keep) and, failing that, its text; the grader's ``--profile NAME`` overrides it. Besides a version's own
modules, a module of the kit that the notebook defines (a 2019 notebook that also wrote ``Sigmoid``) is
checked too: :func:`targets_of`.
"""
import ast
import re
from dataclasses import dataclass, field, replace

ALL_TARGETS = ("Sequential", "Linear", "SoftMax", "LogSoftMax", "BatchNormalization", "ChannelwiseScaling", "Dropout",
               "BatchMeanSubtraction", "ReLU", "LeakyReLU", "ELU", "SoftPlus", "Sigmoid", "Tanh", "Flatten", "Conv2d",
               "MaxPool2d", "MSECriterion", "ClassNLLCriterion", "ClassNLLLogCriterion", "sgd_momentum",
               "adam_optimizer")
SEED_TARGETS = ("Sequential", "Linear", "SoftMax", "BatchMeanSubtraction", "Dropout", "ReLU", "LeakyReLU", "ELU",
                "SoftPlus", "MSECriterion", "ClassNLLCriterion")
LATER_NAMES = {"ClassNLLCriterion": "ClassNLLCriterionUnstable", "ClassNLLLogCriterion": "ClassNLLCriterion"}
TARGETS_2018 = ("Sequential", "Linear", "SoftMax", "LogSoftMax", "BatchNormalization", "Dropout", "ReLU", "LeakyReLU",
                "ELU", "SoftPlus", "MSECriterion", "ClassNLLCriterion", "ClassNLLLogCriterion")
ADVANCED = ("Conv2d", "MaxPool2d")
TARGETS_2019 = TARGETS_2018 + ("ChannelwiseScaling", "Flatten", "Conv2d", "MaxPool2d", "sgd_momentum", "adam_optimizer")


@dataclass(frozen=True)
class Version:
    """One version of the assignment: what it asks for and by which conventions it is judged."""
    name: str
    title: str
    targets: tuple                       # the kit's target names this version asks for (scored)
    names: dict = field(default_factory=dict)   # kit target -> the class/function name in this version
    given: tuple = ()                    # targets the template defines but does not ask for: never scored
    dropout_keeps: bool = False          # Dropout(p): p keeps a unit, no rescaling (2017's text)
    accumulate: bool = False             # parameter gradients must accumulate over backward calls (+=)
    float32: bool = False                # the text asks that a float32 input gives a float32 output
    optional: tuple = ()                 # asked of one track only: counted when the notebook implements them
    maxpool_first_tie: bool = False      # the text says the first maximum of a tie gets MaxPool2d's gradient
    eval_backward: bool = False          # the text gives the gradient in evaluation mode (running statistics,
                                         # Dropout's identity); the course's texts give the forward only there
    first_batch_starts: bool = False     # the text says BatchMeanSubtraction's first batch starts its mean (alpha = 0)
    overflow_asked: bool = False         # the text asks the elementwise layers to stay finite where exp overflows
                                         # (the kit's ELU and SoftPlus text); the course's texts never do, and
                                         # their own tests feed inputs in [-5, 5]: inf at +-800 there is a note
    conv_kernels: tuple = ()             # Conv2d is judged on these kernel sizes only (() = every case's)
    kernel_startup: str = ""             # run in the grading kernel before the notebook: the version's environment

    def class_name(self, target):
        """The name this version gives the kit's `target`."""
        return self.names.get(target, target)


# The 2019-21 template's Conv2d cell imports skimage and says to pad with skimage.util.pad, which the course's
# scikit-image had (numpy.pad under another name); scikit-image removed it in 0.19. The grading kernel of that
# version (and of its derivative) gets it back before the notebook runs; the student's code is never edited.
COURSE_2019_STARTUP = """\
try:
    import numpy as __hw3_np, skimage.util as __hw3_skimage_util
    if not hasattr(__hw3_skimage_util, "pad"):
        __hw3_skimage_util.pad = __hw3_np.pad
    del __hw3_np, __hw3_skimage_util
except ImportError:
    pass
"""

VERSIONS = {v.name: v for v in (
    Version("kit", "this homework's HW3_Modules.ipynb", ALL_TARGETS, accumulate=True, float32=True,
            maxpool_first_tie=True, eval_backward=True, first_batch_starts=True, overflow_asked=True),
    Version("2017", "the course's original 2017 template", SEED_TARGETS, dropout_keeps=True),
    Version("2018", "the course's 2018 template", TARGETS_2018, LATER_NAMES, given=("ChannelwiseScaling",)),
    # "Layers for advanced track homework ... You don't need to implement it if you are working on
    # homework_main-basic.ipynb": Conv2d and MaxPool2d left as the template's stubs are not counted.
    # Its Conv2d cell gives `pad_size = self.kernel_size % 2`: "same" padding (the output h x w its text asks for) at
    # kernel size 3 only, the size the course's own test uses; students who pad by it are right there, and so are
    # those who pad by kernel_size // 2. Both readings agree on kernel size 3 alone.
    Version("2019-21", "the course's 2019-2021 template", TARGETS_2019, LATER_NAMES, optional=ADVANCED,
            kernel_startup=COURSE_2019_STARTUP, conv_kernels=(3,)),
    Version("derivative", "a later derivative of the 2019-2021 template (PyTorch-style Conv2d/MaxPool2d/Flatten)",
            TARGETS_2019, LATER_NAMES, optional=ADVANCED, kernel_startup=COURSE_2019_STARTUP),
)}
KIT = VERSIONS["kit"]
AUTO = "auto"   # the grader's --profile auto: each notebook judged by the version it was written against


def version(name):
    """The version called `name` (a ValueError listing the names otherwise)."""
    if isinstance(name, Version):
        return name
    if name not in VERSIONS:
        raise ValueError(f"unknown assignment version {name!r}; choose one of {', '.join(VERSIONS)}")
    return VERSIONS[name]


# ------------------------------------------------------------------------------------ reading a notebook

# A line's indentation in a pattern anchored at ^ under re.M: spaces and tabs, never a newline. ^\s* under re.M is
# quadratic: from every line start \s* runs over all the blank lines below (a cell of 20,000 newlines: 7 s a search,
# done for every class a notebook lacks, in the grader's process).
INDENT = r"[^\S\n]*"


def python_code(source):
    """A cell's source without IPython magics and shell lines, which plain Python cannot parse."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


# A cell parsed for its definitions (in the grader's process): a 60 MB list literal would take gigabytes to parse.
MAX_PARSED_CHARS = 1_000_000


def _tree(source):
    if len(source) > MAX_PARSED_CHARS:   # no definition read from it (the kernel still runs it)
        return None
    try:
        return ast.parse(python_code(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):   # nested too deep for the parser: no definition read
        return None


def definitions(nb):
    """{name: {"cell": index, "kind": "class"|"def", "methods": {method: [parameter names]}, "params": [...]}}
    of the top-level classes and functions of the notebook's code cells (a later definition wins)."""
    found = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = _tree(cell.source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                methods = {item.name: [a.arg for a in item.args.args[1:] + item.args.kwonlyargs]
                           for item in node.body if isinstance(item, ast.FunctionDef)}
                found[node.name] = {"cell": index, "kind": "class", "methods": methods,
                                    "params": methods.get("__init__", [])}
            elif isinstance(node, ast.FunctionDef):
                found[node.name] = {"cell": index, "kind": "def", "methods": {},
                                    "params": [a.arg for a in node.args.args]}
    return found


def _text(nb):
    return "\n".join(cell.source for cell in nb.cells)


KIT_MARKERS = (re.compile(r"from\s+grader\.selfcheck\s+import\s+check"), re.compile(r"^# HW3 Modules", re.M))


def detect(nb):
    """(version, reason): the version `nb` was written against, and the evidence, in words."""
    defs = definitions(nb)
    text = _text(nb)
    module = defs.get("Module", {}).get("methods", {})
    pytorch_style = [name for name, params in (("Conv2d", ("stride", "padding")), ("MaxPool2d", ("stride", "padding")),
                                               ("Flatten", ("start_dim",)))
                     if name in defs and any(p in defs[name]["params"] for p in params)]
    if any(marker.search(text) for marker in KIT_MARKERS) or "ClassNLLLogCriterion" in defs:
        return KIT, "it has the kit's own cells (the self-check import, ClassNLLLogCriterion)"
    if pytorch_style:
        return VERSIONS["derivative"], f"PyTorch-style signatures ({', '.join(pytorch_style)})"
    later = [name for name in ("ClassNLLCriterionUnstable", "LogSoftMax", "BatchNormalization", "ChannelwiseScaling",
                               "Conv2d", "MaxPool2d", "Flatten", "adam_optimizer") if name in defs]
    # The modules notebook of 2019-21 holds what no earlier one does (its Flatten and sgd_momentum are given there).
    # A train() method alone does not make it so: students of 2017-18, whose training() the attribute shadows, add
    # one (judged as 2019-21, a correct 2017 notebook lost a third of its maximum to modules its text never asked).
    advanced = [name for name in ("Conv2d", "MaxPool2d", "adam_optimizer", "Flatten", "sgd_momentum") if name in defs]
    if advanced or ("train" in module and not later and "BatchMeanSubtraction" not in defs):
        return VERSIONS["2019-21"], (f"it defines {advanced[-1]}" if advanced else "Module has train()")
    if later or re.search(r"probability of an element to be zeroed", text):
        return VERSIONS["2018"], (f"it defines {', '.join(later)}" if later else "its Dropout text") + \
            ", and none of 2019-21's modules (Flatten, sgd_momentum, adam_optimizer, Conv2d, MaxPool2d)"
    if "training" in module or "BatchMeanSubtraction" in defs or defs:
        return VERSIONS["2017"], ("only the original modules" + ("" if "train" in module else
                                                                 "; Module has training() and no train()"))
    return KIT, "nothing in it tells (no Module class)"


def targets_of(version_, defs, all_targets=ALL_TARGETS):
    """The targets a submission is judged on: its version's, plus any other kit module it defines itself (both
    NLL criteria when its names leave open which is which: :func:`criterion_candidates`)."""
    ambiguous = NLL_TARGETS if len(criterion_candidates(version_, defs)) > 1 else ()
    extras = [t for t in all_targets if t not in version_.targets and t not in version_.given
              and (t in ambiguous or version_.class_name(t) in defs and _is_own(t, version_, defs))]
    return [t for t in all_targets if t in version_.targets or t in extras]


NLL_TARGETS = ("ClassNLLCriterion", "ClassNLLLogCriterion")   # on probabilities, on log-probabilities


def criterion_candidates(version_, defs):
    """The notebook's classes that may be its two NLL criteria when its names do not say which is which: the
    version's names for them are not all defined, or it defines other ``*NLL*`` classes (a 2017-style
    ``ClassNLLCriterion`` beside a ``ClassNLLCriterionLog``). [] when the names fit the version."""
    nll = [name for name, d in defs.items() if d["kind"] == "class" and "nll" in name.lower()]
    own = [version_.class_name(t) for t in NLL_TARGETS if t in version_.targets]
    if all(name in defs for name in own) and set(nll) <= set(own):
        return []
    return nll


def with_criteria(version_, meanings):
    """`version_` with its NLL criteria named by what the classes do: `meanings` {class name: "probabilities",
    "log-probabilities" or None (neither: a bug or a stub)}. A target no class does is left to the version's name."""
    names = dict(version_.names)
    for target, meaning in zip(NLL_TARGETS, ("probabilities", "log-probabilities")):
        found = sorted(name for name, m in meanings.items() if m == meaning)
        if found:
            own = version_.class_name(target)
            names[target] = own if own in found else found[0]
    return version_ if names == version_.names else replace(version_, names=names)


def _is_own(target, version_, defs):
    """A definition counts as the student's extra work when it is a class (or the optimizer function)."""
    kind = defs[version_.class_name(target)]["kind"]
    return kind == ("def" if target in ("sgd_momentum", "adam_optimizer") else "class")


def locate(nb, name):
    """Where the code of a missing class or function might be, in words ('' if nowhere)."""
    pattern = re.compile(rf"^{INDENT}(class|def)\s+{re.escape(name)}\b", re.M)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" and pattern.search(cell.source):
            return f"`{'class' if 'class' in pattern.search(cell.source).group(1) else 'def'} {name}` is in cell " \
                   f"{index}, a {cell.cell_type} cell: make it a code cell"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and pattern.search(cell.source):
            if _tree(cell.source) is None:
                return f"cell {index} defines it but has a syntax error"
            return f"cell {index} defines it, but that cell did not run to the end (see the errors)"
    return ""
