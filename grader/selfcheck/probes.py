"""The probes: the only code that calls a submission's modules. They run inside the submission's kernel
(through :func:`.catalogue.run_probe`) and return raw values only (arrays, numbers, text), which :mod:`.wire` encodes.

Every probe is built for one assignment version (:mod:`.versions`): it looks classes up by that version's
names, builds them through their own signatures (:func:`.cases.construct`) and switches modes the way the
version's Module allows (:func:`.cases.set_mode`). Each call into student code is written down first
(:data:`TRACE`), so an error can say what the grader called and with what.
"""
import numpy as np

from grader.selfcheck.cases import (CRITERION_CASES, DROPOUT_P, EDGE_INPUT, LAYER_CASES, judged,
                                    RUNNING_CASES, attr_path, own_params,
                                    build_layer, constructor_call, construct, criterion_inputs, dropout_input,
                                    grad_output, large_input, layer_inputs, lookup, maxpool_ties, meaning_inputs, nll_edge,
                                    rng_for, running_batches, set_mode, stable_logits)
from grader.selfcheck.optimizer_cases import OPTIMIZER_CONFIG, optimizer_inputs
from grader.selfcheck.messages import describe_exception, shape_of

ELEMENTWISE = ("ReLU", "LeakyReLU", "ELU", "SoftPlus", "Sigmoid", "Tanh")   # also probed at 0 and +-800


class _Trace:
    """What the grader called last, in words (for the message when that call raises)."""
    call = ""


TRACE = _Trace()


class ReturnedNone(Exception):
    """forward/backward returned None and stored nothing: a template's stub (a course version's methods end in
    `return self.output`), or an update method that keeps its result in a local variable. `attribute`: 'output' or
    'gradInput', the attribute it left None."""

    def __init__(self, call, attribute):
        super().__init__(f"{call} returned None and self.{attribute} is None")
        self.attribute = attribute


def in_mode(module):
    """' in evaluation mode' when the module is in evaluation: a call's words say so (training is the default)."""
    return " in evaluation mode" if getattr(module, "training", None) is False else ""


def forward(module, x, who):
    TRACE.call = f"{who}.forward(input of shape {shape_of(x)}){in_mode(module)}"
    y = module.forward(x)
    if y is None and getattr(module, "output", None) is None:
        raise ReturnedNone(f"{who}.forward", "output")
    return y


def backward(module, x, g, who):
    TRACE.call = f"{who}.backward(input of shape {shape_of(x)}, gradOutput of shape {shape_of(g)}){in_mode(module)}"
    gi = module.backward(x, g)
    if gi is None and getattr(module, "gradInput", None) is None:
        raise ReturnedNone(f"{who}.backward", "gradInput")
    return gi


def kept(value):
    """A copy of what forward returned, taken before backward runs: a backward that writes into self.output must
    not turn into a wrong forward output."""
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def mode(module, training, who):
    TRACE.call = f"{who}: switching to {'training' if training else 'evaluation'} mode"
    set_mode(module, training)


def build(ns, version, seed, target, index, case, dtype=np.float64):
    TRACE.call = constructor_call(version, target, case) + " (then its parameters set, and its mode)"
    return build_layer(ns, version, seed, target, index, case, dtype)


def zero_grad(module, who):
    TRACE.call = f"{who}.zeroGradParameters()"
    module.zeroGradParameters()


# --------------------------------------------------------------------------------------------- layers


def each_case(ns, version, seed, target, when=lambda case: True, dtype=np.float64, input_dtype=np.float64):
    """The per-case loop of every layer probe: (index, case, who, module, input) for each case of `target` that
    `when` admits, the module built (parameters in `dtype` set, warmed up, in its mode) and its input drawn."""
    for i, case in enumerate(LAYER_CASES[target]):
        if when(case) and judged(version, target, case):
            module = build(ns, version, seed, target, i, case, dtype)
            yield i, case, constructor_call(version, target, case), module, layer_inputs(seed, target, i, case, input_dtype)


def probe_forward(target, version):
    """The output of every case (values compared), and for elementwise layers on 0 and +-800."""
    def probe(ns, seed):
        out = {}
        for i, case, who, module, x in each_case(ns, version, seed, target, when=lambda case: case.values):
            out[f"case{i}"] = forward(module, x, who)
        if target in ELEMENTWISE:
            case = LAYER_CASES[target][0]
            module = build(ns, version, seed, target, 0, case)
            out["edge"] = forward(module, EDGE_INPUT.copy(), constructor_call(version, target, case))
        return out
    return probe


def probe_backward(target, version):
    """gradInput and the parameter gradients after one forward/backward from zeroed gradients."""
    def probe(ns, seed):
        out = {}
        for i, case, who, module, x in each_case(ns, version, seed, target):
            zero_grad(module, who)
            y = forward(module, x.copy(), who)
            out[f"case{i}.gradInput"] = backward(module, x.copy(), grad_output(seed, target, i, np.shape(y)), who)
            for (path, _), (_, grad_path) in zip(case.params, own_params(module, case)):
                out[f"case{i}.{path}"] = np.array(attr_path(module, grad_path), copy=True)
        if target in ELEMENTWISE:
            case = LAYER_CASES[target][0]
            who = constructor_call(version, target, case)
            module = build(ns, version, seed, target, 0, case)
            forward(module, EDGE_INPUT.copy(), who)
            out["edge.gradInput"] = backward(module, EDGE_INPUT.copy(), np.ones_like(EDGE_INPUT), who)
        return out
    return probe


def probe_contract(target, version):
    """What forward/backward return and store, and the input/gradOutput arrays afterwards."""
    def probe(ns, seed):
        out = {}
        for i, case, who, module, x in each_case(ns, version, seed, target):
            y = forward(module, x, who)
            out[f"case{i}.returned_output"] = y
            out[f"case{i}.stored_output"] = module.output
            out[f"case{i}.output_at_forward"] = kept(module.output)   # (backward must not write into it)
            out[f"case{i}.input_after_forward"] = kept(x)   # which call wrote into the input, if one did
            g = grad_output(seed, target, i, np.shape(y))
            gi = backward(module, x, g, who)
            out[f"case{i}.returned_gradInput"] = gi
            out[f"case{i}.stored_gradInput"] = module.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.gradOutput_after"] = g
        return out
    return probe


def probe_accumulate(target, version):
    """Parameter gradients after one and two backward passes, after zeroGradParameters(), and after one
    more backward (the versions whose hint assigns the gradients are judged on that last one)."""
    def probe(ns, seed):
        out = {}
        fresh = lambda case: case.params and not case.warmup and case.mode == "train"   # noqa: E731
        for i, case, who, module, x in each_case(ns, version, seed, target, when=fresh):
            params = [(path, gp) for (path, _), (_, gp) in zip(case.params, own_params(module, case))]
            zero_grad(module, who)
            y = forward(module, x.copy(), who)
            g = grad_output(seed, target, i, np.shape(y))
            backward(module, x.copy(), g.copy(), who)
            once = [np.array(attr_path(module, gp), copy=True) for _, gp in params]
            forward(module, x.copy(), who)
            backward(module, x.copy(), g.copy(), who)
            for (path, gp), first in zip(params, once):
                out[f"case{i}.{path}.once"] = first
                out[f"case{i}.{path}.twice"] = np.array(attr_path(module, gp), copy=True)
            zero_grad(module, who)
            for path, gp in params:
                out[f"case{i}.{path}.zeroed"] = np.array(attr_path(module, gp), copy=True)
            forward(module, x.copy(), who)
            backward(module, x.copy(), g.copy(), who)
            for path, gp in params:
                out[f"case{i}.{path}.after_zero"] = np.array(attr_path(module, gp), copy=True)
        return out
    return probe


def probe_dtype(target, version):
    """A float32 input, with float32 and with float64 parameters: the output's values and dtype."""
    def probe(ns, seed):
        out = {}
        for param_dtype in (np.float32, np.float64):
            for i, case, who, module, x in each_case(ns, version, seed, target, dtype=param_dtype, input_dtype=np.float32):
                key = f"case{i}.{np.dtype(param_dtype).name}"
                y = forward(module, x, who)
                out[f"{key}.output"] = kept(y)
                out[f"{key}.output_dtype"] = str(np.asarray(y).dtype)
                g = grad_output(seed, target, i, np.shape(y)).astype(np.float32)
                gi = backward(module, x, g, who)
                out[f"{key}.gradInput_dtype"] = str(np.asarray(gi).dtype)
        return out
    return probe


def _plain(ns, version, target):
    """A layer with its default arguments (SoftMax(), ELU(), ...)."""
    TRACE.call = f"{version.class_name(target)}()"
    return construct(lookup(ns, version, target), ())


def probe_stable(target, version):
    def probe(ns, seed):
        module = _plain(ns, version, target)
        who = f"{version.class_name(target)}()"
        x = stable_logits(seed)
        y = kept(forward(module, x.copy(), who))
        g = rng_for(seed, 6).standard_normal(x.shape)
        return {"output": y, "gradInput": backward(module, x.copy(), g, who)}
    return probe


def probe_large_inputs(target, version):
    def probe(ns, seed):
        module = _plain(ns, version, target)
        who = f"{version.class_name(target)}()"
        x = large_input(seed, target)
        y = kept(forward(module, x.copy(), who))
        return {"output": y, "gradInput": backward(module, x.copy(), np.ones_like(x), who)}
    return probe


# ----------------------------------------------------------------------- Dropout, running statistics


def probe_dropout_train(version):
    def probe(ns, seed):
        who = f"{version.class_name('Dropout')}({DROPOUT_P})"
        TRACE.call = who
        module = construct(lookup(ns, version, "Dropout"), (DROPOUT_P,))
        mode(module, True, who)
        x = dropout_input(seed)
        y = np.array(forward(module, x.copy(), who), copy=True)
        g = rng_for(seed, 8).standard_normal(x.shape)
        gi = backward(module, x.copy(), g.copy(), who)
        y2 = forward(module, x.copy(), who)
        return {"output": y, "gradInput": gi, "second_output": y2}
    return probe


def probe_dropout_eval(version):
    def probe(ns, seed):
        who = f"{version.class_name('Dropout')}({DROPOUT_P})"
        TRACE.call = who
        module = construct(lookup(ns, version, "Dropout"), (DROPOUT_P,))
        mode(module, False, who)
        x = dropout_input(seed)[:5, :7]
        y = forward(module, x.copy(), who)
        if not version.eval_backward:   # the course's texts (and tests) never call backward in evaluation
            return {"output": y}
        g = rng_for(seed, 8).standard_normal(x.shape)
        return {"output": y, "gradInput": backward(module, x.copy(), g, who)}
    return probe


def probe_running_stats(target, version):
    """Two training batches with an evaluation after each: what evaluation makes of a test batch and of its
    first row alone. The judges read the running statistics off those outputs. No backward in evaluation mode
    here: that is a check of its own (:func:`probe_eval_backward`), where the text asks for it."""
    def probe(ns, seed):
        case = RUNNING_CASES[target]
        who = constructor_call(version, target, case)
        first, second, test = running_batches(seed, target)
        module = build(ns, version, seed, target, 0, case)
        out = {}
        for step, batch in enumerate((first, second)):
            mode(module, True, who)
            forward(module, batch.copy(), who)
            mode(module, False, who)
            out[f"eval{step}"] = np.array(forward(module, test.copy(), who), copy=True)
            # the same batch again: an evaluation that updates the running statistics gives another output
            out[f"eval{step}_again"] = np.array(forward(module, test.copy(), who), copy=True)
            if step == 0:
                out["alone"] = np.array(forward(module, test[:1].copy(), who), copy=True)
        return out
    return probe


def probe_eval_backward(target, version):
    """One training batch, then in evaluation a forward and a backward on a test batch of another size."""
    def probe(ns, seed):
        case = RUNNING_CASES[target]
        who = constructor_call(version, target, case)
        first, _, test = running_batches(seed, target)
        module = build(ns, version, seed, target, 0, case)
        mode(module, True, who)
        forward(module, first.copy(), who)
        mode(module, False, who)
        out = {"output": np.array(forward(module, test.copy(), who), copy=True)}
        g = rng_for(seed, 10).standard_normal(test.shape)
        out["gradInput"] = np.array(backward(module, test.copy(), g, who), copy=True)
        return out
    return probe


# ------------------------------------------------------------------------------------------ criteria


def probe_criterion(target, version):
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            who = f"{version.class_name(target)}()"
            TRACE.call = who
            criterion = construct(lookup(ns, version, target), ())
            x, t = criterion_inputs(seed, target, i, case)
            TRACE.call = f"{who}.forward(input of shape {x.shape}, target of shape {t.shape})"
            loss = criterion.forward(x, t)
            if loss is None and getattr(criterion, "output", None) is None:
                raise ReturnedNone(f"{who}.forward", "output")
            out[f"case{i}.loss"] = np.asarray(loss, dtype=np.float64) if np.isscalar(loss) or np.ndim(loss) == 0 else loss
            out[f"case{i}.stored_loss"] = criterion.output
            out[f"case{i}.input_after_forward"], out[f"case{i}.target_after_forward"] = x.copy(), t.copy()
            TRACE.call = f"{who}.backward(input of shape {x.shape}, target of shape {t.shape})"
            out[f"case{i}.gradInput"] = criterion.backward(x, t)
            if out[f"case{i}.gradInput"] is None and getattr(criterion, "gradInput", None) is None:
                raise ReturnedNone(f"{who}.backward", "gradInput")
            out[f"case{i}.stored_gradInput"] = criterion.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.target_after"] = t
        return out
    return probe


def probe_maxpool_ties(target, version):
    """gradInput of MaxPool2d(2) on blocks with tied maxima."""
    def probe(ns, seed):
        who = f"{version.class_name(target)}(2)"
        TRACE.call = who
        module = construct(lookup(ns, version, target), (2,), {"stride": 2, "padding": 0})
        x, g = maxpool_ties(seed)
        forward(module, x.copy(), who)
        return {"gradInput": backward(module, x.copy(), g.copy(), who)}
    return probe


def probe_nll_zero(version):
    def probe(ns, seed):
        who = f"{version.class_name('ClassNLLCriterion')}()"
        TRACE.call = who
        criterion = construct(lookup(ns, version, "ClassNLLCriterion"), ())
        p, t, _ = nll_edge(seed)
        fed = p.copy()
        TRACE.call = f"{who}.forward(probabilities with a true class of probability 0)"
        loss = criterion.forward(fed, t.copy())
        after_forward, fed = fed.copy(), p.copy()
        TRACE.call = f"{who}.backward(probabilities with a true class of probability 0)"
        gi = criterion.backward(fed, t.copy())
        return {"loss": np.asarray(loss, dtype=np.float64), "gradInput": gi, "input": p,
                "input_after_forward": after_forward, "input_after_backward": fed}
    return probe


def _shapes(nested):
    """'[[(3, 2), (3,)], [], [(4,)]]': the shapes of a list of lists of arrays, as a message shows them."""
    return "[" + ", ".join("[" + ", ".join(str(np.shape(a)) for a in layer) + "]" for layer in nested) + "]"


def probe_optimizer(name, version):
    def probe(ns, seed):
        params, steps = optimizer_inputs(name, seed)
        state = {}
        optimizer = lookup(ns, version, name)
        out = {}
        for step, grads in enumerate(steps):
            TRACE.call = (f"{version.class_name(name)}(variables, gradients, {OPTIMIZER_CONFIG[name]}, state), step "
                          f"{step + 1}, with variables and gradients lists of arrays of shapes {_shapes(params)}")
            optimizer(params, grads, dict(OPTIMIZER_CONFIG[name]), state)
            for i, p in enumerate(q for layer in params for q in layer):
                out[f"step{step}.param{i}"] = np.array(p, copy=True)
        return out
    return probe


def probe_criterion_meanings(ns, names, seed):
    """What each class of `names` does with one batch: its loss on probabilities and on their logs (None where it
    raised). The grader tells from these which class is the criterion on probabilities and which the one on
    log-probabilities (:func:`.cases.criterion_meaning`), when the notebook's names leave it open."""
    p, t = meaning_inputs(seed)
    out = {}
    for name in names:
        losses = []
        for x in (p, np.log(p)):
            try:
                loss = construct(ns[name], ()).forward(x.copy(), t.copy())
                losses.append(float(np.asarray(loss, dtype=np.float64).ravel()[0]))
            except Exception:   # a stub or a bug: this class's meaning stays open
                losses.append(None)
        out[name] = losses
    return out


def run_meanings(namespace, names, seed):
    """The kernel side of :func:`probe_criterion_meanings` (classes of those names only): a JSON-able dict."""
    import warnings
    ns = dict(namespace) if isinstance(namespace, dict) else vars(namespace)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return {"ok": True, "values": probe_criterion_meanings(
                    ns, [n for n in names if isinstance(ns.get(n), type)], seed)}
    except Exception as exc:
        return {"ok": False, "error": describe_exception(exc)}
