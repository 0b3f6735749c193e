"""Where a kit training step spends its time: every module call, the criterion and the optimizer, timed.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python -m bench.profile_step mlp
    ... -m bench.profile_step ae --batch 64 --optimizer adam_optimizer   # as the main notebook trains it
    ... -m bench.profile_step conv     # the conv block: forward + backward only, as bench/kit_worker.py runs it
    ... -m bench.profile_step mlp --notebook HW3_Modules.ipynb --notebook /tmp/BEFORE.ipynb   # before/after

Runs the benchmark's step (bench/kit_worker.py) call by call and prints, per kind of call, the median
CPU time per step over `--steps` steps (after 20 warm-up steps) and its share of the step. CPU time,
not wall-clock: on a shared machine a process's CPU time barely depends on its neighbours. Use one
BLAS thread (OPENBLAS_NUM_THREADS=1) so CPU time is also the time a step takes.

With several ``--notebook``, each trains its own network and they take turns step by step in one process
(the same batches), so a slow spell of the shared machine hits all of them: a table per notebook, then the
ratio of the medians, call by call, of each notebook to the first.
"""
import argparse
import collections
import time

import numpy as np

from bench import common, kit_worker

ADAM = {"learning_rate": 2e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def stepper(m, model, X, Y, batch, optimizer, seed=0):
    """A function step(times) that trains one step and adds each call's CPU seconds to times[kind]."""
    np.random.seed(seed)
    net, criterion = kit_worker.build(m, model)
    config = dict(ADAM if optimizer == "adam_optimizer" else common.SGD.get(model, {}))
    optimize, state = getattr(m, optimizer), {}
    indices = common.batch_indices(len(X), batch, seed)

    def timed(times, kind, call, *args):
        start = time.process_time()
        result = call(*args)
        times[kind] += time.process_time() - start
        return result

    def one_step(times):
        idx = next(indices)
        x = timed(times, "batch gather", lambda: X[idx])
        target = Y[idx] if model == "mlp" else x
        timed(times, "zeroGradParameters", net.zeroGradParameters)
        output = x
        for i, module in enumerate(net.modules):
            output = timed(times, f"{i} {type(module).__name__} forward" if criterion is None  # conv: per layer
                           else f"{type(module).__name__} forward", module.forward, output)
        if criterion is None:  # conv: loss 0.5 * sum(output^2), so gradOutput is the output itself
            grad = output
        else:
            timed(times, f"{type(criterion).__name__} forward + backward",
                  lambda: (criterion.forward(output, target), criterion.backward(output, target)))
            grad = criterion.gradInput
        for i in range(len(net.modules) - 1, -1, -1):  # Sequential.backward, one module at a time
            module, module_input = net.modules[i], (net.modules[i - 1].output if i else x)
            grad = timed(times, f"{i} {type(module).__name__} backward" if criterion is None
                         else f"{type(module).__name__} backward", module.backward, module_input, grad)
        if criterion is not None:  # the conv benchmark has no optimizer step
            timed(times, optimizer, optimize, net.getParameters(), net.getGradParameters(), config, state)
    return one_step


def profile(modules, model, batch, optimizer, steps, seed=0):
    """Per module object of `modules`, {kind of call: list of CPU seconds, one per step} for `steps` training
    steps after 20 warm-up steps; the networks take turns step by step."""
    X, Y = common.training_data()
    if model == "conv":
        X = X.reshape(-1, 1, 28, 28)
    steppers = [stepper(m, model, X, Y, batch, optimizer, seed) for m in modules]
    kinds = [collections.defaultdict(list) for _ in modules]
    for step in range(steps + 20):
        for one_step, kinds_of_this in zip(steppers, kinds):
            times = collections.defaultdict(float)
            one_step(times)
            if step >= 20:
                for kind, seconds in times.items():
                    kinds_of_this[kind].append(seconds)
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["mlp", "ae", "conv"])
    parser.add_argument("--batch", type=int, help="batch size (default: the benchmark's)")
    parser.add_argument("--optimizer", default="sgd_momentum", choices=["sgd_momentum", "adam_optimizer"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--notebook", action="append",
                        help="the modules notebook to profile (default: the kit's); repeat it to compare notebooks")
    args = parser.parse_args()
    paths = args.notebook or [kit_worker.NOTEBOOK]
    batch = args.batch or common.BATCH[args.model]
    all_kinds = profile([kit_worker.load_modules(path) for path in paths], args.model, batch, args.optimizer,
                        args.steps)
    what = args.optimizer if args.model != "conv" else "forward + backward, no optimizer"
    first = None
    for path, kinds in zip(paths, all_kinds):
        medians = {kind: float(np.median(seconds)) for kind, seconds in kinds.items()}
        total = sum(medians.values())
        print(f"{path}\n{args.model}, batch {batch}, {what}, {common.blas_threads()}: "
              f"{total * 1e3:.2f} ms CPU per step (sum of medians over {args.steps} steps)")
        for kind, seconds in sorted(medians.items(), key=lambda item: -item[1]):
            versus = f"  x{seconds / first[kind]:.3f} of the first" if first and first.get(kind) else ""
            print(f"  {kind:<40} {seconds * 1e3:7.3f} ms  {seconds / total:6.1%}{versus}")
        if first is None:
            first = dict(medians, step=total)
        else:
            print(f"  {'step':<40} {total * 1e3:7.3f} ms          x{total / first['step']:.3f} of the first")

if __name__ == "__main__":
    main()
