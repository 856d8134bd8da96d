"""The MNIST loader: .npz, IDX (gzipped and raw), and clear errors for bad files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from training.data import DatasetError, load_mnist, read_idx, split_validation


def _arrays(n_train=30, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def test_npz_round_trip(tmp_path):
    arrays = _arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    data = load_mnist(path)
    assert data.x_train.shape == (30, 28, 28) and data.x_train.dtype == np.uint8
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    assert len(data.sha256) == 64 and data.source == str(path)


@pytest.mark.parametrize("gzipped", [True, False], ids=["idx-gz", "idx-raw"])
def test_idx_folder(tmp_path, gzipped):
    arrays = _arrays()
    for key, name in IDX_NAMES.items():
        payload = _idx_bytes(arrays[key])
        if gzipped:
            (tmp_path / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (tmp_path / name).write_bytes(payload)
    data = load_mnist(tmp_path)
    np.testing.assert_array_equal(data.x_train, arrays["x_train"])
    np.testing.assert_array_equal(data.y_train, arrays["y_train"])


def test_environment_variable_is_used(tmp_path, monkeypatch):
    path = tmp_path / "env.npz"
    np.savez(path, **_arrays(seed=3))
    monkeypatch.setenv("DIGITBOT_MNIST", str(path))
    assert load_mnist().source == str(path)


def test_corrupt_npz_names_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(DatasetError, match="broken.npz"):
        load_mnist(path)


def test_missing_arrays(tmp_path):
    path = tmp_path / "partial.npz"
    arrays = _arrays()
    del arrays["y_test"]
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match="missing arrays y_test"):
        load_mnist(path)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("x_train", np.zeros((30, 32, 32), np.uint8), r"expected \(N, 28, 28\)"),
        ("y_train", np.zeros((29,), np.uint8), "labels have shape"),
        ("x_test", np.zeros((10, 28, 28), np.float32), "expected uint8"),
        ("y_test", np.full((10,), 12, np.uint8), "labels range from 12 to 12"),
    ],
)
def test_wrong_shapes_dtypes_labels(tmp_path, key, value, message):
    arrays = _arrays()
    arrays[key] = value
    path = tmp_path / "wrong.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=message):
        load_mnist(path)


def test_truncated_idx(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-100])
    with pytest.raises(DatasetError, match="header promises"):
        read_idx(path)


def test_bad_idx_magic(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(path)


def test_missing_path():
    with pytest.raises(DatasetError, match="no such file"):
        load_mnist("/nonexistent/mnist.npz")


def test_split_validation_is_fixed_and_disjoint():
    x = np.arange(100 * 28 * 28, dtype=np.uint32).reshape(100, 28, 28)
    y = np.arange(100) % 10
    first = split_validation(x, y, 10, seed=5)
    second = split_validation(x, y, 10, seed=5)
    np.testing.assert_array_equal(first[2], second[2])
    assert len(first[0]) == 90 and len(first[2]) == 10
    assert not set(first[0][:, 0, 0]) & set(first[2][:, 0, 0])


def test_full_file_loads(full_mnist_path):
    data = load_mnist(full_mnist_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert data.sha256 == "da231c08013e217002c4f393e0f38583bf5a62a5ead805d541bdacd45803e00f"
