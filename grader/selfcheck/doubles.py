"""The test doubles that are ``Sequential``'s children in its checks: minimal modules of the contract, not course
modules, so a broken ``Linear`` costs ``Linear`` alone. Each catches one way to get Sequential wrong: ``Sine``
(its gradient depends on the input: backward must feed each child its own input), ``Quadratic`` (a parameter:
the children's gradients must reach them), ``MatMul`` (not element-wise: the order of the children in backward
matters) and ``RandomScale`` (a fresh random draw every forward, like Dropout: backward must not run forward again).
"""
import numpy as np


class _Double(object):
    """A minimal module of the contract; the children of the Sequential under test."""

    def __init__(self):
        self.output = None
        self.gradInput = None
        self.training = True

    def forward(self, input):
        return self.updateOutput(input)

    def backward(self, input, gradOutput):
        self.updateGradInput(input, gradOutput)
        self.accGradParameters(input, gradOutput)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        pass

    def zeroGradParameters(self):
        pass

    def getParameters(self):
        return []

    def getGradParameters(self):
        return []

    def train(self):
        self.training = True

    def evaluate(self):
        self.training = False


class Sine(_Double):
    """y = sin(x): its gradient cos(x) depends on the input, so backward must get the right one."""

    def updateOutput(self, input):
        self.output = np.sin(input)
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * np.cos(input)
        return self.gradInput

    def __repr__(self):
        return "Sine()"


class Quadratic(_Double):
    """y = w x^2 + x per feature, with a parameter w: (N, C) -> (N, C)."""

    def __init__(self, n):
        super().__init__()
        self.w = np.linspace(0.5, 1.5, n)
        self.gradw = np.zeros(n)

    def updateOutput(self, input):
        self.output = self.w * input ** 2 + input
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * (2 * self.w * input + 1)
        return self.gradInput

    def accGradParameters(self, input, gradOutput):
        self.gradw += (gradOutput * input ** 2).sum(axis=0)

    def zeroGradParameters(self):
        self.gradw.fill(0)

    def getParameters(self):
        return [self.w]

    def getGradParameters(self):
        return [self.gradw]

    def __repr__(self):
        return f"Quadratic({len(self.w)})"


class MatMul(_Double):
    """y = x A with a fixed, non-symmetric A (n, n): not element-wise, so the children's order in backward
    matters (a backward that forgets reversed() gets another gradient)."""

    def __init__(self, n):
        super().__init__()
        self.A = np.arange(1., n * n + 1).reshape(n, n) / (n * n) - np.eye(n) / 2

    def updateOutput(self, input):
        self.output = input @ self.A
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput @ self.A.T
        return self.gradInput

    def __repr__(self):
        return f"MatMul({len(self.A)})"


class RandomScale(_Double):
    """y = x * m with a fresh random m (n,) on every forward, like Dropout's mask: backward must use the m of
    the forward that made the output (a Sequential that runs forward again in backward gets another m). The
    draws come from its own generator, so a copy of the module draws the same sequence."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.rng = np.random.RandomState(n)
        self.m = None

    def updateOutput(self, input):
        self.m = self.rng.uniform(0.5, 2.0, size=self.n)
        self.output = input * self.m
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = gradOutput * self.m
        return self.gradInput

    def __repr__(self):
        return f"RandomScale({self.n})"
