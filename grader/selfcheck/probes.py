"""The probes: the only code that calls a submission's modules. They run inside the submission's kernel
(:func:`run_probe`) and return raw values only (arrays, numbers, text), which :mod:`.wire` encodes."""
import copy

import numpy as np

from grader.selfcheck.cases import (BMS_ALPHA, CRITERION_CASES, DROPOUT_P, LAYER_CASES, OPTIMIZER_CONFIG,
                                    OPTIMIZER_SHAPES, attr_path, bms_batches, build_layer, criterion_inputs,
                                    dropout_input, grad_output, layer_inputs, nll_edge, rng_for, salt,
                                    stable_logits)
from grader.selfcheck.messages import describe_exception
from grader.selfcheck.wire import encode

def probe_forward(target):
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            out[f"case{i}"] = module.forward(layer_inputs(seed, target, i, case))
        return out
    return probe


def probe_backward(target):
    """gradInput and the parameter gradients after one forward/backward from zeroed gradients."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            module.zeroGradParameters()
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x.copy())
            g = grad_output(seed, target, i, np.shape(y))
            out[f"case{i}.gradInput"] = module.backward(x.copy(), g)
            for path, grad_path in case.params:
                out[f"case{i}.{path}"] = np.array(attr_path(module, grad_path), copy=True)
        return out
    return probe


def probe_contract(target):
    """What forward/backward return and store, and the input/gradOutput arrays afterwards."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            module = build_layer(ns, seed, target, i, case)
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x)
            out[f"case{i}.returned_output"] = y
            out[f"case{i}.stored_output"] = module.output
            g = grad_output(seed, target, i, np.shape(y))
            gi = module.backward(x, g)
            out[f"case{i}.returned_gradInput"] = gi
            out[f"case{i}.stored_gradInput"] = module.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.gradOutput_after"] = g
        return out
    return probe


def probe_accumulate(target):
    """Parameter gradients after two backward passes, then after zeroGradParameters()."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            if not case.params or case.warmup or case.mode != "train":
                continue
            module = build_layer(ns, seed, target, i, case)
            module.zeroGradParameters()
            x = layer_inputs(seed, target, i, case)
            y = module.forward(x.copy())
            g = grad_output(seed, target, i, np.shape(y))
            module.backward(x.copy(), g.copy())
            once = [np.array(attr_path(module, gp), copy=True) for _, gp in case.params]
            module.forward(x.copy())
            module.backward(x.copy(), g.copy())
            for (path, gp), first in zip(case.params, once):
                out[f"case{i}.{path}.once"] = first
                out[f"case{i}.{path}.twice"] = np.array(attr_path(module, gp), copy=True)
            module.zeroGradParameters()
            for path, gp in case.params:
                out[f"case{i}.{path}.zeroed"] = np.array(attr_path(module, gp), copy=True)
        return out
    return probe


def probe_dtype(target):
    """A float32 input, with float32 and with float64 parameters: output and gradInput must stay float32."""
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(LAYER_CASES[target]):
            for param_dtype in (np.float32, np.float64):
                key = f"case{i}.{np.dtype(param_dtype).name}"
                module = build_layer(ns, seed, target, i, case, dtype=param_dtype)
                x = layer_inputs(seed, target, i, case, dtype=np.float32)
                y = module.forward(x)
                out[f"{key}.output"] = y
                out[f"{key}.output_dtype"] = str(np.asarray(y).dtype)
                g = grad_output(seed, target, i, np.shape(y)).astype(np.float32)
                gi = module.backward(x, g)
                out[f"{key}.gradInput_dtype"] = str(np.asarray(gi).dtype)
        return out
    return probe


def probe_stable(target):
    def probe(ns, seed):
        module = getattr(ns, target)()
        x = stable_logits(seed)
        y = module.forward(x.copy())
        g = rng_for(seed, 6).standard_normal(x.shape)
        return {"output": y, "gradInput": module.backward(x.copy(), g)}
    return probe


def probe_large_inputs(target):
    def probe(ns, seed):
        module = getattr(ns, target)()
        x = np.array([[-800., -50., -1e-3, 0.5, 50., 800.]])
        y = module.forward(x.copy())
        return {"output": y, "gradInput": module.backward(x.copy(), np.ones_like(x))}
    return probe


def probe_dropout_train(ns, seed):
    module = ns.Dropout(DROPOUT_P)
    module.train()
    x = dropout_input(seed)
    y = module.forward(x.copy())
    y = np.array(y, copy=True)
    g = rng_for(seed, 8).standard_normal(x.shape)
    gi = module.backward(x.copy(), g.copy())
    y2 = module.forward(x.copy())
    return {"output": y, "gradInput": gi, "second_output": y2}


def probe_dropout_eval(ns, seed):
    module = ns.Dropout(DROPOUT_P)
    module.evaluate()
    x = dropout_input(seed)[:5, :7]
    y = module.forward(x.copy())
    g = rng_for(seed, 8).standard_normal(x.shape)
    return {"output": y, "gradInput": module.backward(x.copy(), g)}


def probe_bms_eval(ns, seed):
    first, second, test = bms_batches(seed)
    module = ns.BatchMeanSubtraction(BMS_ALPHA)
    module.train()
    module.forward(first.copy())
    module.forward(second.copy())
    module.evaluate()
    whole = np.array(module.forward(test.copy()), copy=True)
    g = rng_for(seed, 10).standard_normal(test.shape)
    gi = np.array(module.backward(test.copy(), g), copy=True)
    alone = np.array(module.forward(test[:1].copy()), copy=True)
    return {"whole": whole, "alone": alone, "gradInput": gi}


def probe_criterion(target):
    def probe(ns, seed):
        out = {}
        for i, case in enumerate(CRITERION_CASES[target]):
            criterion = case.build(ns)
            x, t = criterion_inputs(seed, target, i, case)
            loss = criterion.forward(x, t)
            out[f"case{i}.loss"] = np.asarray(loss, dtype=np.float64) if np.isscalar(loss) or np.ndim(loss) == 0 else loss
            out[f"case{i}.stored_loss"] = criterion.output
            out[f"case{i}.gradInput"] = criterion.backward(x, t)
            out[f"case{i}.stored_gradInput"] = criterion.gradInput
            out[f"case{i}.input_after"] = x
            out[f"case{i}.target_after"] = t
        return out
    return probe


def probe_nll_zero(ns, seed):
    criterion = ns.ClassNLLCriterion()
    p, t = nll_edge(seed)
    loss = criterion.forward(p.copy(), t.copy())
    return {"loss": np.asarray(loss, dtype=np.float64), "gradInput": criterion.backward(p.copy(), t.copy())}


def probe_optimizer(name):
    def probe(ns, seed):
        rng = rng_for(seed, 11, salt(name))
        params = [[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES]
        state = {}
        optimizer = getattr(ns, name)
        out = {}
        for step in range(3):
            grads = [[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES]
            optimizer(params, grads, dict(OPTIMIZER_CONFIG[name]), state)
            for i, p in enumerate(q for layer in params for q in layer):
                out[f"step{step}.param{i}"] = np.array(p, copy=True)
        return out
    return probe


def run_probe(check_id, namespace, seed):
    """Runs one probe on a namespace; returns a JSON-able dict (this is what the kernel sends back)."""
    import types
    import warnings
    ns = types.SimpleNamespace(**namespace) if isinstance(namespace, dict) else namespace
    from grader.selfcheck.catalogue import BY_ID  # (the catalogue is built from these probes)
    check = BY_ID[check_id]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                values = check.probe(ns, seed)
        return {"ok": True, "values": encode(values)}
    except NotImplementedError as exc:
        return {"ok": False, "not_implemented": True, "error": describe_exception(exc)}
    except Exception as exc:  # a student's bug, reported as the check's message
        return {"ok": False, "error": describe_exception(exc)}
