"""Where a kit training step spends its time: every module call, the criterion and the optimizer, timed.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python -m bench.profile_step mlp
    ... -m bench.profile_step ae --batch 64 --optimizer adam_optimizer   # as the main notebook trains it
    ... -m bench.profile_step conv     # the conv block: forward + backward only, as bench/kit_worker.py runs it

Runs the benchmark's step (bench/kit_worker.py) call by call and prints, per kind of call, the median
CPU time per step over `--steps` steps (after 20 warm-up steps) and its share of the step. CPU time,
not wall-clock: on a shared machine a process's CPU time barely depends on its neighbours. Use one
BLAS thread (OPENBLAS_NUM_THREADS=1) so CPU time is also the time a step takes.
"""
import argparse
import collections
import time

import numpy as np

from bench import common, kit_worker

ADAM = {"learning_rate": 2e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def profile(m, model, batch, optimizer, steps, seed=0):
    """{kind of call: list of CPU seconds, one per step} for `steps` training steps."""
    np.random.seed(seed)
    X, Y = common.training_data()
    if model == "conv":
        X = X.reshape(-1, 1, 28, 28)
    net, criterion = kit_worker.build(m, model)
    config = dict(ADAM if optimizer == "adam_optimizer" else common.SGD.get(model, {}))
    optimize, state = getattr(m, optimizer), {}
    indices = common.batch_indices(len(X), batch, seed)
    times = collections.defaultdict(lambda: collections.defaultdict(float))  # step -> kind -> seconds

    def timed(step, kind, call, *args):
        start = time.process_time()
        result = call(*args)
        times[step][kind] += time.process_time() - start
        return result

    for step in range(steps + 20):
        idx = next(indices)
        x = timed(step, "batch gather", lambda: X[idx])
        target = Y[idx] if model == "mlp" else x
        timed(step, "zeroGradParameters", net.zeroGradParameters)
        output = x
        for i, module in enumerate(net.modules):
            output = timed(step, f"{i} {type(module).__name__} forward" if criterion is None  # conv: per layer
                           else f"{type(module).__name__} forward", module.forward, output)
        if criterion is None:  # conv: loss 0.5 * sum(output^2), so gradOutput is the output itself
            grad = output
        else:
            timed(step, f"{type(criterion).__name__} forward + backward",
                  lambda: (criterion.forward(output, target), criterion.backward(output, target)))
            grad = criterion.gradInput
        for i in range(len(net.modules) - 1, -1, -1):  # Sequential.backward, one module at a time
            module, module_input = net.modules[i], (net.modules[i - 1].output if i else x)
            grad = timed(step, f"{i} {type(module).__name__} backward" if criterion is None
                         else f"{type(module).__name__} backward", module.backward, module_input, grad)
        if criterion is not None:  # the conv benchmark has no optimizer step
            timed(step, optimizer, optimize, net.getParameters(), net.getGradParameters(), config, state)
    kinds = collections.defaultdict(list)
    for step in range(20, steps + 20):
        for kind, seconds in times[step].items():
            kinds[kind].append(seconds)
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["mlp", "ae", "conv"])
    parser.add_argument("--batch", type=int, help="batch size (default: the benchmark's)")
    parser.add_argument("--optimizer", default="sgd_momentum", choices=["sgd_momentum", "adam_optimizer"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--notebook", default=kit_worker.NOTEBOOK, help="the modules notebook to profile")
    args = parser.parse_args()
    m = kit_worker.load_modules(args.notebook)
    batch = args.batch or common.BATCH[args.model]
    kinds = profile(m, args.model, batch, args.optimizer, args.steps)
    medians = {kind: float(np.median(seconds)) for kind, seconds in kinds.items()}
    total = sum(medians.values())
    what = args.optimizer if args.model != "conv" else "forward + backward, no optimizer"
    print(f"{args.model}, batch {batch}, {what}, {common.blas_threads()}: "
          f"{total * 1e3:.2f} ms CPU per step (sum of medians over {args.steps} steps)")
    for kind, seconds in sorted(medians.items(), key=lambda item: -item[1]):
        print(f"  {kind:<40} {seconds * 1e3:7.3f} ms  {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
