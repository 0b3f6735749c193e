"""What the benchmark's workers share: the data, the two models' shapes, the timing loop, the report line.

A worker trains one model with one implementation for a few "epochs" of a fixed number of steps
(an epoch of the benchmark is `steps` mini-batch steps, default 100, not a pass over all 60000
images: that keeps a round short while every step is a real training step on MNIST), then prints
one JSON line that bench/run.py collects.
"""
import json
import resource
import sys
import time

import numpy as np

from data.mnist import load_mnist

# The MLP of the issue and the autoencoder of the main notebook (784 -> ... -> 30 -> ... -> 784).
MLP_SIZES = (784, 512, 256, 10)
AE_SIZES = (784, 512, 256, 128, 30, 128, 256, 512, 784)
CODE_SIZE = 30
# A small convolutional block at MNIST's full resolution: Conv2d(1 -> 16) -> ReLU -> Conv2d(16 -> 16), 3x3,
# forward and backward only (loss 0.5 * sum(y^2), so gradOutput = y; no optimizer): the Conv2d layers' speed.
CONV_CHANNELS = (1, 16, 16)
CONV_KERNEL = 3
BATCH = {"mlp": 128, "ae": 256, "conv": 128}
STEPS = {"mlp": 100, "ae": 100, "conv": 10}  # steps per timed epoch (conv steps are ~50x longer)
# sgd_momentum: v = momentum * v + learning_rate * grad; x -= v (torch.optim.SGD is the same
# trajectory: v' = momentum * v' + grad, x -= lr * v', with v = lr * v').
SGD = {"mlp": {"learning_rate": 0.05, "momentum": 0.9},
       "ae": {"learning_rate": 0.002, "momentum": 0.9}}
WARMUP_STEPS = 20


def add_arguments(parser):
    parser.add_argument("model", choices=sorted(BATCH), help="mlp, ae or conv")
    parser.add_argument("--steps", type=int, help="steps per timed epoch (default: STEPS[model])")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs in this process")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def steps(args):
    return args.steps or STEPS[args.model]


def training_data():
    """MNIST train images (60000, 784) float32 and one-hot labels (60000, 10) float32."""
    X, y, _, _ = load_mnist()
    onehot = np.zeros((len(y), 10), dtype=np.float32)
    onehot[np.arange(len(y)), y] = 1
    return np.ascontiguousarray(X, dtype=np.float32), onehot


def batch_indices(n, batch, seed):
    """An endless stream of mini-batch index arrays: a fresh permutation of range(n) per pass."""
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            yield perm[start:start + batch]


def time_epochs(step, indices, steps, epochs, warmup=WARMUP_STEPS):
    """Runs `warmup` untimed steps, then `epochs` timed epochs of `steps` steps.

    step(idx) trains on one mini-batch and returns its loss (a float, read only at epoch ends, so
    no step waits for it). Returns the wall-clock and the CPU seconds (all threads of the process) of
    every epoch, and the last step's loss.
    """
    for _ in range(warmup):
        step(next(indices))
    seconds, cpu_seconds, loss = [], [], None
    for _ in range(epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(steps):
            loss = step(next(indices))
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    return seconds, cpu_seconds, float(loss.item() if hasattr(loss, "item") else loss)


def peak_rss_mb():
    """Peak resident memory of this process (ru_maxrss, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blas_threads():
    """The BLAS libraries this process loaded, as 'api/kernel xN threads' (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return ", ".join(f"{i['internal_api']}/{i.get('architecture') or '?'} x{i['num_threads']}"
                     for i in threadpool_info())


def report(**fields):
    """Prints the worker's result as one JSON line (bench/run.py reads the last line of stdout)."""
    fields["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(fields))
    sys.stdout.flush()
