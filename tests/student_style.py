"""Correct solutions written the way many students write them, beside the kit's own (which is tuned for speed):
a Conv2d that loops over the k*k kernel positions with einsum, a MaxPool2d that reshapes the blocks and keeps
argmax. The mistakes table (tests/test_selfcheck_mistakes.py) makes some of its mistakes in these, as a student
would; each must first get full marks as it is."""
import re

from corpus import cell_defining

CONV2D = (
    """        n, c, h, w = input.shape
        k, p = self.kernel_size, self.kernel_size // 2
        x = np.pad(input, ((0, 0), (0, 0), (p, p), (p, p)))
        W = self.W.astype(input.dtype)
        self.output = np.zeros((n, self.out_channels, h, w), dtype=input.dtype)
        for a in range(k):
            for b in range(k):
                self.output += np.einsum('nchw,oc->nohw', x[:, :, a:a + h, b:b + w], W[:, :, a, b])
        self.output += self.b.astype(input.dtype)[None, :, None, None]
""",
    """        n, c, h, w = input.shape
        k, p = self.kernel_size, self.kernel_size // 2
        W = self.W.astype(gradOutput.dtype)
        gx = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=gradOutput.dtype)
        for a in range(k):
            for b in range(k):
                gx[:, :, a:a + h, b:b + w] += np.einsum('nohw,oc->nchw', gradOutput, W[:, :, a, b])
        self.gradInput = gx[:, :, p:p + h, p:p + w]
""",
    """        n, c, h, w = input.shape
        k, p = self.kernel_size, self.kernel_size // 2
        x = np.pad(input, ((0, 0), (0, 0), (p, p), (p, p)))
        for a in range(k):
            for b in range(k):
                self.gradW[:, :, a, b] += np.einsum('nohw,nchw->oc', gradOutput, x[:, :, a:a + h, b:b + w])
        self.gradb += gradOutput.sum(axis=(0, 2, 3))
""")

MAXPOOL2D = (
    """        n, c, h, w = input.shape
        k = self.kernel_size
        blocks = input.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // k, w // k, k * k)
        self.max_indices = blocks.argmax(axis=-1)
        self.output = blocks.max(axis=-1)
""",
    """        n, c, h, w = input.shape
        k = self.kernel_size
        g = np.zeros((n, c, h // k, w // k, k * k), dtype=gradOutput.dtype)
        np.put_along_axis(g, self.max_indices[..., None], gradOutput[..., None], axis=-1)
        self.gradInput = g.reshape(n, c, h // k, w // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
""")

SOLUTIONS = {"Conv2d": CONV2D, "MaxPool2d": MAXPOOL2D}
REGION = re.compile(r"(### BEGIN SOLUTION\n).*?(        ### END SOLUTION)", re.S)


def student_style(nb, name):
    """The notebook with class `name`'s solution regions (in order) replaced by the student-style ones."""
    cell = cell_defining(nb, name)
    bodies = iter(SOLUTIONS[name])
    cell.source, count = REGION.subn(lambda m: m.group(1) + next(bodies) + m.group(2), cell.source)
    assert count == len(SOLUTIONS[name]), f"{name}: {count} solution regions, expected {len(SOLUTIONS[name])}"
    return nb
