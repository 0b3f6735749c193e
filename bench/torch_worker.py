"""Trains the same model in PyTorch (CPU) and reports its epoch times; runs in bench/.venv-torch.

    bench/.venv-torch/bin/python -m bench.torch_worker mlp --threads 2

The PyTorch equivalents, written as a PyTorch user would: nn.Linear layers, CrossEntropyLoss
(log-softmax + NLL fused; the kit's SoftMax + ClassNLLCriterion computes the same loss), a module
for the batch-mean subtraction, torch.optim.SGD with momentum, float32.
"""
import argparse

import torch
from torch import nn

from bench import common


class BatchMeanSubtraction(nn.Module):
    """The kit's BatchMeanSubtraction in training mode with alpha = 0: y = x - mean over the batch."""

    def forward(self, x):
        return x - x.mean(dim=0, keepdim=True)


def build(model):
    if model == "conv":
        c0, c1, c2 = common.CONV_CHANNELS
        k = common.CONV_KERNEL
        return nn.Sequential(nn.Conv2d(c0, c1, k, padding=k // 2), nn.ReLU(),
                             nn.Conv2d(c1, c2, k, padding=k // 2)), lambda out, x: 0.5 * (out * out).sum()
    if model == "mlp":
        sizes = common.MLP_SIZES
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(n_in, n_out))
            if n_out != sizes[-1]:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers), nn.CrossEntropyLoss()
    sizes = common.AE_SIZES
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(n_in, n_out))
        if n_out not in (common.CODE_SIZE, sizes[-1]):
            layers += [BatchMeanSubtraction(), nn.ReLU()]
    # The kit's MSECriterion sums over the features and averages over the batch.
    return nn.Sequential(*layers), lambda out, x: ((out - x) ** 2).sum() / len(x)


def main():
    parser = common.add_arguments(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    X, Y = common.training_data()
    X_t, labels_t = torch.from_numpy(X), torch.from_numpy(Y.argmax(axis=1))
    net, criterion = build(args.model)
    sgd = common.SGD.get(args.model, common.SGD["mlp"])
    # kit: v = mu v + lr g, x -= v;  torch: v' = mu v' + g, x -= lr v'  (the same steps)
    optimizer = torch.optim.SGD(net.parameters(), lr=sgd["learning_rate"], momentum=sgd["momentum"])
    net.train()

    def step(idx):
        idx = torch.from_numpy(idx)
        x = X_t[idx]
        if args.model == "conv":
            x = x.reshape(-1, 1, 28, 28)
            # The kit's contract computes the first layer's gradInput; ask autograd for it too.
            x.requires_grad_(True)
        target = labels_t[idx] if args.model == "mlp" else x
        optimizer.zero_grad()
        loss = criterion(net(x), target)
        loss.backward()
        if args.model != "conv":  # the conv benchmark is forward + backward only
            optimizer.step()
        return loss.detach()

    indices = common.batch_indices(len(X), common.BATCH[args.model], args.seed)
    seconds, cpu_seconds, loss = common.time_epochs(step, indices, common.steps(args), args.epochs)
    common.report(impl="torch", model=args.model, epoch_seconds=seconds, epoch_cpu_seconds=cpu_seconds, loss=loss,
                  threads=f"torch x{torch.get_num_threads()} ({common.blas_threads()})",
                  torch=torch.__version__)


if __name__ == "__main__":
    main()
