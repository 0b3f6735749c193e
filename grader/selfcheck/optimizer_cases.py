"""The optimizers' self-check inputs: the configuration, the parameters' start and the gradients of each step.

sgd_momentum and adam_optimizer are checked on parameters nested as a Sequential's (a list per layer, one layer
without parameters), for OPTIMIZER_STEPS steps; the probe, the expected values and the messages share these draws.
"""
from grader.selfcheck.cases import rng_for, salt


OPTIMIZER_CONFIG = {"sgd_momentum": {"learning_rate": 0.1, "momentum": 0.9},
                    "adam_optimizer": {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}


OPTIMIZER_SHAPES = [[(3, 2), (3,)], [], [(4,)]]   # a layer without parameters in the middle, as in a Sequential
OPTIMIZER_STEPS = 3


def optimizer_inputs(name, seed):
    """What the optimizer check feeds `name`: the parameters' start, then the gradients of each step, all nested as
    OPTIMIZER_SHAPES (a list per layer), drawn in that order (the probe, the expected values and the messages
    share these draws)."""
    rng = rng_for(seed, 11, salt(name))
    params = [[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES]
    steps = [[[rng.standard_normal(s) for s in layer] for layer in OPTIMIZER_SHAPES] for _ in range(OPTIMIZER_STEPS)]
    return params, steps
