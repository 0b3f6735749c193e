"""What an MLP training step costs beyond its matrix products, part by part, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        .venv/bin/python -m bench.step_parts [--notebook OTHER.ipynb ...] [--rounds 40] [--steps 25] \
        [--optimizer adam_optimizer]

Times, alternating round by round (A B C ..., then ... C B A) so a slow spell of the shared machine hits
all of them, the CPU time per step of:

* ``floor``: the GEMM floor's step (the same products as bench/gemm_worker.py, into preallocated float32
  buffers);
* ``floor + gather``, ``floor + zero``, ``floor + sgd_momentum``, ``floor + all three``: the floor plus
  the parts of the benchmark's kit step that are not the modules' own work: the batch gather ``X[idx]``
  of bench/kit_worker.py's step, zeroing the gradient buffers (``fill(0)``, as ``Linear.zeroGradParameters``)
  and the notebook's ``sgd_momentum`` (given code) applied to the floor's own weights and gradients;
* ``sgd_momentum alone``: the optimizer on the same arrays with no products in between, so they stay in
  the CPU's caches: what its arithmetic costs. ``floor + sgd_momentum`` minus ``floor`` is what it costs in
  a step, where the products have pushed the parameters, gradients and velocities out of the caches;
* ``floor + fused sgd_momentum`` and ``fused sgd_momentum alone``: the same update written with BLAS's fused
  kernels (``scipy.linalg.blas``: ``scal`` then two ``axpy``, three passes and no temporary, where numpy needs
  four and a temporary); ``floor + gather + zero + fused``: the lowest a step with this optimizer reaches here
  (no kernel of numpy does ``v = m v + lr g`` in one pass). Not the kit's code: a bound;
* the kit's step (bench/kit_worker.py's) for HW3_Modules.ipynb and every ``--notebook``.

``--optimizer adam_optimizer``: the notebook's Adam (bench/profile_step.py's settings, as the main notebook
trains) in place of ``sgd_momentum``, in the kit's steps and in the floor's.

Prints the median per-step time and the median (min-max) of the per-round ratios to the floor. "floor + all
three" is what a step costs with modules that did nothing but their matrix products: how close to the floor a
framework with this optimizer can come. A script, not a test; one process, so the numbers differ a little
from bench/run.py's separate processes (the GEMM floor's process holds no MNIST there).
"""
import argparse
import time

import numpy as np
from scipy.linalg import blas

from bench import common, kit_worker, profile_step

F32 = np.float32
CONFIGS = {"sgd_momentum": common.SGD["mlp"], "adam_optimizer": profile_step.ADAM}


def sgd_momentum_fused(variables, gradients, config, state):
    """sgd_momentum's update (v = momentum v + learning_rate g; x -= v) by BLAS's fused kernels: for comparison only.

    float32, C-contiguous arrays (the floor's); `reshape(-1)` is then a view that the kernels update in place.
    """
    velocities = state.setdefault("accumulated_grads", {})
    index = 0
    for layer_vars, layer_grads in zip(variables, gradients):
        for var, grad in zip(layer_vars, layer_grads):
            if index not in velocities:
                velocities[index] = np.zeros_like(grad)
            v_flat = velocities[index].reshape(-1)
            blas.sscal(config["momentum"], v_flat)                                    # v *= momentum
            blas.saxpy(grad.reshape(-1), v_flat, a=config["learning_rate"])          # v += lr g, one pass
            blas.saxpy(v_flat, var.reshape(-1), a=-1.0)                              # x -= v, one pass
            index += 1


def floor_step(parts, m, X, Y, seed=0, optimizer="sgd_momentum"):
    """The GEMM floor's step of the MLP, plus `parts` (a subset of {"gather", "zero", "optimizer"}).

    With parts {"optimizer alone"}: only the optimizer on the floor's weights and gradients, no products.
    """
    rng = np.random.default_rng(seed)
    n, sizes = common.BATCH["mlp"], common.MLP_SIZES
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append(dict(
            X=rng.standard_normal((n, n_in), dtype=F32), W=rng.uniform(-0.05, 0.05, (n_out, n_in)).astype(F32),
            Y=np.empty((n, n_out), F32), G=rng.standard_normal((n, n_out), dtype=F32),
            GX=np.empty((n, n_in), F32), GW=np.zeros((n_out, n_in), F32), b=np.zeros(n_out, F32),
            gb=np.zeros(n_out, F32), W_flipped=rng.standard_normal((n_in, n_out), dtype=F32),
            G_patches=rng.standard_normal((n, n_out), dtype=F32)))
    params = [[L["W"], L["b"]] for L in layers]      # what the optimizer updates: the floor's own weights
    grads = [[L["GW"], L["gb"]] for L in layers]     # and the gradients the floor's products write
    optimize, config, state = getattr(m, optimizer), dict(CONFIGS[optimizer]), {}
    if "fused" in parts:
        optimize = sgd_momentum_fused
    indices = common.batch_indices(len(X), n, seed)

    def products():
        for L in layers:
            np.matmul(L["X"], L["W"].T, out=L["Y"])
        for L in reversed(layers):
            np.matmul(L["G_patches"], L["W_flipped"].T, out=L["GX"])  # as gemm_worker.py (conv's shapes too)
            np.matmul(L["G"].T, L["X"], out=L["GW"])

    def step():
        if "gather" in parts:
            idx = next(indices)
            _ = X[idx], Y[idx]  # the copies are the cost timed
        if "zero" in parts:
            for layer_grads in grads:
                for g in layer_grads:
                    g.fill(0)
        if "optimizer alone" not in parts:
            products()
        if "optimizer" in parts or "optimizer alone" in parts:
            optimize(params, grads, config, state)

    if "optimizer alone" in parts:
        products()  # the gradients the optimizer reads, once
    return step


def kit_step(path, X, Y, seed=0, optimizer="sgd_momentum"):
    """bench/kit_worker.py's MLP step with the modules (and `optimizer`) of the notebook at `path`."""
    m = kit_worker.load_modules(path)
    np.random.seed(seed)
    net, criterion = kit_worker.build(m, "mlp")
    optimize, config, state = getattr(m, optimizer), dict(CONFIGS[optimizer]), {}
    indices = common.batch_indices(len(X), common.BATCH["mlp"], seed)
    net.train()

    def step():
        idx = next(indices)
        x, target = X[idx], Y[idx]
        net.zeroGradParameters()
        output = net.forward(x)
        criterion.forward(output, target)
        net.backward(x, criterion.backward(output, target))
        optimize(net.getParameters(), net.getGradParameters(), config, state)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", action="append", default=[], help="another modules notebook (repeatable)")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--steps", type=int, default=25, help="steps per variant and round")
    parser.add_argument("--optimizer", default="sgd_momentum", choices=sorted(CONFIGS))
    args = parser.parse_args()
    X, Y = common.training_data()
    m = kit_worker.load_modules()
    opt = args.optimizer
    variants = [("floor", floor_step(set(), m, X, Y))]
    for parts in (("gather",), ("zero",), ("optimizer",), ("gather", "zero", "optimizer")):
        name = "floor + " + (parts[0].replace("optimizer", opt) if len(parts) == 1 else "all three")
        variants.append((name, floor_step(set(parts), m, X, Y, optimizer=opt)))
    variants.append((f"{opt} alone", floor_step({"optimizer alone"}, m, X, Y, optimizer=opt)))
    if opt == "sgd_momentum":
        variants.append(("floor + fused sgd_momentum", floor_step({"optimizer", "fused"}, m, X, Y)))
        variants.append(("floor + gather + zero + fused", floor_step({"gather", "zero", "optimizer", "fused"}, m, X, Y)))
        variants.append(("fused sgd_momentum alone", floor_step({"optimizer alone", "fused"}, m, X, Y)))
    for path in [kit_worker.NOTEBOOK] + args.notebook:
        variants.append((f"kit step: {path}", kit_step(path, X, Y, optimizer=opt)))
    for _, step in variants:  # warm-up: velocities allocated, caches and allocator settled
        for _ in range(common.WARMUP_STEPS):
            step()
    seconds = {name: [] for name, _ in variants}
    for r in range(args.rounds):
        for name, step in (variants if r % 2 == 0 else variants[::-1]):
            start = time.process_time()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.process_time() - start) / args.steps)
    floor = np.array(seconds["floor"])
    print(f"MLP, batch {common.BATCH['mlp']}, {common.blas_threads()}, {args.optimizer}; {args.rounds} rounds of "
          f"{args.steps} steps, CPU time per step")
    for name, _ in variants:
        ratio = np.array(seconds[name]) / floor
        print(f"  {name:<45} {np.median(seconds[name]) * 1e3:6.3f} ms   / floor {np.median(ratio):.3f} "
              f"({ratio.min():.3f}-{ratio.max():.3f})")


if __name__ == "__main__":
    main()
