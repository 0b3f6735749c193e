"""The GEMM floor: only the matrix products of one training step, into preallocated float32 buffers.

    .venv/bin/python -m bench.gemm_worker mlp

Per Linear layer (n_in -> n_out) and batch N, the three products the kit's contract needs:
forward X W^T (N, n_out), gradInput G W (N, n_in) -- for the first layer too, since the module
contract returns it --, and gradW G^T X (n_out, n_in). For the conv block, the same three products of
each layer after im2col (N*28*28 rows; the im2col copies themselves are left out). Nothing else: no bias, no activation, no
loss, no optimizer, no allocation. A framework can only come close to this from above.
"""
import argparse

import numpy as np

from bench import common


def main():
    args = common.add_arguments(argparse.ArgumentParser(description=__doc__)).parse_args()
    rng = np.random.default_rng(args.seed)
    n = common.BATCH[args.model]
    f32 = np.float32
    if args.model == "conv":
        # A k x k convolution C -> O on (N, C, H, W) is, after im2col, the products of a Linear layer with
        # N*H*W rows, C*k*k inputs and O outputs (gradInput as the (O*k*k -> C) convolution of gradOutput).
        rows, k2 = n * 28 * 28, common.CONV_KERNEL ** 2
        chans = common.CONV_CHANNELS
        shapes = [(rows, c_in * k2, c_out, c_out * k2, c_in) for c_in, c_out in zip(chans[:-1], chans[1:])]
    else:
        sizes = common.MLP_SIZES if args.model == "mlp" else common.AE_SIZES
        shapes = [(n, n_in, n_out, n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    layers = []
    for n, n_in, n_out, g_in, g_out in shapes:
        layers.append(dict(
            X=rng.standard_normal((n, n_in), dtype=f32), W=rng.standard_normal((n_out, n_in), dtype=f32),
            Y=np.empty((n, n_out), f32), G=rng.standard_normal((n, n_out), dtype=f32),
            GX=np.empty((n, g_out), f32), GW=np.empty((n_out, n_in), f32),
            W_flipped=rng.standard_normal((g_out, g_in), dtype=f32), G_patches=rng.standard_normal((n, g_in), dtype=f32)))

    def step(_):
        for L in layers:
            np.matmul(L["X"], L["W"].T, out=L["Y"])
        for L in reversed(layers):
            np.matmul(L["G_patches"], L["W_flipped"].T, out=L["GX"])
            np.matmul(L["G"].T, L["X"], out=L["GW"])
        return 0.0

    seconds, cpu_seconds, _ = common.time_epochs(step, iter(range(10 ** 9)), common.steps(args), args.epochs)
    common.report(impl="gemm", model=args.model, epoch_seconds=seconds, epoch_cpu_seconds=cpu_seconds, loss=None,
                  threads=common.blas_threads(), numpy=np.__version__)


if __name__ == "__main__":
    main()
