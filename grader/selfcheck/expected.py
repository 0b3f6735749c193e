"""What a correct module gives on the probes' inputs, computed in the grader's process from the reference
modules (finite differences in float64 for every gradient), and frozen into the students' release."""
import copy
import json

import numpy as np

from grader.selfcheck.cases import (BMS_ALPHA, CRITERION_CASES, DROPOUT_SHAPE, LAYER_CASES, attr_path,
                                    bms_batches, build_layer, criterion_inputs, dropout_input, grad_output,
                                    layer_inputs, rng_for, stable_logits)
from grader.selfcheck.gradcheck import numerical_gradient
from grader.selfcheck.probes import probe_forward, probe_large_inputs, probe_stable

def expect_backward(target):
    """Finite differences in float64 of the reference module's forward, parameters included."""
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            snapshot = build_layer(ref, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            g = grad_output(seed, target, i, np.shape(copy.deepcopy(snapshot).forward(x.copy())))
            out[f"case{i}.input"] = x

            def loss(module, inp):
                return float(np.sum(copy.deepcopy(module).forward(inp.copy()) * g))
            x_var = x.copy()
            out[f"case{i}.gradInput"] = numerical_gradient(lambda: loss(snapshot, x_var), x_var)
            for path, _ in case.params:
                trial = copy.deepcopy(snapshot)
                param = attr_path(trial, path)
                out[f"case{i}.{path}"] = numerical_gradient(lambda: loss(trial, x), param)
        return out
    return expect


def expect_contract(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ref, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            out[f"case{i}.input"] = x
            out[f"case{i}.gradOutput"] = grad_output(seed, target, i, np.shape(module.forward(x.copy())))
        return out
    return expect


def expect_dtype(target):
    def expect(ref, seed):
        return {k.replace("case", "case", 1): v for k, v in probe_forward(target)(ref, seed).items()}
    return expect


def expect_accumulate(target):
    def expect(ref, seed):
        full = expect_backward(target)(ref, seed)
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            if not case.params or case.warmup or case.mode != "train":
                continue
            for path, _ in case.params:
                out[f"case{i}.{path}.twice"] = 2 * full[f"case{i}.{path}"]
                out[f"case{i}.{path}.zeroed"] = np.zeros_like(full[f"case{i}.{path}"])
        return out
    return expect


def expect_stable(target):
    def expect(ref, seed):
        out = probe_stable(target)(ref, seed)
        out["input"] = stable_logits(seed)
        return out
    return expect


def expect_large_inputs(target):
    def expect(ref, seed):
        return probe_large_inputs(target)(ref, seed)
    return expect


def expect_dropout(ns, seed):
    return {"input": dropout_input(seed), "gradOutput": rng_for(seed, 8).standard_normal(DROPOUT_SHAPE)}


def expect_dropout_eval(ns, seed):
    return {"input": dropout_input(seed)[:5, :7], "gradOutput": rng_for(seed, 8).standard_normal((5, 7))}


def expect_bms_eval(ns, seed):
    first, second, test = bms_batches(seed)
    running = BMS_ALPHA * first.mean(axis=0) + (1 - BMS_ALPHA) * second.mean(axis=0)  # the documented formula
    return {"whole": test - running, "test": test, "running": running,
            "gradOutput": rng_for(seed, 10).standard_normal(test.shape)}


def expect_criterion(target):
    def expect(ref, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            criterion = case.build(ref)
            x, t = criterion_inputs(seed, target, i, case)
            out[f"case{i}.loss"] = np.asarray(copy.deepcopy(criterion).forward(x.copy(), t.copy()), dtype=np.float64)
            x_var = x.copy()
            out[f"case{i}.gradInput"] = numerical_gradient(
                lambda: float(copy.deepcopy(criterion).forward(x_var.copy(), t.copy())), x_var)
            out[f"case{i}.input"] = x
            out[f"case{i}.target"] = t
        return out
    return expect


def expect_nll_zero(ns, seed):
    return {}


def expected_values(ref, seed, checks=None):
    """{check id: expected values} for the reference namespace; the grader computes this in its own process."""
    from grader.selfcheck import catalogue  # (the catalogue is built from these functions)
    out = {}
    with np.errstate(all="ignore"):
        for check in checks or catalogue.CHECKS:
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
