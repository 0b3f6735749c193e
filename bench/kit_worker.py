"""Trains one model with the kit's own modules, loaded from HW3_Modules.ipynb, and reports its epoch times.

    .venv/bin/python -m bench.kit_worker mlp --steps 100 --epochs 3

The models are built as the main notebook builds them: float32 parameters, Sequential, the
criterion's forward/backward, then sgd_momentum on getParameters()/getGradParameters(). The conv
block is timed forward + backward only (no criterion, no optimizer).
"""
import argparse
import os

import numpy as np

from bench import common
from grader.selfcheck.notebook import load_notebook

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "HW3_Modules.ipynb")


def load_modules(path=NOTEBOOK):
    """The framework as a module object, from the notebook's code cells."""
    return load_notebook(path, name="HW3_Modules")  # skips the check("...") cells


def build(m, model):
    """The Sequential and the criterion of `model` ("mlp", "ae", or "conv" with no criterion), float32."""
    f32 = np.float32
    if model == "conv":
        c0, c1, c2 = common.CONV_CHANNELS
        net = m.Sequential(m.Conv2d(c0, c1, common.CONV_KERNEL, dtype=f32), m.ReLU(),
                           m.Conv2d(c1, c2, common.CONV_KERNEL, dtype=f32))
        return net, None
    if model == "mlp":
        sizes = common.MLP_SIZES
        net = m.Sequential()
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            net.add(m.Linear(n_in, n_out, dtype=f32))
            net.add(m.ReLU() if n_out != sizes[-1] else m.SoftMax())
        return net, m.ClassNLLCriterion()
    sizes = common.AE_SIZES
    net = m.Sequential()
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        net.add(m.Linear(n_in, n_out, dtype=f32))
        if n_out not in (common.CODE_SIZE, sizes[-1]):  # the code and the reconstruction stay linear
            net.add(m.BatchMeanSubtraction())
            net.add(m.ReLU())
    return net, m.MSECriterion()


def main():
    parser = common.add_arguments(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--notebook", default=NOTEBOOK, help="the modules notebook (default: the kit's)")
    args = parser.parse_args()
    np.random.seed(args.seed)
    m = load_modules(args.notebook)
    X, Y = common.training_data()
    net, criterion = build(m, args.model)
    config, state = dict(common.SGD.get(args.model, {})), {}
    net.train()

    def conv_step(idx):
        x = X[idx].reshape(-1, 1, 28, 28)  # (N, 1, 28, 28)
        net.zeroGradParameters()
        output = net.forward(x)
        net.backward(x, output)  # loss 0.5 * sum(output^2): gradOutput is the output itself
        return 0.5 * float(np.sum(output * output))

    def step(idx):
        x = X[idx]
        target = Y[idx] if args.model == "mlp" else x
        net.zeroGradParameters()
        output = net.forward(x)
        loss = criterion.forward(output, target)
        net.backward(x, criterion.backward(output, target))
        m.sgd_momentum(net.getParameters(), net.getGradParameters(), config, state)
        return loss

    indices = common.batch_indices(len(X), common.BATCH[args.model], args.seed)
    seconds, cpu_seconds, loss = common.time_epochs(conv_step if args.model == "conv" else step, indices,
                                       common.steps(args), args.epochs)
    common.report(impl="kit", model=args.model, epoch_seconds=seconds, epoch_cpu_seconds=cpu_seconds, loss=loss,
                  threads=common.blas_threads(), numpy=np.__version__)


if __name__ == "__main__":
    main()
