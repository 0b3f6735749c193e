"""Students of the kit's release, written independently, and the disguises a copier uses (tests of grader/similarity).

    template = release_template(tmp)                    # the kit's release HW3_Modules.ipynb (as students get it)
    nb = student(template, seed=3)                      # one student: every stub filled with their own code
    copy = disguise(nb, "rename", seed=1)               # a copy as a student disguises it

Each stub of the release (``raise NotImplementedError('Linear.updateOutput')``) is filled with one of several
implementations written here in different styles (numpy calls or operators, einsum, loops, scipy, masks or
``np.where``, a Jacobian per sample...), each with choice points ``«a|b»`` (``np.dot(x, W.T)`` / ``x @ W.T`` /
``x.dot(W.T)``) drawn per student. Two students drawn with different seeds share a stub's code about one time in
three: harsher than real independent work, where whole methods rarely coincide character for character once
normalised, so a test that ranks copies above every such pair is meaningful. Conv2d, MaxPool2d and Flatten (the
advanced track) are left as stubs, as many students do. Comments vary per student.
"""
import ast
import io
import random
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

IMPLEMENTATIONS = {
    "Sequential.updateOutput": [
        "for module in self.modules:\n    input = module.forward(input)\nself.output = input",
        "out = input\nfor «i in range(len(self.modules))|i, _ in enumerate(self.modules)»:\n"
        "    out = self.modules[i].forward(out)\nself.output = out",
        "import functools\nself.output = functools.reduce(lambda x, m: m.forward(x), self.modules, input)",
        "y = input\nidx = 0\nwhile idx < len(self.modules):\n    y = self.modules[idx].forward(y)\n    idx += 1\n"
        "self.output = y",
    ],
    "Sequential.backward": [
        "inputs = []\nfor module in self.modules[:-1]:\n    inputs.append(module.output)\ninputs = [input] + inputs\n"
        "g = gradOutput\nfor module, x in zip(reversed(self.modules), reversed(inputs)):\n    g = module.backward(x, g)\n"
        "self.gradInput = g",
        "grad = gradOutput\nfor i in range(len(self.modules) - 1, 0, -1):\n"
        "    grad = self.modules[i].backward(self.modules[i - 1].output, grad)\n"
        "self.gradInput = self.modules[0].backward(input, grad)",
        "n = len(self.modules)\ng = gradOutput\nfor k in reversed(range(n)):\n"
        "    prev = input if k == 0 else self.modules[k - 1].output\n    g = self.modules[k].backward(prev, g)\n"
        "self.gradInput = g",
    ],
    "Linear.updateOutput": [
        "self.output = «np.dot(input, self.W.T)|input @ self.W.T|input.dot(self.W.T)» + self.b",
        "self.output = np.einsum('ni,oi->no', input, self.W) + self.b[None, :]",
        "out = np.matmul(input, self.W.transpose())\nout = out + self.b\nself.output = out",
    ],
    "Linear.updateGradInput": [
        "self.gradInput = «np.dot(gradOutput, self.W)|gradOutput @ self.W|gradOutput.dot(self.W)»",
        "self.gradInput = np.einsum('no,oi->ni', gradOutput, self.W)",
        "self.gradInput = (self.W.T @ gradOutput.T).T",
    ],
    "Linear.accGradParameters": [
        "self.gradW += «np.dot(gradOutput.T, input)|gradOutput.T @ input»\n"
        "self.gradb += «np.sum(gradOutput, axis=0)|gradOutput.sum(axis=0)»",
        "np.add(self.gradW, np.einsum('no,ni->oi', gradOutput, input), out=self.gradW)\n"
        "np.add(self.gradb, gradOutput.sum(0), out=self.gradb)",
        "for n in range(input.shape[0]):\n    self.gradW += np.outer(gradOutput[n], input[n])\n"
        "    self.gradb += gradOutput[n]",
    ],
    "SoftMax.updateOutput": [
        "shifted = input - input.max(axis=1, keepdims=True)\nexps = np.exp(shifted)\n"
        "self.output = exps / exps.sum(axis=1, keepdims=True)",
        "z = np.exp(np.subtract(input, np.max(input, axis=1)[:, None]))\nself.output = z / np.sum(z, axis=1)[:, None]",
        "from scipy.special import softmax\nself.output = softmax(input, axis=1)",
        "m = np.amax(input, axis=-1, keepdims=True)\ne = np.exp(input - m)\ns = np.sum(e, axis=-1, keepdims=True)\n"
        "self.output = e / s",
    ],
    "SoftMax.updateGradInput": [
        "s = self.output\nself.gradInput = s * (gradOutput - np.sum(gradOutput * s, axis=1, keepdims=True))",
        "dot = np.einsum('ij,ij->i', gradOutput, self.output)\nself.gradInput = self.output * (gradOutput - dot[:, None])",
        "self.gradInput = np.zeros_like(input)\nfor i in range(input.shape[0]):\n    p = self.output[i]\n"
        "    jac = np.diag(p) - np.outer(p, p)\n    self.gradInput[i] = jac @ gradOutput[i]",
    ],
    "LogSoftMax.updateOutput": [
        "shifted = input - input.max(axis=1, keepdims=True)\n"
        "self.output = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
        "from scipy.special import logsumexp\nself.output = input - logsumexp(input, axis=1, keepdims=True)",
        "mx = np.max(input, 1, keepdims=True)\nlse = mx + np.log(np.sum(np.exp(input - mx), 1, keepdims=True))\n"
        "self.output = input - lse",
    ],
    "LogSoftMax.updateGradInput": [
        "p = np.exp(self.output)\nself.gradInput = gradOutput - p * gradOutput.sum(axis=1, keepdims=True)",
        "softmax = np.exp(self.output)\ntotal = np.sum(gradOutput, axis=1)[:, np.newaxis]\n"
        "self.gradInput = gradOutput - softmax * total",
        "self.gradInput = np.empty_like(gradOutput)\nfor i, (g, o) in enumerate(zip(gradOutput, self.output)):\n"
        "    self.gradInput[i] = g - np.exp(o) * g.sum()",
    ],
    "BatchNormalization.updateOutput": [
        "if self.training:\n    mean = input.mean(axis=0)\n    var = input.var(axis=0)\n    if self.moving_mean is None:\n"
        "        self.moving_mean, self.moving_variance = mean, var\n    else:\n"
        "        self.moving_mean = self.moving_mean * self.alpha + mean * (1 - self.alpha)\n"
        "        self.moving_variance = self.moving_variance * self.alpha + var * (1 - self.alpha)\nelse:\n"
        "    mean, var = self.moving_mean, self.moving_variance\nself.output = (input - mean) / np.sqrt(var + self.EPS)",
        "if not self.training:\n    self.output = (input - self.moving_mean) / np.sqrt(self.moving_variance + self.EPS)\n"
        "    return self.output\nmu = np.mean(input, axis=0)\nsigma2 = np.mean((input - mu) ** 2, axis=0)\n"
        "self.xhat = (input - mu) / np.sqrt(sigma2 + self.EPS)\na = self.alpha if self.moving_mean is not None else 0.0\n"
        "self.moving_mean = a * (self.moving_mean if self.moving_mean is not None else 0) + (1 - a) * mu\n"
        "self.moving_variance = a * (self.moving_variance if self.moving_variance is not None else 0) + (1 - a) * sigma2\n"
        "self.output = self.xhat",
        "batch_mean = np.sum(input, axis=0) / input.shape[0]\ncentered = input - batch_mean\n"
        "batch_var = np.sum(centered * centered, axis=0) / input.shape[0]\nif self.training:\n"
        "    self.inv_std = 1.0 / np.sqrt(batch_var + self.EPS)\n    self.output = centered * self.inv_std\n"
        "    if self.moving_mean is None:\n        self.moving_mean = batch_mean.copy()\n"
        "        self.moving_variance = batch_var.copy()\n    else:\n"
        "        self.moving_mean = self.alpha * self.moving_mean + (1. - self.alpha) * batch_mean\n"
        "        self.moving_variance = self.alpha * self.moving_variance + (1. - self.alpha) * batch_var\nelse:\n"
        "    self.output = (input - self.moving_mean) / np.sqrt(self.moving_variance + self.EPS)",
    ],
    "BatchNormalization.updateGradInput": [
        "n = input.shape[0]\nmean = input.mean(axis=0)\nvar = input.var(axis=0)\nstd = np.sqrt(var + self.EPS)\n"
        "xhat = (input - mean) / std\n"
        "self.gradInput = (n * gradOutput - gradOutput.sum(axis=0) - xhat * (gradOutput * xhat).sum(axis=0)) / (n * std)",
        "N = len(input)\nmu = np.mean(input, 0)\nxc = input - mu\nivar = 1. / np.sqrt(np.mean(xc ** 2, 0) + self.EPS)\n"
        "dxhat = gradOutput * ivar\nself.gradInput = dxhat - np.mean(dxhat, 0) - xc * ivar ** 2 * np.mean(dxhat * xc, 0)",
        "m = input.shape[0]\nout = self.output\ng_mean = np.mean(gradOutput, axis=0, keepdims=True)\n"
        "go_mean = np.mean(gradOutput * out, axis=0, keepdims=True)\n"
        "inv = 1.0 / np.sqrt(np.var(input, axis=0, keepdims=True) + self.EPS)\n"
        "self.gradInput = inv * (gradOutput - g_mean - out * go_mean)",
    ],
    "ChannelwiseScaling.updateOutput": [
        "self.output = input * self.gamma + self.beta",
        "self.output = np.multiply(input, self.gamma[None, :]) + self.beta[None, :]",
        "self.output = self.gamma * input + self.beta",
    ],
    "ChannelwiseScaling.updateGradInput": [
        "self.gradInput = gradOutput * self.gamma",
        "self.gradInput = np.multiply(gradOutput, self.gamma)",
        "self.gradInput = self.gamma[np.newaxis] * gradOutput",
    ],
    "ChannelwiseScaling.accGradParameters": [
        "self.gradBeta += np.sum(gradOutput, axis=0)\nself.gradGamma += np.sum(gradOutput * input, axis=0)",
        "self.gradGamma += (input * gradOutput).sum(0)\nself.gradBeta += gradOutput.sum(0)",
        "np.add(self.gradGamma, np.einsum('ij,ij->j', gradOutput, input), out=self.gradGamma)\n"
        "np.add(self.gradBeta, gradOutput.sum(axis=0), out=self.gradBeta)",
    ],
    "Dropout.updateOutput": [
        "if self.training:\n    self.mask = (np.random.rand(*input.shape) > self.p) / (1 - self.p)\n"
        "    self.output = input * self.mask\nelse:\n    self.output = input",
        "if not self.training:\n    self.output = input\n    return self.output\nkeep = 1.0 - self.p\n"
        "self.mask = np.random.binomial(1, keep, size=input.shape) / keep\nself.output = np.multiply(input, self.mask)",
        "self.mask = np.ones_like(input)\nif self.training:\n"
        "    self.mask = np.where(np.random.uniform(size=input.shape) < self.p, 0.0, 1.0 / (1.0 - self.p))\n"
        "self.output = self.mask * input",
    ],
    "Dropout.updateGradInput": [
        "self.gradInput = gradOutput * self.mask if self.training else gradOutput",
        "if self.training:\n    self.gradInput = np.multiply(gradOutput, self.mask)\nelse:\n    self.gradInput = gradOutput",
        "self.gradInput = self.mask * gradOutput",
    ],
    "BatchMeanSubtraction.updateOutput": [
        "if self.training:\n    batch_mean = input.mean(axis=0)\n    if self.old_mean is None:\n"
        "        self.old_mean = batch_mean\n    else:\n"
        "        self.old_mean = self.old_mean * self.alpha + batch_mean * (1 - self.alpha)\n"
        "    self.output = input - batch_mean\nelse:\n    self.output = input - self.old_mean",
        "mu = np.mean(input, axis=0, keepdims=True)\nif not self.training:\n    mu = self.old_mean\n"
        "elif self.old_mean is None:\n    self.old_mean = mu\nelse:\n"
        "    self.old_mean = self.alpha * self.old_mean + (1 - self.alpha) * mu\nself.output = input - mu",
        "if self.training:\n    m = np.sum(input, axis=0) / len(input)\n"
        "    self.old_mean = m if self.old_mean is None else self.alpha * self.old_mean + (1. - self.alpha) * m\n"
        "    self.output = input - m[np.newaxis, :]\nelse:\n    self.output = input - self.old_mean[np.newaxis, :]",
    ],
    "BatchMeanSubtraction.updateGradInput": [
        "self.gradInput = gradOutput - gradOutput.mean(axis=0) if self.training else gradOutput",
        "if self.training:\n    self.gradInput = gradOutput - np.mean(gradOutput, axis=0, keepdims=True)\nelse:\n"
        "    self.gradInput = gradOutput.copy()",
        "n = input.shape[0]\nself.gradInput = gradOutput - (np.sum(gradOutput, axis=0) / n if self.training else 0)",
    ],
    "ReLU.updateOutput": ["self.output = np.maximum(input, 0)", "self.output = input * (input > 0)",
                          "self.output = np.where(input > 0, input, 0.0)", "self.output = input.clip(min=0)"],
    "ReLU.updateGradInput": ["self.gradInput = np.multiply(gradOutput, input > 0)",
                             "self.gradInput = gradOutput * (input > 0)",
                             "self.gradInput = np.where(input > 0, gradOutput, 0.0)"],
    "LeakyReLU.updateOutput": [
        "self.output = np.maximum(input, self.slope * input)",
        "self.output = np.where(input > 0, input, self.slope * input)",
        "self.output = input.copy()\nself.output[input < 0] *= self.slope",
    ],
    "LeakyReLU.updateGradInput": [
        "self.gradInput = gradOutput * np.where(input > 0, 1.0, self.slope)",
        "slope_mask = (input > 0) + self.slope * (input <= 0)\nself.gradInput = np.multiply(gradOutput, slope_mask)",
        "self.gradInput = gradOutput.copy()\nself.gradInput[input < 0] *= self.slope",
    ],
    "ELU.updateOutput": [
        "self.output = np.where(input > 0, input, self.alpha * (np.exp(input) - 1))",
        "neg = np.minimum(input, 0)\nself.output = np.maximum(input, 0) + self.alpha * np.expm1(neg)",
        "self.output = input.copy()\nmask = input <= 0\nself.output[mask] = self.alpha * (np.exp(input[mask]) - 1)",
    ],
    "ELU.updateGradInput": [
        "self.gradInput = gradOutput * np.where(input > 0, 1.0, self.alpha * np.exp(input))",
        "d = np.ones_like(input)\nneg = input <= 0\nd[neg] = self.alpha * np.exp(input[neg])\nself.gradInput = gradOutput * d",
        "self.gradInput = np.multiply(gradOutput, (input > 0) + (input <= 0) * (self.output + self.alpha))",
    ],
    "SoftPlus.updateOutput": [
        "self.output = np.logaddexp(0, input)",
        "self.output = np.maximum(input, 0) + np.log1p(np.exp(-np.abs(input)))",
        "self.output = np.log(1 + np.exp(input))",
    ],
    "SoftPlus.updateGradInput": [
        "self.gradInput = gradOutput / (1 + np.exp(-input))",
        "from scipy.special import expit\nself.gradInput = gradOutput * expit(input)",
        "sig = 0.5 * (1 + np.tanh(0.5 * input))\nself.gradInput = np.multiply(gradOutput, sig)",
    ],
    "Sigmoid.updateOutput": ["self.output = 1 / (1 + np.exp(-input))",
                             "from scipy.special import expit\nself.output = expit(input)",
                             "self.output = 0.5 * (np.tanh(input / 2) + 1)"],
    "Sigmoid.updateGradInput": ["self.gradInput = gradOutput * self.output * (1 - self.output)",
                                "s = self.output\nself.gradInput = np.multiply(gradOutput, s - s ** 2)",
                                "self.gradInput = gradOutput * (self.output - self.output * self.output)"],
    "Tanh.updateOutput": ["self.output = np.tanh(input)",
                          "e2 = np.exp(-2 * np.abs(input))\nself.output = np.sign(input) * (1 - e2) / (1 + e2)",
                          "self.output = 2 / (1 + np.exp(-2 * input)) - 1"],
    "Tanh.updateGradInput": ["self.gradInput = gradOutput * (1 - self.output ** 2)",
                             "self.gradInput = np.multiply(gradOutput, 1. - np.square(self.output))",
                             "self.gradInput = gradOutput * (1 - np.tanh(input) ** 2)"],
    "MSECriterion.updateOutput": [
        "self.output = np.sum((input - target) ** 2) / input.shape[0]",
        "diff = input - target\nself.output = np.sum(diff * diff) / len(input)",
        "self.output = np.mean(np.sum(np.square(input - target), axis=1))",
    ],
    "MSECriterion.updateGradInput": [
        "self.gradInput = 2 * (input - target) / input.shape[0]",
        "self.gradInput = (input - target) * 2 / len(input)",
        "n = input.shape[0]\nself.gradInput = np.subtract(input, target) * (2.0 / n)",
    ],
    "ClassNLLCriterion.updateOutput": [
        "p = np.clip(input, self.EPS, 1 - self.EPS)\nself.output = -np.sum(target * np.log(p)) / input.shape[0]",
        "clipped = np.maximum(input, self.EPS)\nself.output = -np.mean(np.sum(target * np.log(clipped), axis=1))",
        "probs = np.clip(input, 1e-15, 1.0)\n"
        "losses = [-np.log(probs[i, np.argmax(target[i])]) for i in range(len(target))]\n"
        "self.output = sum(losses) / len(losses)",
    ],
    "ClassNLLCriterion.updateGradInput": [
        "p = np.clip(input, self.EPS, 1 - self.EPS)\nself.gradInput = -target / p / input.shape[0]",
        "self.gradInput = -np.divide(target, np.maximum(input, self.EPS)) / len(input)",
        "n = input.shape[0]\nself.gradInput = np.where(target > 0, -1.0 / (np.clip(input, 1e-15, 1.0) * n), 0.0)",
    ],
    "ClassNLLLogCriterion.updateOutput": [
        "self.output = -np.sum(target * input) / input.shape[0]",
        "self.output = -np.mean(np.sum(input * target, axis=1))",
        "idx = np.argmax(target, axis=1)\nself.output = -input[np.arange(len(input)), idx].mean()",
    ],
    "ClassNLLLogCriterion.updateGradInput": [
        "self.gradInput = -target / input.shape[0]",
        "self.gradInput = np.negative(target) / len(input)",
        "self.gradInput = np.zeros_like(input)\nidx = np.argmax(target, axis=1)\n"
        "self.gradInput[np.arange(len(input)), idx] = -1.0 / len(input)",
    ],
    "adam_optimizer": [
        "state['t'] += 1\nlr, b1, b2, eps = config['learning_rate'], config['beta1'], config['beta2'], config['epsilon']\n"
        "lr_t = lr * np.sqrt(1 - b2 ** state['t']) / (1 - b1 ** state['t'])\nindex = 0\n"
        "for layer_vars, layer_grads in zip(variables, gradients):\n    for var, grad in zip(layer_vars, layer_grads):\n"
        "        m = state['m'].setdefault(index, np.zeros_like(grad))\n"
        "        v = state['v'].setdefault(index, np.zeros_like(grad))\n        np.add(b1 * m, (1 - b1) * grad, out=m)\n"
        "        np.add(b2 * v, (1 - b2) * grad * grad, out=v)\n        var -= lr_t * m / (np.sqrt(v) + eps)\n"
        "        index += 1",
        "t = state['t'] = state['t'] + 1\nms, vs = state['m'], state['v']\n"
        "flat = [(p, g) for ps, gs in zip(variables, gradients) for p, g in zip(ps, gs)]\n"
        "for i, (p, g) in enumerate(flat):\n    if i not in ms:\n        ms[i] = np.zeros_like(g)\n"
        "        vs[i] = np.zeros_like(g)\n    ms[i][...] = config['beta1'] * ms[i] + (1 - config['beta1']) * g\n"
        "    vs[i][...] = config['beta2'] * vs[i] + (1 - config['beta2']) * g ** 2\n"
        "    m_hat = ms[i] / (1 - config['beta1'] ** t)\n    v_hat = vs[i] / (1 - config['beta2'] ** t)\n"
        "    p -= config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])",
    ],
    # the differentiation notebook's answer functions
    "grad_xTx": ["return 2 * x", "return x + x", "return 2.0 * np.asarray(x, dtype=float)"],
    "grad_trAB_wrt_A": ["return B.T", "return np.transpose(B)", "return B.transpose().copy()"],
    "grad_xAc_wrt_x": ["return A @ c", "return np.dot(A, c)", "return np.einsum('nm,m->n', A, c)"],
    "grad_xAc_wrt_A": ["return np.outer(x, c)", "return x[:, None] * c[None, :]", "return np.einsum('n,m->nm', x, c)"],
    "grad_J_wrt_S_trace": ["return -2 * A.T @ X + 2 * A.T @ A @ S",
                           "return 2 * np.dot(A.T, np.dot(A, S) - X)",
                           "AtA = A.T.dot(A)\nreturn -2 * A.T.dot(X) + AtA.dot(S) + AtA.T.dot(S)"],
    "grad_J_wrt_S_elementwise": [
        "E = X - A @ S\nR, M = S.shape\nout = np.zeros((R, M))\nfor p in range(R):\n    for q in range(M):\n"
        "        out[p, q] = -2 * np.sum(A[:, p] * E[:, q])\nreturn out",
        "E = X - np.dot(A, S)\nreturn np.array([[-2 * (A[:, p] @ E[:, q]) for q in range(S.shape[1])] for p in range(S.shape[0])])",
        "err = X - A.dot(S)\nreturn -2 * np.einsum('ip,iq->pq', A, err)"],
    "grad_J_wrt_F": ["return -2 * (X - A @ S)", "return 2 * (np.dot(A, S) - X)", "F = A.dot(S)\nreturn 2.0 * (F - X)"],
    "jacobian_F_wrt_S": ["return np.kron(A, np.eye(M))", "N, R = A.shape\nJ = np.zeros((N * M, R * M))\n"
                         "for i in range(N):\n    for r in range(R):\n        J[i * M:(i + 1) * M, r * M:(r + 1) * M] = A[i, r] * np.eye(M)\n"
                         "return J", "return np.einsum('ir,mq->imrq', A, np.eye(M)).reshape(A.shape[0] * M, A.shape[1] * M)"],
    "grad_J_wrt_S_chain": ["g = grad_J_wrt_F(X, A, S).reshape(-1)\nJ = jacobian_F_wrt_S(A, S.shape[1])\nreturn (g @ J).reshape(S.shape)",
                           "return np.dot(grad_J_wrt_F(X, A, S).ravel(), jacobian_F_wrt_S(A, S.shape[1])).reshape(S.shape)"],
    "linear_backward": ["return G @ W, G.T @ X, G.sum(axis=0)", "return np.dot(G, W), np.dot(G.T, X), np.sum(G, axis=0)",
                        "gi = np.einsum('no,oi->ni', G, W)\ngw = np.einsum('no,ni->oi', G, X)\nreturn gi, gw, G.sum(0)"],
    "softmax_backward": ["e = np.exp(X - X.max(axis=1, keepdims=True))\ns = e / e.sum(axis=1, keepdims=True)\n"
                         "return s * (G - (G * s).sum(axis=1, keepdims=True))",
                         "from scipy.special import softmax\ns = softmax(X, axis=1)\nreturn s * G - s * np.sum(s * G, axis=1)[:, None]"],
    "nll_backward": ["return -T / P / P.shape[0]", "return -np.divide(T, P) / len(P)", "n = P.shape[0]\nreturn np.where(T > 0, -T / (P * n), 0.0)"],
    "batch_mean_subtraction_backward": ["return G - G.mean(axis=0)", "return G - np.mean(G, axis=0, keepdims=True)",
                                        "n = G.shape[0]\nreturn G - np.sum(G, axis=0) / n"],
    "elu_backward": ["return G * np.where(X > 0, 1.0, alpha * np.exp(X))",
                     "d = np.ones_like(X)\nneg = X <= 0\nd[neg] = alpha * np.exp(X[neg])\nreturn G * d"],
    "softplus_backward": ["return G / (1 + np.exp(-X))", "from scipy.special import expit\nreturn G * expit(X)",
                          "return G * 0.5 * (1 + np.tanh(X / 2))"],
}

COMMENTS = ["# my code", "# forward pass", "# TODO check shapes", "# computed as in the lecture", "# vectorised",
            "# numerically stable version", "# see the formula above", "# gradient w.r.t. input", "# done"]
STUB = re.compile(r"^(?P<indent>[ \t]*)raise NotImplementedError\('(?P<name>[^']+)'\)[ \t]*$", re.MULTILINE)
CHOICE = re.compile(r"«([^»]*)»")


def release_template(folder, notebook="HW3_Modules.ipynb"):
    """The kit's release of `notebook` (written by ``python -m grader release``) under `folder`, read."""
    folder = Path(folder)
    if not (folder / notebook).exists():
        subprocess.run([sys.executable, "-m", "grader", "release", str(folder)], cwd=ROOT, check=True,
                       capture_output=True, timeout=600)
    return nbformat.read(str(folder / notebook), as_version=4)


def _render(code, rng):
    return CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), code)


def student(template, seed, choose=None):
    """A student's notebook: every stub of `template` that IMPLEMENTATIONS covers filled with one of its
    implementations (drawn with `seed`, or `choose[name]` = index), a comment here and there."""
    rng = random.Random(seed)
    nb = nbformat.reads(nbformat.writes(template), as_version=4)

    def fill(match):
        name, indent = match.group("name"), match.group("indent")
        options = IMPLEMENTATIONS.get(name)
        if not options:
            return match.group(0)
        pick = (choose or {}).get(name, rng.randrange(len(options)))
        body = _render(options[pick], rng)
        if rng.random() < 0.3:
            body = rng.choice(COMMENTS) + "\n" + body
        return "\n".join(indent + line if line else line for line in body.splitlines())

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = STUB.sub(fill, cell.source)
    return nb


# ---------------------------------------------------------------------------------------------- disguises

def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _given_names(template):
    """Every name the template's code uses (its API: classes, methods, attributes, parameters)."""
    names = set()
    for cell in _code_cells(template):
        for tok in tokenize.generate_tokens(io.StringIO(cell.source).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
    return names


def rename_identifiers(nb, template, rng):
    """Every name the student introduced (locals, their own attributes) renamed, consistently in the notebook."""
    given = _given_names(template) | {"np", "self", "scipy", "functools"}
    chosen = set()
    for cell in _code_cells(nb):
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                chosen.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                chosen.add(node.attr)
    chosen -= given
    mapping = {name: f"{rng.choice(['tmp', 'val', 'buf', 'res', 'z'])}_{i}" for i, name in enumerate(sorted(chosen))}
    for cell in _code_cells(nb):
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(cell.source).readline):
            if tok.type == tokenize.NAME and tok.string in mapping:
                tok = tok._replace(string=mapping[tok.string])
            out.append(tok)
        cell.source = tokenize.untokenize(out)
    return nb


def reorder(nb, rng):
    """Code cells shuffled (markdown stays), and the methods of every class shuffled."""
    cells = _code_cells(nb)
    sources = [c.source for c in cells]
    rng.shuffle(sources)
    for cell, source in zip(cells, sources):
        chunks = re.split(r"(?m)^(?=    def )", source)
        head, methods = chunks[0], chunks[1:]
        rng.shuffle(methods)
        methods = [m if m.endswith("\n") else m + "\n" for m in methods]
        cell.source = head + "".join(methods)
    return nb


def rewrite_comments(nb, rng):
    """Every comment removed; new ones written on some lines."""
    for cell in _code_cells(nb):
        toks = [t for t in tokenize.generate_tokens(io.StringIO(cell.source).readline) if t.type != tokenize.COMMENT]
        lines = tokenize.untokenize(toks).splitlines()
        out = []
        for line in lines:
            if line.strip() and rng.random() < 0.15:
                out.append(line[:len(line) - len(line.lstrip())] + rng.choice(["# here we go", "# important!",
                                                                              "# as explained in class"]))
            out.append(line.rstrip())
        cell.source = "\n".join(out)
    return nb


AUG = re.compile(r"(?m)^(?P<i>[ \t]*)(?P<t>[\w.\[\]]+) (?P<op>[-+*/]) ?= (?P<v>.+)$")
LONG = re.compile(r"(?m)^(?P<i>[ \t]*)(?P<t>[\w.\[\]]+) = (?P=t) (?P<op>[-+*/]) (?P<v>.+)$")


def swap_augmented(nb, rng):
    """`x = x + y` -> `x += y` and `x += y` -> `x = x + y`."""
    for cell in _code_cells(nb):
        src = LONG.sub(lambda m: f"{m['i']}{m['t']} {m['op']}= {m['v']}", cell.source)
        if src == cell.source:
            src = AUG.sub(lambda m: f"{m['i']}{m['t']} = {m['t']} {m['op']} {m['v']}", cell.source)
        cell.source = src
    return nb


LOOP = re.compile(r"(?m)^(?P<i>[ \t]*)(?P<n>\w+) = \[\]\n(?P=i)for (?P<x>.+?) in (?P<it>.+):\n(?P=i)    (?P=n)\.append\((?P<e>.+)\)$")


def loop_to_comprehension(nb, rng):
    """`out = []` + `for x in xs: out.append(f(x))` -> `out = [f(x) for x in xs]`."""
    for cell in _code_cells(nb):
        cell.source = LOOP.sub(lambda m: f"{m['i']}{m['n']} = [{m['e']} for {m['x']} in {m['it']}]", cell.source)
    return nb


def light_edit(nb, rng):
    """Small edits a copier makes: one line changed in a few methods (a constant written another way)."""
    for cell in _code_cells(nb):
        cell.source = cell.source.replace("axis=0", "axis=(0)", 1).replace("1 - self.p", "1.0 - self.p", 1)
    return nb


DISGUISES = {"rename": lambda nb, t, r: rename_identifiers(nb, t, r), "reorder": lambda nb, t, r: reorder(nb, r),
             "comments": lambda nb, t, r: rewrite_comments(nb, r), "augmented": lambda nb, t, r: swap_augmented(nb, r),
             "comprehension": lambda nb, t, r: loop_to_comprehension(nb, r), "edit": lambda nb, t, r: light_edit(nb, r)}


def disguise(nb, template, kinds, seed):
    """A copy of `nb` with the named disguises (keys of DISGUISES) applied in order."""
    rng = random.Random(seed)
    copy = nbformat.reads(nbformat.writes(nb), as_version=4)
    for kind in kinds:
        copy = DISGUISES[kind](copy, template, rng)
    return copy


def write(folder, nb, differentiation=None):
    """A student's folder: `nb` as HW3_Modules.ipynb (and `differentiation` as HW3_differentiation.ipynb)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / "HW3_Modules.ipynb"))
    if differentiation is not None:
        nbformat.write(differentiation, str(folder / "HW3_differentiation.ipynb"))
    return folder
