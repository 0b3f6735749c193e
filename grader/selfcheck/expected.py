"""What a correct module gives on the probes' inputs, computed in the grader's process from the reference
modules (every gradient the reference's analytic one, checked against finite differences in float64), and frozen
into the students' release.

The reference is the kit's own notebook, built by the kit's names (:data:`.versions.KIT`); what a version
changes (names, Dropout's p, accumulation, float32) is in the probes and the judges, never here.
"""
import copy
import json

import numpy as np

from grader.selfcheck.cases import (CRITERION_CASES, DROPOUT_SHAPE, EDGE_INPUT, LAYER_CASES,
                                    RUNNING_ALPHA, attr_path, build_layer, construct,
                                    criterion_inputs, dropout_input, grad_output, large_input, layer_inputs, lookup, maxpool_ties,
                                    nll_edge, rng_for,
                                    running_batches, stable_logits)
from grader.selfcheck.optimizer_cases import OPTIMIZER_CONFIG, optimizer_inputs
from grader.selfcheck.gradcheck import ABS_TOLERANCE, TOLERANCE, numerical_gradient, relative_error
from grader.selfcheck.probes import (ELEMENTWISE, probe_backward, probe_forward, probe_large_inputs, probe_nll_zero,
                                     probe_optimizer, probe_stable)
from grader.selfcheck.versions import KIT


def fed_parameters(module, index, case):
    """{'case{i}.param.W': the value the grader set, ...} for the case's own parameters (not a container's children's):
    the messages show them, since a wrong output or gradient of Linear cannot be redone by hand without W and b."""
    return {f"case{index}.param.{path}": np.array(attr_path(module, path), dtype=np.float64, copy=True)
            for path, _ in case.params if "." not in path and "[" not in path}


def expect_forward(target):
    """The reference's outputs on the probe's inputs, and the inputs and parameters (the messages show them)."""
    def expect(ref, seed):
        out = dict(probe_forward(target, KIT)(ref, seed))
        for i, case in enumerate(LAYER_CASES[target]):
            if f"case{i}" in out:
                out[f"case{i}.input"] = layer_inputs(seed, target, i, case)
                if case.params:
                    out.update(fed_parameters(build_layer(ref, KIT, seed, target, i, case), i, case))
        return out
    return expect


def _analytic(reference, numeric, what):
    """The reference's analytic gradient, after checking it against central differences (a kit bug otherwise)."""
    err = relative_error(reference, numeric)
    if not (err < TOLERANCE or np.linalg.norm(np.asarray(reference, np.float64) - numeric) < ABS_TOLERANCE):
        raise RuntimeError(f"the kit's reference {what} disagrees with finite differences ({err:.1e})")
    return np.asarray(reference, dtype=np.float64)


def expect_backward(target):
    """The reference module's own (analytic) gradients, parameters included, each checked against float64 finite
    differences of its forward: the judges ask for analytic precision (gradcheck.ANALYTIC_TOLERANCE)."""
    def expect(ref, seed):
        analytic = probe_backward(target, KIT)(ref, seed)
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            snapshot = build_layer(ref, KIT, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            g = grad_output(seed, target, i, np.shape(copy.deepcopy(snapshot).forward(x.copy())))
            out[f"case{i}.input"] = x
            out[f"case{i}.gradOutput"] = g   # shown in the messages: the d loss / d output this case feeds back
            out.update(fed_parameters(snapshot, i, case))

            def loss(module, inp):
                return float(np.sum(copy.deepcopy(module).forward(inp.copy()) * g))
            x_var = x.copy()
            numeric = numerical_gradient(lambda: loss(snapshot, x_var), x_var)
            out[f"case{i}.gradInput"] = _analytic(analytic[f"case{i}.gradInput"], numeric, f"{target} gradInput")
            if target == "Sequential":
                out.update({f"case{i}.gradInput_{k}": v for k, v in sequential_mistakes(snapshot, x, g).items()})
            for path, _ in case.params:
                trial = copy.deepcopy(snapshot)
                param = attr_path(trial, path)
                numeric = numerical_gradient(lambda: loss(trial, x), param)
                out[f"case{i}.{path}"] = _analytic(analytic[f"case{i}.{path}"], numeric, f"{target} d/d{path}")
        if target in ELEMENTWISE:   # the reference's own gradient on 0 and +-800 (no finite differences at a kink)
            out["edge.gradInput"] = analytic["edge.gradInput"]
            out["edge.input"] = EDGE_INPUT.copy()
        return out
    return expect


def sequential_mistakes(container, x, g):
    """gradInput of the mistaken Sequential backwards over copies of the case's children (the test doubles:
    trusted code), after one forward: first to last, each child fed its own output, forward run again, the first
    child left out."""
    def forwarded():
        children = copy.deepcopy(container).modules
        inputs = [x.copy()]
        for child in children:
            inputs.append(child.forward(inputs[-1].copy()))
        return children, inputs
    out = {}
    children, inputs = forwarded()
    grad = g.copy()
    for child, inp in zip(children, inputs):
        grad = child.backward(inp, grad)
    out["forward_order"] = grad
    for first_gets_input in (False, True):
        children, inputs = forwarded()
        grad = g.copy()
        for index, child in reversed(list(enumerate(children))):
            grad = child.backward(x.copy() if first_gets_input and index == 0 else child.output, grad)
        out["own_output_but_first" if first_gets_input else "own_output"] = grad
    children, inputs = forwarded()
    again = [x.copy()]
    for child in children[:-1]:
        again.append(child.forward(again[-1].copy()))
    grad = g.copy()
    for child, inp in zip(reversed(children), reversed(again)):
        grad = child.backward(inp, grad)
    out["reruns_forward"] = grad
    children, inputs = forwarded()
    grad = g.copy()
    for child, inp in zip(reversed(children[1:]), reversed(inputs[1:-1])):
        grad = child.backward(inp, grad)
    out["skips_first"] = grad   # the gradient at the first child's output: backward stopped before the first child
    return out


def expect_contract(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ref, KIT, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            out[f"case{i}.input"] = x
            out[f"case{i}.gradOutput"] = grad_output(seed, target, i, np.shape(module.forward(x.copy())))
        return out
    return expect


def expect_dtype(target):
    def expect(ref, seed):
        out = {k: v for k, v in expect_forward(target)(ref, seed).items() if k != "edge"}
        return {k: v.astype(np.float32) if k.endswith(".input") else v for k, v in out.items()}  # what it feeds
    return expect


def expect_maxpool_ties(target):
    def expect(ref, seed):
        x, g = maxpool_ties(seed)
        module = ref.MaxPool2d(2)
        module.forward(x.copy())
        return {"input": x, "gradOutput": g, "gradInput": np.array(module.backward(x.copy(), g.copy()), dtype=np.float64)}
    return expect


def expect_accumulate(target):
    def expect(ref, seed):
        full = expect_backward(target)(ref, seed)
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            if not case.params or case.warmup or case.mode != "train":
                continue
            for path, _ in case.params:
                out[f"case{i}.{path}.once"] = full[f"case{i}.{path}"]
                out[f"case{i}.{path}.twice"] = 2 * full[f"case{i}.{path}"]
                out[f"case{i}.{path}.zeroed"] = np.zeros_like(full[f"case{i}.{path}"])
        return out
    return expect


def expect_stable(target):
    def expect(ref, seed):
        out = probe_stable(target, KIT)(ref, seed)
        out["input"] = stable_logits(seed)
        return out
    return expect


def expect_large_inputs(target):
    def expect(ref, seed):
        return dict(probe_large_inputs(target, KIT)(ref, seed), input=large_input(seed, target))
    return expect


def expect_dropout(ns, seed):
    return {"input": dropout_input(seed), "gradOutput": rng_for(seed, 8).standard_normal(DROPOUT_SHAPE)}


def expect_dropout_eval(ns, seed):
    return {"input": dropout_input(seed)[:5, :7], "gradOutput": rng_for(seed, 8).standard_normal((5, 7))}


def expect_running_stats(target):
    """The batches themselves: the judges check the documented moving average, whatever its start."""
    def expect(ref, seed):
        first, second, test = running_batches(seed, target)
        return {"first": first, "second": second, "test": test, "alpha": np.float64(RUNNING_ALPHA)}
    return expect


def expect_eval_backward(target):
    def expect(ref, seed):
        _, _, test = running_batches(seed, target)
        return {"test": test, "gradOutput": rng_for(seed, 10).standard_normal(test.shape)}
    return expect


def expect_criterion(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            criterion = construct(lookup(ref, KIT, target), ())
            x, t = criterion_inputs(seed, target, i, case)
            out[f"case{i}.loss"] = np.asarray(copy.deepcopy(criterion).forward(x.copy(), t.copy()), dtype=np.float64)
            x_var = x.copy()
            numeric = numerical_gradient(lambda: float(copy.deepcopy(criterion).forward(x_var.copy(), t.copy())), x_var)
            reference = copy.deepcopy(criterion)
            reference.forward(x.copy(), t.copy())
            out[f"case{i}.gradInput"] = _analytic(reference.backward(x.copy(), t.copy()), numeric, f"{target} gradInput")
            out[f"case{i}.input"] = x
            out[f"case{i}.target"] = t
        return out
    return expect


def expect_nll_zero(ref, seed):
    """The reference's gradient on the probe's inputs (judged on the ordinary rows), and which rows those are."""
    _, _, ordinary = nll_edge(seed)
    return {"gradInput": probe_nll_zero(KIT)(ref, seed)["gradInput"], "ordinary": ordinary}


def flat(nested):
    """The arrays of a list of lists, in order (parameter i of the optimizer check)."""
    return [a for layer in nested for a in layer]


def optimizer_fed(name, seed):
    """What the optimizer check feeds in, for the message to show: each parameter array's start
    ('fed.start.param0') and its gradient at each step ('fed.step0.grad0')."""
    params, steps = optimizer_inputs(name, seed)
    out = {f"fed.start.param{i}": p for i, p in enumerate(flat(params))}
    for step, grads in enumerate(steps):
        out.update({f"fed.step{step}.grad{i}": g for i, g in enumerate(flat(grads))})
    return out


def expect_sgd(ref, seed):
    """sgd_momentum is given in every version: the reference's own numbers."""
    return {**probe_optimizer("sgd_momentum", KIT)(ref, seed), **optimizer_fed("sgd_momentum", seed)}


def expect_adam(ref, seed):
    """Adam written out here twice, for both places eps has had: in the course's 2019 formula (and the kit's)
    ``x -= lr_t m / (sqrt(v) + eps)`` with lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t); in the paper's and
    PyTorch's ``x -= lr m_hat / (sqrt(v_hat) + eps)``. A submission matching either passes."""
    config = OPTIMIZER_CONFIG["adam_optimizer"]
    lr, b1, b2, eps = config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]
    out = {}
    for variant in ("course", "paper"):
        nested, steps = optimizer_inputs("adam_optimizer", seed)
        params = flat(nested)
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        for step, grads in enumerate(steps):
            t = step + 1
            for i, (p, g) in enumerate(zip(params, flat(grads))):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                if variant == "course":
                    p -= lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m[i] / (np.sqrt(v[i]) + eps)
                else:
                    p -= lr * (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
                out[f"{variant}.step{step}.param{i}"] = p.copy()
    return {**out, **optimizer_fed("adam_optimizer", seed)}


def expected_values(ref, seed, checks):
    """{check id: expected values} of `checks` (from :mod:`.catalogue`) for the reference namespace; the grader
    computes this in its own process."""
    out = {}
    with np.errstate(all="ignore"):
        for check in checks:
            out[check.id] = check.expect(ref, seed)
    return out


PRESENT = "__present__"


def save_expected(expected, path):
    """Freezes expected values (for the students' check() in the release) into one .npz file."""
    flat = {}
    for check_id, values in expected.items():
        flat[json.dumps([check_id, PRESENT])] = np.zeros(0)   # a check with no expected values still has an entry
        for key, value in values.items():
            flat[json.dumps([check_id, key])] = np.asarray(value)
    np.savez_compressed(path, **flat)


def load_expected(path):
    expected = {}
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            check_id, key = json.loads(name)
            values = expected.setdefault(check_id, {})
            if key != PRESENT:
                values[key] = data[name]
    return expected
