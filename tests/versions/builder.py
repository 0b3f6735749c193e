"""Correct HW3_Modules.ipynb submissions written against each version of the assignment, and single-bug variants.

``notebook(version)`` returns a submission as a student of that version would hand it in: the version's
class names, constructor signatures, base class (a 2017 ``Module`` has a ``training`` attribute that
shadows its ``training()`` method and no ``train()``), Sequential API, criterion names, Dropout
meaning, accumulate-or-assign, the Conv2d cell's imports, and the version's distinctive headings.
The implementations are our own (independent of the kit's reference). ``BUGS`` lists one-line bugs,
each of which must cost exactly its own module.

The versions (see ../../../shared/templates.md and /work/wt/templates-notes.md for the conventions):

* ``2017``: the seed's course (homework_modules.ipynb of 2017): Linear, SoftMax, BatchMeanSubtraction,
  Dropout (p keeps a unit, no rescaling), LeakyReLU, ELU, SoftPlus, ClassNLLCriterion on probabilities.
* ``2018``: + LogSoftMax, BatchNormalization, ChannelwiseScaling (given), ClassNLLCriterionUnstable on
  probabilities and ClassNLLCriterion on log-probabilities; BatchMeanSubtraction removed; gradients assigned.
* ``2019-21``: + train(), sgd_momentum (given) and adam_optimizer, Conv2d(in, out, k) "same" padding with
  scipy.signal/skimage imported, MaxPool2d(k), Flatten() (given).
* ``derivative``: the 2019-21 text with PyTorch-style Conv2d(in, out, kernel_size, stride=1, padding=0),
  MaxPool2d(kernel_size, stride=None, padding=0), Flatten(start_dim=1); textbook Adam (eps after the
  bias-corrected square root).
* ``kit``: this kit's release: every module, dtype= parameters, float32 kept, += accumulation,
  Sequential(*modules) with remove/__len__, ClassNLLLogCriterion, Sigmoid, Tanh.
"""
import textwrap
from dataclasses import dataclass

import nbformat

VERSIONS = ("2017", "2018", "2019-21", "derivative", "kit")


@dataclass(frozen=True)
class Conventions:
    mode: str                  # "training" (2017/2018: a shadowed method) or "train"
    modules: tuple             # class/function names the version asks for, in notebook order
    accumulate: bool           # accGradParameters adds (+=) or assigns
    dropout_keeps_p: bool      # 2017: p is the probability to keep a unit, no rescaling
    probability_nll: str       # class name of the criterion on probabilities
    log_nll: str = ""          # class name of the criterion on log-probabilities ("" if none)
    conv: str = ""             # "", "course", "torch" or "kit"
    keep_dtype: bool = False   # outputs keep a float32 input's dtype (the kit asks for it)
    dtype_param: bool = False  # Linear/ChannelwiseScaling/Conv2d take dtype=
    adam_textbook: bool = False


BASIC_2017 = ("Linear", "SoftMax", "BatchMeanSubtraction", "Dropout", "ReLU", "LeakyReLU", "ELU", "SoftPlus",
              "Criterion", "MSECriterion", "ClassNLLCriterion")
BASIC_2018 = ("Linear", "SoftMax", "LogSoftMax", "BatchNormalization", "ChannelwiseScaling", "Dropout", "ReLU",
              "LeakyReLU", "ELU", "SoftPlus", "Criterion", "MSECriterion", "ClassNLLCriterionUnstable",
              "ClassNLLCriterion")
ADVANCED = ("sgd_momentum", "adam_optimizer", "Conv2d", "MaxPool2d", "Flatten")
KIT = ("Linear", "SoftMax", "LogSoftMax", "BatchNormalization", "ChannelwiseScaling", "Dropout",
       "BatchMeanSubtraction", "ReLU", "LeakyReLU", "ELU", "SoftPlus", "Sigmoid", "Tanh", "Flatten", "Conv2d",
       "MaxPool2d", "Criterion", "MSECriterion", "ClassNLLCriterion", "ClassNLLLogCriterion", "sgd_momentum",
       "adam_optimizer")

CONVENTIONS = {
    "2017": Conventions("training", BASIC_2017, True, True, "ClassNLLCriterion"),
    "2018": Conventions("training", BASIC_2018, False, False, "ClassNLLCriterionUnstable", "ClassNLLCriterion"),
    "2019-21": Conventions("train", BASIC_2018 + ADVANCED, False, False, "ClassNLLCriterionUnstable",
                           "ClassNLLCriterion", conv="course"),
    "derivative": Conventions("train", BASIC_2018 + ADVANCED, False, False, "ClassNLLCriterionUnstable",
                              "ClassNLLCriterion", conv="torch", adam_textbook=True),
    "kit": Conventions("train", KIT, True, False, "ClassNLLCriterion", "ClassNLLLogCriterion", conv="kit",
                       keep_dtype=True, dtype_param=True),
}

# Markdown that the version's text has (headings and phrases a reader recognises it by), in our words otherwise.
TITLES = {
    "2017": "**Module** is an abstract class which defines fundamental methods necessary for a training a neural "
            "network. My solutions of the modules homework.",
    "2018": "**Module** is an abstract class which defines fundamental methods necessary for a training a neural "
            "network. My solutions, version with LogSoftMax and batch normalization.",
    "2019-21": "**Module** is an abstract class which defines fundamental methods necessary for a training a neural "
               "network. My solutions, including the optimizers and the advanced track.",
    "derivative": "**Module** is an abstract class which defines fundamental methods necessary for a training a "
                  "neural network. Solutions; Conv2d and MaxPool2d take stride and padding as in PyTorch.",
    "kit": "# HW3 Modules: a Torch-style neural-network framework in numpy\n\nMy solutions of the kit's release.",
}
HEADINGS = {
    "2017": {"Linear": "# Layers\n- input:   **`batch_size x n_feats1`**\n- output: **`batch_size x n_feats2`**",
             "SoftMax": "SoftMax: the hardest one, but only a few lines.",
             "BatchMeanSubtraction": "Batch normalization, the mean subtraction part: smoothed mean over batches, "
                                     "`mean_to_subtract = self.old_mean * alpha + batch_mean * (1 - alpha)`; "
                                     "alpha = 1 when evaluating.",
             "Dropout": "Implement dropout: multiply the input by a $Bernoulli(p)$ mask in training, identity "
                        "when testing.",
             "ReLU": "# Activation functions", "Criterion": "# Criterions",
             "ClassNLLCriterion": "ClassNLLCriterion: multiclass log loss on probabilities, one-hot targets."},
    "2018": {"Linear": "## 1. Linear transform layer", "SoftMax": "## 2. SoftMax", "LogSoftMax": "## 3. LogSoftMax",
             "BatchNormalization": "## 4. Batch normalization", "Dropout": "## 5. Dropout\nHere $p$ is probability "
             "of an element to be zeroed; kept ones are multiplied by $1 / (1 - p)$.",
             "LeakyReLU": "## 6. Leaky ReLU", "ELU": "## 7. ELU", "SoftPlus": "## 8. SoftPlus",
             "Criterion": "# Criterions",
             "ClassNLLCriterionUnstable": "## 9. Negative LogLikelihood criterion (numerically unstable)",
             "ClassNLLCriterion": "## 10. Negative LogLikelihood criterion (numerically stable)"},
}
HEADINGS["2019-21"] = dict(HEADINGS["2018"], sgd_momentum="# Optimizers\n### SGD optimizer with momentum",
                           adam_optimizer="## 11. [Adam](https://arxiv.org/pdf/1412.6980.pdf) optimizer",
                           Conv2d="# Layers for advanced track homework\n## 12. Conv2d [Advanced]",
                           MaxPool2d="## 13. MaxPool2d [Advanced]", Flatten="### Flatten layer")
HEADINGS["2019-21"]["Dropout"] = ("## 5. Dropout\nMultiply the input by a $Bernoulli(1 - p)$ mask: $p$ is the "
                                  "probability of an element to be zeroed; scale kept ones by $1 / (1 - p)$.")
HEADINGS["derivative"] = dict(HEADINGS["2019-21"], Conv2d="# Layers for advanced track homework\n## 12. Conv2d "
                              "[Advanced]\nLike PyTorch's `Conv2d(in_channels, out_channels, kernel_size, stride, "
                              "padding)`.", MaxPool2d="## 13. MaxPool2d [Advanced]\nLike PyTorch's "
                              "`MaxPool2d(kernel_size, stride, padding)`.", Flatten="### Flatten layer\n"
                              "`Flatten(start_dim)` as in PyTorch.")
HEADINGS["kit"] = {name: f"### `{name}`" for name in KIT}


def _code(text):
    return textwrap.dedent(text).strip("\n") + "\n"


# ---------------------------------------------------------------------------------------------- base classes

def module_cell(c):
    if c.mode == "training":   # 2017/2018: the method is shadowed by the attribute, as in the template
        mode = ("    def training(self):\n"
                "        # shadowed by the attribute set in __init__ (as in the template): set .training instead\n"
                "        self.training = True\n")
    else:
        mode = "    def train(self):\n        self.training = True\n"
    return _code('''
        class Module(object):
            """A layer: forward -> updateOutput, backward -> updateGradInput + accGradParameters."""
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

            def updateOutput(self, input):
                pass

            def updateGradInput(self, input, gradOutput):
                pass

            def accGradParameters(self, input, gradOutput):
                pass

            def zeroGradParameters(self):
                pass

            def getParameters(self):
                return []

            def getGradParameters(self):
                return []
    ''') + "\n" + mode + "\n    def evaluate(self):\n        self.training = False\n\n" \
        "    def __repr__(self):\n        return \"Module\"\n"


def sequential_cell(c, version):
    kit = version == "kit"
    init = ("    def __init__(self, *modules):\n        super(Sequential, self).__init__()\n"
            "        self.modules = list(modules)\n") if kit else \
           ("    def __init__(self):\n        super(Sequential, self).__init__()\n        self.modules = []\n")
    add = ("    def add(self, module):\n        self.modules.append(module)\n        return self\n\n"
           "    def remove(self, index):\n        return self.modules.pop(index)\n\n"
           "    def __len__(self):\n        return len(self.modules)\n") if kit else \
          ("    def add(self, module):\n        self.modules.append(module)\n")
    body = _code('''
            def updateOutput(self, input):
                """
                Forward: y_0 = module[0].forward(input), y_1 = module[1].forward(y_0), ...

                !!!
                  each module gets, in backward, the very input it saw in forward
                !!!
                """
                y = input
                for module in self.modules:
                    y = module.forward(y)
                self.output = y
                return self.output

            def backward(self, input, gradOutput):
                g = gradOutput
                inputs = [input] + [module.output for module in self.modules[:-1]]
                for module, seen in reversed(list(zip(self.modules, inputs))):
                    g = module.backward(seen, g)
                self.gradInput = g
                return self.gradInput

            def zeroGradParameters(self):
                for module in self.modules:
                    module.zeroGradParameters()

            def getParameters(self):
                return [x.getParameters() for x in self.modules]

            def getGradParameters(self):
                return [x.getGradParameters() for x in self.modules]

            def __repr__(self):
                return "".join(str(x) + "\\n" for x in self.modules)

            def __getitem__(self, x):
                return self.modules[x]
    ''')
    body = "\n".join("    " + line if line else line for line in body.splitlines()) + "\n"
    if version == "2017":
        modes = ""                              # the 2017 container has no mode methods of its own
    elif c.mode == "training":                  # 2018: training() is shadowed; evaluate() propagates
        modes = ("\n    def evaluate(self):\n        self.training = False\n        for module in self.modules:\n"
                 "            module.evaluate()\n")
    else:
        modes = ("\n    def train(self):\n        self.training = True\n        for module in self.modules:\n"
                 "            module.train()\n\n    def evaluate(self):\n        self.training = False\n"
                 "        for module in self.modules:\n            module.evaluate()\n")
    return "class Sequential(Module):\n" + init + "\n" + add + "\n" + body + modes


# ------------------------------------------------------------------------------------------------- layers

def _keep(c, expr, like="input"):
    """`expr` cast to the dtype of `like` when the version asks float32 to stay float32."""
    return f"({expr}).astype({like}.dtype, copy=False)" if c.keep_dtype else expr


def _acc(c):
    return "+=" if c.accumulate else "="


def linear_cell(c):
    dtype = ", dtype=np.float64" if c.dtype_param else ""
    cast = ".astype(dtype)" if c.dtype_param else ""
    return _code(f'''
        class Linear(Module):
            def __init__(self, n_in, n_out{dtype}):
                super(Linear, self).__init__()
                bound = 1. / np.sqrt(n_in)
                self.W = np.random.uniform(-bound, bound, size=(n_out, n_in)){cast}
                self.b = np.random.uniform(-bound, bound, size=n_out){cast}
                self.gradW = np.zeros_like(self.W)
                self.gradb = np.zeros_like(self.b)

            def updateOutput(self, input):
                self.output = {_keep(c, "np.dot(input, self.W.T) + self.b")}
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = {_keep(c, "np.dot(gradOutput, self.W)", "gradOutput")}
                return self.gradInput

            def accGradParameters(self, input, gradOutput):
                self.gradW {_acc(c)} np.dot(gradOutput.T, input)
                self.gradb {_acc(c)} np.sum(gradOutput, axis=0)

            def zeroGradParameters(self):
                self.gradW.fill(0)
                self.gradb.fill(0)

            def getParameters(self):
                return [self.W, self.b]

            def getGradParameters(self):
                return [self.gradW, self.gradb]

            def __repr__(self):
                return "Linear %d -> %d" % (self.W.shape[1], self.W.shape[0])
    ''')


def softmax_cell(c):
    return _code(f'''
        class SoftMax(Module):
            def __init__(self):
                super(SoftMax, self).__init__()

            def updateOutput(self, input):
                shifted = input - input.max(axis=1, keepdims=True)
                e = np.exp(shifted)
                self.output = e / e.sum(axis=1, keepdims=True)
                return self.output

            def updateGradInput(self, input, gradOutput):
                s = self.output
                self.gradInput = s * (gradOutput - np.sum(gradOutput * s, axis=1, keepdims=True))
                return self.gradInput

            def __repr__(self):
                return "SoftMax"
    ''')


def logsoftmax_cell(c):
    return _code('''
        class LogSoftMax(Module):
            def __init__(self):
                super(LogSoftMax, self).__init__()

            def updateOutput(self, input):
                shifted = input - input.max(axis=1, keepdims=True)
                self.output = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
                return self.output

            def updateGradInput(self, input, gradOutput):
                p = np.exp(self.output)
                self.gradInput = gradOutput - p * np.sum(gradOutput, axis=1, keepdims=True)
                return self.gradInput

            def __repr__(self):
                return "LogSoftMax"
    ''')


def batchnorm_cell(c, version):
    # 2018-21: running statistics start at zeros/ones (as PyTorch's, which the course's own test sets);
    # the kit: the first training batch starts them.
    start = ("self.moving_mean = mean\n" + " " * 24 + "self.moving_variance = var"
             if version == "kit" else
             "self.moving_mean = np.zeros_like(mean)\n" + " " * 24 + "self.moving_variance = np.ones_like(var)")
    return _code(f'''
        class BatchNormalization(Module):
            EPS = 1e-3

            def __init__(self, alpha=0.):
                super(BatchNormalization, self).__init__()
                self.alpha = alpha
                self.moving_mean = None
                self.moving_variance = None

            def updateOutput(self, input):
                if self.training:
                    mean = input.mean(axis=0)
                    var = input.var(axis=0)
                    if self.moving_mean is None:
                        {start}
                    self.moving_mean = self.moving_mean * self.alpha + mean * (1 - self.alpha)
                    self.moving_variance = self.moving_variance * self.alpha + var * (1 - self.alpha)
                else:
                    mean, var = self.moving_mean, self.moving_variance
                self.inv_std = 1. / np.sqrt(var + self.EPS)
                self.normed = (input - mean) * self.inv_std
                self.output = {_keep(c, "self.normed")}
                return self.output

            def updateGradInput(self, input, gradOutput):
                if self.training:
                    g_mean = gradOutput.mean(axis=0)
                    gx_mean = (gradOutput * self.normed).mean(axis=0)
                    grad = self.inv_std * (gradOutput - g_mean - self.normed * gx_mean)
                else:
                    grad = gradOutput * self.inv_std
                self.gradInput = {_keep(c, "grad", "gradOutput")}
                return self.gradInput

            def __repr__(self):
                return "BatchNormalization"
    ''')


def scaling_cell(c):
    dtype = ", dtype=np.float64" if c.dtype_param else ""
    cast = ".astype(dtype)" if c.dtype_param else ""
    return _code(f'''
        class ChannelwiseScaling(Module):
            """y = gamma * x + beta, gamma and beta learnable vectors of length x.shape[-1]."""
            def __init__(self, n_out{dtype}):
                super(ChannelwiseScaling, self).__init__()
                bound = 1. / np.sqrt(n_out)
                self.gamma = np.random.uniform(-bound, bound, size=n_out){cast}
                self.beta = np.random.uniform(-bound, bound, size=n_out){cast}
                self.gradGamma = np.zeros_like(self.gamma)
                self.gradBeta = np.zeros_like(self.beta)

            def updateOutput(self, input):
                self.output = {_keep(c, "input * self.gamma + self.beta")}
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = {_keep(c, "gradOutput * self.gamma", "gradOutput")}
                return self.gradInput

            def accGradParameters(self, input, gradOutput):
                self.gradBeta {_acc(c)} np.sum(gradOutput, axis=0)
                self.gradGamma {_acc(c)} np.sum(gradOutput * input, axis=0)

            def zeroGradParameters(self):
                self.gradGamma.fill(0)
                self.gradBeta.fill(0)

            def getParameters(self):
                return [self.gamma, self.beta]

            def getGradParameters(self):
                return [self.gradGamma, self.gradBeta]

            def __repr__(self):
                return "ChannelwiseScaling"
    ''')


def dropout_cell(c):
    if c.dropout_keeps_p:      # 2017: "multiply the input by Bernoulli(p) mask", no rescaling
        mask = "self.mask = (np.random.uniform(size=input.shape) < self.p).astype(input.dtype)"
    else:
        mask = ("self.mask = (np.random.uniform(size=input.shape) >= self.p).astype(input.dtype) "
                "/ input.dtype.type(1 - self.p)")
    return _code(f'''
        class Dropout(Module):
            def __init__(self, p=0.5):
                super(Dropout, self).__init__()
                self.p = p
                self.mask = None

            def updateOutput(self, input):
                if self.training:
                    {mask}
                    self.output = input * self.mask
                else:
                    self.output = input
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = gradOutput * self.mask if self.training else gradOutput
                return self.gradInput

            def __repr__(self):
                return "Dropout"
    ''')


def bms_cell(c):
    return _code(f'''
        class BatchMeanSubtraction(Module):
            def __init__(self, alpha=0.):
                super(BatchMeanSubtraction, self).__init__()
                self.alpha = alpha
                self.old_mean = None

            def updateOutput(self, input):
                if self.training:
                    batch_mean = input.mean(axis=0)
                    if self.old_mean is None:        # nothing to smooth yet: the first batch's mean
                        self.weight = 1.
                        self.old_mean = batch_mean
                    else:
                        self.weight = 1. - self.alpha
                        self.old_mean = self.old_mean * self.alpha + batch_mean * (1 - self.alpha)
                self.output = {_keep(c, "input - self.old_mean")}
                return self.output

            def updateGradInput(self, input, gradOutput):
                if self.training:
                    self.gradInput = gradOutput - self.weight * gradOutput.mean(axis=0)
                else:
                    self.gradInput = gradOutput.copy()
                return self.gradInput

            def __repr__(self):
                return "BatchMeanNormalization"
    ''')


def activation_cells(c):
    k = lambda expr: _keep(c, expr)          # noqa: E731
    kg = lambda expr: _keep(c, expr, "gradOutput")  # noqa: E731
    return {
        "ReLU": _code(f'''
            class ReLU(Module):
                def __init__(self):
                    super(ReLU, self).__init__()

                def updateOutput(self, input):
                    self.output = np.maximum(input, 0)
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = np.multiply(gradOutput, input > 0)
                    return self.gradInput

                def __repr__(self):
                    return "ReLU"
        '''),
        "LeakyReLU": _code(f'''
            class LeakyReLU(Module):
                def __init__(self, slope=0.03):
                    super(LeakyReLU, self).__init__()
                    self.slope = slope

                def updateOutput(self, input):
                    self.output = {k("np.where(input > 0, input, input * self.slope)")}
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = {kg("np.where(input > 0, gradOutput, gradOutput * self.slope)")}
                    return self.gradInput

                def __repr__(self):
                    return "LeakyReLU"
        '''),
        "ELU": _code(f'''
            class ELU(Module):
                def __init__(self, alpha=1.0):
                    super(ELU, self).__init__()
                    self.alpha = alpha

                def updateOutput(self, input):
                    negative = np.minimum(input, 0)          # exp never sees a large positive input
                    self.output = {k("np.where(input > 0, input, self.alpha * np.expm1(negative))")}
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    negative = np.minimum(input, 0)
                    self.gradInput = {kg("np.where(input > 0, gradOutput, gradOutput * self.alpha * np.exp(negative))")}
                    return self.gradInput

                def __repr__(self):
                    return "ELU"
        '''),
        "SoftPlus": _code(f'''
            class SoftPlus(Module):
                def __init__(self):
                    super(SoftPlus, self).__init__()

                def updateOutput(self, input):
                    self.output = {k("np.logaddexp(0, input)")}
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    sigma = np.exp(-np.logaddexp(0, -input))
                    self.gradInput = {kg("gradOutput * sigma")}
                    return self.gradInput

                def __repr__(self):
                    return "SoftPlus"
        '''),
        "Sigmoid": _code(f'''
            class Sigmoid(Module):
                def updateOutput(self, input):
                    self.output = {k("np.exp(-np.logaddexp(0, -input))")}
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = {kg("gradOutput * self.output * (1 - self.output)")}
                    return self.gradInput
        '''),
        "Tanh": _code(f'''
            class Tanh(Module):
                def updateOutput(self, input):
                    self.output = np.tanh(input)
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = {kg("gradOutput * (1 - self.output ** 2)")}
                    return self.gradInput
        '''),
    }


# ----------------------------------------------------------------------------------------------- criteria

CRITERION = _code('''
    class Criterion(object):
        def __init__(self):
            self.output = None
            self.gradInput = None

        def forward(self, input, target):
            return self.updateOutput(input, target)

        def backward(self, input, target):
            return self.updateGradInput(input, target)

        def updateOutput(self, input, target):
            return self.output

        def updateGradInput(self, input, target):
            return self.gradInput

        def __repr__(self):
            return "Criterion"
''')

MSE = _code('''
    class MSECriterion(Criterion):
        def __init__(self):
            super(MSECriterion, self).__init__()

        def updateOutput(self, input, target):
            self.output = np.sum((input - target) ** 2) / input.shape[0]
            return self.output

        def updateGradInput(self, input, target):
            self.gradInput = (input - target) * (2. / input.shape[0])
            return self.gradInput

        def __repr__(self):
            return "MSECriterion"
''')


def probability_nll_cell(name):
    return _code(f'''
        class {name}(Criterion):
            EPS = 1e-15

            def __init__(self):
                super({name}, self).__init__()

            def updateOutput(self, input, target):
                clipped = np.clip(input, self.EPS, 1 - self.EPS)
                self.output = -np.sum(target * np.log(clipped)) / input.shape[0]
                return self.output

            def updateGradInput(self, input, target):
                clipped = np.clip(input, self.EPS, 1 - self.EPS)
                self.gradInput = -target / clipped / input.shape[0]
                return self.gradInput

            def __repr__(self):
                return "{name}"
    ''')


def log_nll_cell(name):
    return _code(f'''
        class {name}(Criterion):
            def __init__(self):
                super({name}, self).__init__()

            def updateOutput(self, input, target):
                self.output = -np.sum(target * input) / input.shape[0]
                return self.output

            def updateGradInput(self, input, target):
                self.gradInput = -target / input.shape[0]
                return self.gradInput

            def __repr__(self):
                return "{name}"
    ''')


# --------------------------------------------------------------------------------------------- optimizers

SGD = _code('''
    def sgd_momentum(variables, gradients, config, state):
        state.setdefault('accumulated_grads', {})
        index = 0
        for layer_vars, layer_grads in zip(variables, gradients):
            for var, grad in zip(layer_vars, layer_grads):
                velocity = state['accumulated_grads'].setdefault(index, np.zeros_like(grad))
                np.add(config['momentum'] * velocity, config['learning_rate'] * grad, out=velocity)
                var -= velocity
                index += 1
''')


def adam_cell(c):
    if c.adam_textbook:        # lr * m_hat / (sqrt(v_hat) + eps), as in the paper and PyTorch
        step = ("m_hat = m / (1 - beta1 ** t)\n" + " " * 20 + "v_hat = v / (1 - beta2 ** t)\n" + " " * 20 +
                "var -= config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])")
    else:                      # the template's formula: lr_t * m / (sqrt(v) + eps)
        step = "var -= lr_t * m / (np.sqrt(v) + config['epsilon'])"
    return _code(f'''
        def adam_optimizer(variables, gradients, config, state):
            state.setdefault('m', {{}})
            state.setdefault('v', {{}})
            state.setdefault('t', 0)
            state['t'] += 1
            t = state['t']
            beta1, beta2 = config['beta1'], config['beta2']
            lr_t = config['learning_rate'] * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
            index = 0
            for layer_vars, layer_grads in zip(variables, gradients):
                for var, grad in zip(layer_vars, layer_grads):
                    m = state['m'].setdefault(index, np.zeros_like(grad))
                    v = state['v'].setdefault(index, np.zeros_like(grad))
                    np.add(beta1 * m, (1 - beta1) * grad, out=m)
                    np.add(beta2 * v, (1 - beta2) * grad * grad, out=v)
                    {step}
                    index += 1
    ''')


# ------------------------------------------------------------------------------------------- image layers

def conv_cell(c):
    """Conv2d through an explicit im2col of our own (stride and padding general; the course's is stride 1, same)."""
    if c.conv == "course":
        head = "import scipy as sp\nimport scipy.signal\nimport skimage\n\n"
        signature, setup = "in_channels, out_channels, kernel_size", "self.stride, self.padding = 1, kernel_size // 2"
        bound = "1. / np.sqrt(in_channels)"
    elif c.conv == "torch":
        head = ""
        signature = "in_channels, out_channels, kernel_size, stride=1, padding=0"
        setup = "self.stride, self.padding = stride, padding"
        bound = "1. / np.sqrt(in_channels * kernel_size * kernel_size)"
    else:
        head = ""
        signature = "in_channels, out_channels, kernel_size, dtype=np.float64"
        setup = "self.stride, self.padding = 1, kernel_size // 2"
        bound = "1. / np.sqrt(in_channels * kernel_size * kernel_size)"
    cast = ".astype(dtype)" if c.dtype_param else ""
    return head + _code(f'''
        def to_columns(x, k, stride):
            """(N, C, H, W), already padded -> (N, C, k, k, Ho, Wo): every window, one copy."""
            n, ch, h, w = x.shape
            ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
            cols = np.empty((n, ch, k, k, ho, wo), dtype=x.dtype)
            for i in range(k):
                for j in range(k):
                    cols[:, :, i, j] = x[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
            return cols


        class Conv2d(Module):
            def __init__(self, {signature}):
                super(Conv2d, self).__init__()
                self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
                {setup}
                bound = {bound}
                self.W = np.random.uniform(-bound, bound, size=(out_channels, in_channels, kernel_size, kernel_size)){cast}
                self.b = np.random.uniform(-bound, bound, size=out_channels){cast}
                self.gradW = np.zeros_like(self.W)
                self.gradb = np.zeros_like(self.b)

            def padded(self, x):
                p = self.padding
                return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))

            def updateOutput(self, input):
                cols = to_columns(self.padded(input), self.kernel_size, self.stride)     # (N, C, k, k, Ho, Wo)
                out = np.einsum('ncijhw,ocij->nohw', cols, self.W) + self.b[None, :, None, None]
                self.output = {_keep(c, "out")}
                return self.output

            def updateGradInput(self, input, gradOutput):
                k, s, p = self.kernel_size, self.stride, self.padding
                n, ch, h, w = input.shape
                ho, wo = gradOutput.shape[2:]
                grad_cols = np.einsum('nohw,ocij->ncijhw', gradOutput, self.W)
                grad = np.zeros((n, ch, h + 2 * p, w + 2 * p), dtype=np.result_type(gradOutput, self.W))
                for i in range(k):
                    for j in range(k):
                        grad[:, :, i:i + s * ho:s, j:j + s * wo:s] += grad_cols[:, :, i, j]
                self.gradInput = {_keep(c, "grad[:, :, p:p + h, p:p + w]", "gradOutput")}
                return self.gradInput

            def accGradParameters(self, input, gradOutput):
                cols = to_columns(self.padded(input), self.kernel_size, self.stride)
                self.gradW {_acc(c)} np.einsum('ncijhw,nohw->ocij', cols, gradOutput)
                self.gradb {_acc(c)} gradOutput.sum(axis=(0, 2, 3))

            def zeroGradParameters(self):
                self.gradW.fill(0)
                self.gradb.fill(0)

            def getParameters(self):
                return [self.W, self.b]

            def getGradParameters(self):
                return [self.gradW, self.gradb]

            def __repr__(self):
                return "Conv2d %d -> %d" % (self.in_channels, self.out_channels)
    ''')


def maxpool_cell(c):
    torch = c.conv == "torch"
    signature = "kernel_size, stride=None, padding=0" if torch else "kernel_size"
    setup = ("self.stride = kernel_size if stride is None else stride\n" + " " * 16 + "self.padding = padding"
             if torch else "self.stride, self.padding = kernel_size, 0")
    return _code(f'''
        class MaxPool2d(Module):
            def __init__(self, {signature}):
                super(MaxPool2d, self).__init__()
                self.kernel_size = kernel_size
                {setup}

            def windows(self, x):
                """(N, C, H, W) -> (N, C, Ho, Wo, k*k) of the (-inf padded) input's windows."""
                k, s, p = self.kernel_size, self.stride, self.padding
                x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
                n, ch, h, w = x.shape
                ho, wo = (h - k) // s + 1, (w - k) // s + 1
                out = np.empty((n, ch, ho, wo, k * k), dtype=x.dtype)
                for i in range(k):
                    for j in range(k):
                        out[..., i * k + j] = x[:, :, i:i + s * ho:s, j:j + s * wo:s]
                return out

            def updateOutput(self, input):
                win = self.windows(input)
                self.max_indices = win.argmax(axis=-1)
                self.output = np.take_along_axis(win, self.max_indices[..., None], axis=-1)[..., 0]
                return self.output

            def updateGradInput(self, input, gradOutput):
                k, s, p = self.kernel_size, self.stride, self.padding
                n, ch, h, w = input.shape
                ho, wo = gradOutput.shape[2:]
                grad = np.zeros((n, ch, h + 2 * p, w + 2 * p), dtype=gradOutput.dtype)
                di, dj = np.divmod(self.max_indices, k)
                nn_, cc, hh, ww = np.indices(gradOutput.shape)
                np.add.at(grad, (nn_, cc, hh * s + di, ww * s + dj), gradOutput)
                self.gradInput = grad[:, :, p:p + h, p:p + w]
                return self.gradInput

            def __repr__(self):
                return "MaxPool2d, kern %d, stride %d" % (self.kernel_size, self.stride)
    ''')


def flatten_cell(c):
    if c.conv == "torch":
        return _code('''
            class Flatten(Module):
                def __init__(self, start_dim=1):
                    super(Flatten, self).__init__()
                    self.start_dim = start_dim

                def updateOutput(self, input):
                    self.output = input.reshape(input.shape[:self.start_dim] + (-1,))
                    return self.output

                def updateGradInput(self, input, gradOutput):
                    self.gradInput = gradOutput.reshape(input.shape)
                    return self.gradInput

                def __repr__(self):
                    return "Flatten"
        ''')
    return _code('''
        class Flatten(Module):
            def __init__(self):
                super(Flatten, self).__init__()

            def updateOutput(self, input):
                self.output = input.reshape(len(input), -1)
                return self.output

            def updateGradInput(self, input, gradOutput):
                self.gradInput = gradOutput.reshape(input.shape)
                return self.gradInput

            def __repr__(self):
                return "Flatten"
    ''')


# ----------------------------------------------------------------------------------------------- assembly

def cell_source(name, c, version):
    layers = activation_cells(c)
    if name in layers:
        return layers[name]
    if name == c.probability_nll:
        return probability_nll_cell(name)
    if name == c.log_nll:
        return log_nll_cell(name)
    return {
        "Linear": lambda: linear_cell(c), "SoftMax": lambda: softmax_cell(c), "LogSoftMax": lambda: logsoftmax_cell(c),
        "BatchNormalization": lambda: batchnorm_cell(c, version), "ChannelwiseScaling": lambda: scaling_cell(c),
        "Dropout": lambda: dropout_cell(c), "BatchMeanSubtraction": lambda: bms_cell(c),
        "Criterion": lambda: CRITERION, "MSECriterion": lambda: MSE, "sgd_momentum": lambda: SGD,
        "adam_optimizer": lambda: adam_cell(c), "Conv2d": lambda: conv_cell(c), "MaxPool2d": lambda: maxpool_cell(c),
        "Flatten": lambda: flatten_cell(c),
    }[name]()


# One-line bugs: (variant name, versions it applies to, class/function edited, old, new, kit target that must lose).
BUGS = [
    ("leakyrelu_grad_drops_gradoutput", ("2017",), "LeakyReLU", "gradOutput * self.slope)", "self.slope)", "LeakyReLU"),
    ("bms_eval_uses_batch_mean", ("2017",), "BatchMeanSubtraction", "self.output = input - self.old_mean",
     "self.output = input - (self.old_mean if self.training else input.mean(axis=0))", "BatchMeanSubtraction"),
    ("nll_no_batch_mean", ("2017",), "ClassNLLCriterion", "/ clipped / input.shape[0]", "/ clipped",
     "ClassNLLCriterion"),
    ("batchnorm_eval_uses_batch", ("2018",), "BatchNormalization",
     "mean, var = self.moving_mean, self.moving_variance", "mean, var = input.mean(axis=0), input.var(axis=0)",
     "BatchNormalization"),
    ("dropout_no_rescale", ("2018",), "Dropout", " / input.dtype.type(1 - self.p)", "", "Dropout"),
    ("log_nll_grad_sign", ("2018",), "ClassNLLCriterion", "self.gradInput = -target", "self.gradInput = target",
     "ClassNLLLogCriterion"),
    ("logsoftmax_sum_over_batch", ("2019-21",), "LogSoftMax", "np.sum(gradOutput, axis=1, keepdims=True)",
     "np.sum(gradOutput, axis=0, keepdims=True)", "LogSoftMax"),
    ("conv_flipped_kernel", ("2019-21",), "Conv2d", "'ncijhw,ocij->nohw', cols, self.W)",
     "'ncijhw,ocij->nohw', cols, self.W[:, :, ::-1, ::-1])", "Conv2d"),
    ("adam_no_second_moment_decay", ("2019-21",), "adam_optimizer", "np.add(beta2 * v,", "np.add(v,",
     "adam_optimizer"),
    ("linear_gradb_mean", ("derivative",), "Linear", "np.sum(gradOutput, axis=0)", "np.mean(gradOutput, axis=0)",
     "Linear"),
    ("maxpool_grad_to_first_element", ("derivative",), "MaxPool2d", "di, dj = np.divmod(self.max_indices, k)",
     "di, dj = np.divmod(np.zeros_like(self.max_indices), k)", "MaxPool2d"),
    ("unstable_nll_grad_sign", ("derivative",), "ClassNLLCriterionUnstable", "-target / clipped", "target / clipped",
     "ClassNLLCriterion"),
    ("softmax_grad_sign", ("kit",), "SoftMax", "s * (gradOutput - ", "s * (gradOutput + ", "SoftMax"),
    ("tanh_grad", ("kit",), "Tanh", "(1 - self.output ** 2)", "(1 - self.output)", "Tanh"),
]


# Other correct answers to the same text: each must keep full marks (version, name, edited, old, new).
ALTERNATIVES = [
    # The 2017 text leaves the start of the running mean open: zeros are as good as the first batch.
    ("2017", "bms_zero_start", "BatchMeanSubtraction",
     "self.weight = 1.\n" + " " * 16 + "self.old_mean = batch_mean",
     "self.weight = 1. - self.alpha\n" + " " * 16 + "self.old_mean = batch_mean * (1 - self.alpha)"),
    # The 2018 text leaves the start of the moving statistics open: the first batch is as good as zeros/ones.
    ("2018", "batchnorm_first_batch_start", "BatchNormalization",
     "self.moving_mean = np.zeros_like(mean)\n" + " " * 16 + "self.moving_variance = np.ones_like(var)",
     "self.moving_mean = mean\n" + " " * 16 + "self.moving_variance = var"),
    # Accumulating (as Torch's accGradParameters does) where the hint assigns.
    ("2018", "linear_accumulates", "Linear", "self.gradW = np.dot", "self.gradW += np.dot"),
    # BatchNormalization's class constant EPS changed to PyTorch's 1e-5: the course's own test compares with PyTorch at
    # the module's EPS, so it is right; the grader checks it at the template's 1e-3 (it lost 4 of 7 points).
    ("2018", "batchnorm_eps_pytorch", "BatchNormalization", "EPS = 1e-3", "EPS = 1e-5"),
    ("kit", "batchnorm_eps_pytorch", "BatchNormalization", "EPS = 1e-3", "EPS = 1e-5"),
    # Seen in a real 2019-21 submission: new moment arrays stored back into the state (the template's asserts pass).
    # The course's texts never ask about exp overflowing (their tests feed [-5, 5]): inf at +-800 is a note there.
    ("2018", "softplus_log1p_exp", "SoftPlus", "np.logaddexp(0, input)", "np.log1p(np.exp(input))"),
    ("2017", "elu_mask_arithmetic", "ELU", "np.where(input > 0, input, self.alpha * np.expm1(negative))",
     "input * (input > 0) + self.alpha * (np.exp(input) - 1) * (input <= 0)"),
    # The 2019-21 Conv2d cell gives `pad_size = self.kernel_size % 2`: "same" padding at kernel size 3, the course's.
    ("2019-21", "conv_template_pad_size", "Conv2d", "self.stride, self.padding = 1, kernel_size // 2",
     "self.stride, self.padding = 1, kernel_size % 2  # the template's pad_size"),
    ("2019-21", "adam_moments_reassigned", "adam_optimizer",
     "np.add(beta1 * m, (1 - beta1) * grad, out=m)\n" + " " * 12 + "np.add(beta2 * v, (1 - beta2) * grad * grad, out=v)",
     "m = state['m'][index] = beta1 * m + (1 - beta1) * grad\n" + " " * 12 +
     "v = state['v'][index] = beta2 * v + (1 - beta2) * grad * grad"),
]


def bugs_of(version):
    return [bug for bug in BUGS if version in bug[1]]


def notebook(version, bug=None):
    """The submission of `version` (one of VERSIONS), with the named edit of BUGS or ALTERNATIVES if given."""
    c = CONVENTIONS[version]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_markdown_cell(TITLES[version])]
    cells.append(nbformat.v4.new_code_cell("import numpy as np"))
    if version == "kit":
        cells.append(nbformat.v4.new_code_cell("from grader.selfcheck import check  # the kit's self-check"))
    cells.append(nbformat.v4.new_code_cell(module_cell(c)))
    cells.append(nbformat.v4.new_markdown_cell("# Sequential container\n\n**Define** a forward and backward pass."))
    cells.append(nbformat.v4.new_code_cell(sequential_cell(c, version)))
    sources = {}
    for name in c.modules:
        heading = HEADINGS[version].get(name)
        if heading:
            cells.append(nbformat.v4.new_markdown_cell(heading))
        cell = nbformat.v4.new_code_cell(cell_source(name, c, version))
        sources[name] = cell
        cells.append(cell)
        if version == "kit" and name not in ("Criterion",):
            cells.append(nbformat.v4.new_code_cell(f'check("{name}")', metadata={"tags": ["selfcheck"]}))
    if bug is not None:
        edits = [(b[2], b[3], b[4]) for b in BUGS if b[0] == bug and version in b[1]] + \
                [(a[2], a[3], a[4]) for a in ALTERNATIVES if a[1] == bug and a[0] == version]
        if len(edits) != 1:
            raise ValueError(f"{bug} is not a bug or an alternative written for version {version}")
        [(name, old, new)] = edits
        cell = sources[name]
        if cell.source.count(old) != 1:
            raise ValueError(f"bug {bug}: {old!r} found {cell.source.count(old)} times in {name}")
        cell.source = cell.source.replace(old, new)
    nb.cells = cells
    return nb


def write(folder, version, bug=None, differentiation=None):
    """Writes the submission folder (HW3_Modules.ipynb, and a copy of `differentiation` if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(version, bug), str(folder / "HW3_Modules.ipynb"))
    if differentiation is not None:
        (folder / "HW3_differentiation.ipynb").write_bytes(differentiation.read_bytes())
    return folder
