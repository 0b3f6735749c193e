"""The parts' code that runs inside the submission's kernel, through the probe protocol (grader/execution/probe.py;
the sandbox shows the kernel this file, never the answers): the differentiation notebook's answer functions
evaluated on the grader's own inputs (:func:`run_probe`), the main notebook's ``metrics`` dict (:func:`metrics`) and
its selected model's labels for the test images (:func:`main_evidence`).

It imports only numpy and the self-check (:mod:`grader.selfcheck`), which the kernel sees too.
"""
import math
import numbers
import warnings

import numpy as np

from grader import selfcheck as C
from grader.selfcheck.cases import rng_for, salt, set_mode
from grader.selfcheck.messages import describe_exception

def _inputs(name, rng):
    """Argument tuples on which answer function `name` is evaluated (several shapes each)."""
    std = rng.standard_normal
    if name == "grad_xTx":
        return [(std(n),) for n in (1, 3, 6)]
    if name == "grad_trAB_wrt_A":
        return [(std((n, m)), std((m, n))) for n, m in ((1, 1), (3, 3), (2, 5))]
    if name in ("grad_xAc_wrt_x", "grad_xAc_wrt_A"):
        return [(std(n), std((n, m)), std(m)) for n, m in ((1, 1), (4, 2), (3, 5))]
    if name in ("grad_J_wrt_S_trace", "grad_J_wrt_S_elementwise", "grad_J_wrt_F", "grad_J_wrt_S_chain"):
        return [(std((n, m)), std((n, r)), std((r, m))) for n, r, m in ((1, 1, 1), (4, 3, 5), (3, 2, 2))]
    if name == "jacobian_F_wrt_S":
        return [(std((n, r)), m) for n, r, m in ((1, 1, 1), (3, 2, 4), (2, 3, 2))]
    if name == "linear_backward":
        return [(std((n, i)), std((o, i)), std((n, o))) for n, i, o in ((1, 3, 2), (5, 4, 3))]
    if name == "softmax_backward":
        return [(2 * std((n, k)), std((n, k))) for n, k in ((1, 4), (5, 3))]
    if name == "nll_backward":
        out = []
        for n, c in ((1, 3), (5, 4)):
            e = np.exp(std((n, c)))
            out.append((e / e.sum(axis=1, keepdims=True), np.eye(c)[rng.integers(0, c, size=n)]))
        return out
    if name == "batch_mean_subtraction_backward":
        return [(std((5, 3)), 0.3, False), (std((5, 3)), 0.3, True), (std((1, 4)), 0.9, False)]
    if name == "elu_backward":
        return [(rng.choice([-1.0, 1.0], size=(4, 3)) * rng.uniform(0.1, 3.0, size=(4, 3)), std((4, 3)), a)
                for a in (0.5, 2.0)]
    if name == "softplus_backward":
        return [(3 * std((4, 3)), std((4, 3)))]
    raise KeyError(name)


# exercise -> the answer functions it defines, in the reference notebook's order
EXERCISES = {
    "ex1": ["grad_xTx"],
    "ex2": ["grad_trAB_wrt_A"],
    "ex3": ["grad_xAc_wrt_x", "grad_xAc_wrt_A"],
    "ex4a": ["grad_J_wrt_S_trace"],
    "ex4b": ["grad_J_wrt_S_elementwise"],
    "ex4c": ["grad_J_wrt_F", "jacobian_F_wrt_S", "grad_J_wrt_S_chain"],
    "ex5-linear": ["linear_backward"],
    "ex5-softmax": ["softmax_backward"],
    "ex5-nll": ["nll_backward"],
    "ex5-bms": ["batch_mean_subtraction_backward"],
    "ex5-elu": ["elu_backward"],
    "ex5-softplus": ["softplus_backward"],
}


# answer functions whose text asks for several results ("Returns (gradInput, gradW, gradb)")
SEVERAL_RESULTS = frozenset({"linear_backward"})


def evaluate(ns, exercise, seed):
    """{'<function>.<case>.<k>': array}: the exercise's answer functions on the inputs drawn from `seed` (the
    grader's: the batch's secret, see grader.execution.probe.draw_seed)."""
    out = {}
    for name in EXERCISES[exercise]:
        function = ns[name] if isinstance(ns, dict) else getattr(ns, name)
        rng = rng_for(seed, salt(name))
        for case, args in enumerate(_inputs(name, rng)):
            value = function(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
            # several results: a tuple, or a list of them (`return [grad_input, grad_W, grad_b]`, which the check
            # cell's unpacking takes as well); a list from a one-result function is its one array (`[2 * v ...]`)
            several = isinstance(value, tuple) or isinstance(value, list) and name in SEVERAL_RESULTS
            parts = value if several else (value,)
            for k, part in enumerate(parts):
                out[f"{name}.{case}.{k}"] = part
    return out


def run_probe(exercise, namespace, seed):
    """The kernel side: evaluate() wrapped like grader.selfcheck.run_probe. An answer function the notebook does
    not define is named as missing (never the lookup's own KeyError, which would show the grader's internals)."""
    missing = [name for name in EXERCISES[exercise] if not callable(namespace.get(name))]
    if missing:
        return {"ok": False, "missing": missing}
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return {"ok": True, "values": C.encode(evaluate(namespace, exercise, seed))}
    except NotImplementedError as exc:
        return {"ok": False, "not_implemented": True, "error": describe_exception(exc)}
    except Exception as exc:
        return {"ok": False, "error": describe_exception(exc)}


def _as_json(value, depth=0):
    """`value` as JSON numbers, strings and nested dicts/lists (non-finite numbers and other objects as text)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict) and depth < 4:
        return {str(k): _as_json(v, depth + 1) for k, v in list(value.items())[:100]}
    if isinstance(value, (list, tuple)) and depth < 4:
        return [_as_json(v, depth + 1) for v in list(value)[:100]]
    return repr(value)[:80]


def metrics(namespace):
    """The main notebook's `metrics` dict as plain JSON (None if it has none): read after every cell."""
    found = namespace.get("metrics")
    return {"metrics": _as_json(found) if isinstance(found, dict) else None}


def _parameters(model):
    """The model's parameter arrays as the framework exposes them (``getParameters()``, nested lists flattened), or,
    for a wrapper that exposes none (the kit's TestTimeAugmentation), those of the networks it holds as attributes
    (lists included)."""
    def of(holder):
        try:
            get = getattr(holder, "getParameters", None)
            found = get() if callable(get) else []
        except Exception:   # a holder whose getParameters fails holds none the grader can reach
            return []
        arrays, stack = [], [(found, 0)]
        while stack:   # a Sequential's is a list per child (the templates'), a container's may nest deeper
            item, depth = stack.pop()
            if isinstance(item, np.ndarray) and item.size > 1 and item.flags.writeable:
                arrays.append(item)
            elif isinstance(item, (list, tuple)) and depth < 6:
                stack.extend((inner, depth + 1) for inner in item)
        return arrays
    found = of(model)
    if not found:
        for value in list(vars(model).values()) if hasattr(model, "__dict__") else []:
            for inner in value if isinstance(value, (list, tuple)) else (value,):
                found += of(inner)
    return list({id(p): p for p in found}.values())


def shuffled_labels(model, images, seed):
    """(labels of `images` with every parameter's entries shuffled, number of parameter arrays): a trained network
    reads its weights, so its labels change; a model that looks its answers up does not. The parameters are put back
    as they were. (None, 0) when the model exposes no parameters."""
    parameters = _parameters(model)
    if not parameters:
        return None, 0
    saved = [p.copy() for p in parameters]
    rng = np.random.default_rng([seed, 37])
    try:
        for p in parameters:
            p[...] = rng.permutation(p.ravel()).reshape(p.shape)
        try:
            return np.asarray(model.forward(images)).argmax(axis=1).astype(np.int64), len(parameters)
        except Exception:   # it fails without its own weights: it reads them (no label agrees)
            return np.full(len(images), -1, np.int64), len(parameters)
    finally:
        for p, value in zip(parameters, saved):
            p[...] = value


def main_evidence(namespace, seed, images, batch=500, shuffled=500):
    """The main notebook's selected model (``selection["best_net"]``, else ``selected``) on `images` MNIST test images
    drawn in the order of `seed`: its predicted labels, raw (grader/parts/main_evidence.py scores them), and its labels
    of the first `shuffled` of them with its parameters shuffled (:func:`shuffled_labels`)."""
    selection = namespace.get("selection")
    model = selection.get("best_net") if isinstance(selection, dict) else None
    model = namespace.get("selected") if model is None else model
    try:
        if model is None or not callable(getattr(model, "forward", None)):
            return {"ok": False, "missing": True}
        from data.mnist import load_mnist   # the kit's data/, in the submission's folder
        test = load_mnist()[2]
        order = np.random.default_rng([seed, 31]).permutation(len(test))[:images]
        set_mode(model, False)
        labels = [np.asarray(model.forward(test[order[s:s + batch]])).argmax(axis=1) for s in range(0, len(order), batch)]
        values = {"labels": np.concatenate(labels).astype(np.int64)}
        scrambled, parameters = shuffled_labels(model, test[order[:shuffled]], seed)
        if scrambled is not None:
            values["shuffled"] = scrambled
        return {"ok": True, "values": C.encode(values), "parameters": parameters}
    except Exception as exc:
        return {"ok": False, "error": describe_exception(exc)}
