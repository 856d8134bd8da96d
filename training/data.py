"""Load and validate MNIST from a local .npz or IDX files, falling back to the Keras download.

The split used for training: the 60,000 training images minus a fixed-seed validation
subset (5,000 by default, :func:`split_validation`); the 10,000 standard test images are
used once, for the final report.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import IMAGE_SIZE, NUM_CLASSES, mnist_path_from_env


class DatasetError(ValueError):
    """The data file is missing, corrupt or not MNIST-shaped; the message names the file."""


@dataclass(frozen=True)
class MnistData:
    """MNIST as uint8 arrays, white digit (255) on black (0).

    Attributes:
        x_train: uint8, shape (N, 28, 28).
        y_train: uint8, shape (N,), values 0-9.
        x_test: uint8, shape (M, 28, 28).
        y_test: uint8, shape (M,), values 0-9.
        source: where the data came from (a path, or "keras.datasets.mnist").
        sha256: hex digest of the source file (for a folder: of its four files in order).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str


IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _validate(name: str, images: np.ndarray, labels: np.ndarray, origin: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DatasetError(
            f"{origin}: {name} images have shape {images.shape}, expected (N, 28, 28)"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DatasetError(
            f"{origin}: {name} labels have shape {labels.shape}, expected ({images.shape[0]},)"
        )
    if images.shape[0] == 0:
        raise DatasetError(f"{origin}: {name} set is empty")
    if images.dtype != np.uint8:
        raise DatasetError(f"{origin}: {name} images are {images.dtype}, expected uint8")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{origin}: {name} labels are {labels.dtype}, expected integers")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= NUM_CLASSES:
        raise DatasetError(
            f"{origin}: {name} labels range from {low} to {high}, expected 0 to {NUM_CLASSES - 1}"
        )


def load_npz_arrays(path: str | Path, keys: tuple[str, ...], layout: str = "") -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an .npz archive (no pickles), read into memory.

    Args:
        path: the archive.
        keys: the arrays it must hold.
        layout: what the expected layout is called, for the error message (e.g. "the layout
            of keras.datasets.mnist").

    Raises:
        DatasetError: the file cannot be read as an .npz archive, or lacks some of ``keys``;
            the message names the file and the problem.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise DatasetError(f"{path}: missing arrays {', '.join(missing)}; expected "
                                   f"{', '.join(keys)}" + (f" ({layout})" if layout else ""))
            return {key: archive[key] for key in keys}
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npz archive ({exc})") from exc


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    return load_npz_arrays(path, tuple(IDX_FILES), "the layout of keras.datasets.mnist")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) as a uint8 array.

    Format: LeCun's IDX (magic 0x0000 08 NDIM, big-endian uint32 dims, then raw uint8 data).

    Raises:
        DatasetError: bad magic, an unsupported data type, or a size that does not match.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc
    if len(data) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 3:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes (bad magic {data[:4].hex()})")
    header_end = 4 + 4 * ndim
    if len(data) < header_end:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header_end])
    expected = int(np.prod(dims))
    payload = np.frombuffer(data, dtype=np.uint8, offset=header_end)
    if payload.size != expected:
        raise DatasetError(
            f"{path}: header promises {expected} bytes for shape {dims}, found {payload.size}"
        )
    return payload.reshape(dims)


def _find_idx(folder: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        for suffix in (".gz", ""):
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    raise DatasetError(f"{folder}: no {stems[0]}[.gz] file in this folder")


def load_mnist(path: str | Path | None = None) -> MnistData:
    """Load MNIST from ``path``, else ``$DIGITBOT_MNIST``, else ``keras.datasets.mnist``.

    Args:
        path: a Keras-layout ``.npz`` (arrays ``x_train, y_train, x_test, y_test``) or a
            folder holding the four IDX files of the MNIST database, gzipped or not.

    Returns:
        :class:`MnistData` with uint8 images (N, 28, 28), ink 255 on 0, and uint8 labels.

    Raises:
        DatasetError: the path does not exist, or the file is corrupt or has wrong shapes,
            dtypes or labels; the message names the file and what is wrong.
    """
    if path is None:
        path = mnist_path_from_env()
    if path is None:
        import keras  # heavy; only for the download fallback

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        source, sha = "keras.datasets.mnist", ""
    else:
        path = Path(path).expanduser()
        if path.is_dir():
            files = {key: _find_idx(path, stems) for key, stems in IDX_FILES.items()}
            arrays = {key: read_idx(file) for key, file in files.items()}
            digest = hashlib.sha256()
            for file in files.values():
                digest.update(bytes.fromhex(file_sha256(file)))
            source, sha = str(path), digest.hexdigest()
        elif path.is_file():
            arrays = _load_npz(path)
            source, sha = str(path), file_sha256(path)
        else:
            raise DatasetError(f"{path}: no such file or folder (MNIST .npz or IDX folder)")
    _validate("training", arrays["x_train"], arrays["y_train"], source)
    _validate("test", arrays["x_test"], arrays["y_test"], source)
    return MnistData(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.uint8),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.uint8),
        source=source,
        sha256=sha,
    )


def split_validation(
    x: np.ndarray, y: np.ndarray, validation_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a fixed-seed random validation subset.

    Returns:
        ``(x_fit, y_fit, x_val, y_val)``; ``validation_size`` is clipped to a fifth of N.
    """
    validation_size = max(1, min(validation_size, len(x) // 5))
    order = np.random.default_rng(seed).permutation(len(x))
    val, fit = order[:validation_size], order[validation_size:]
    return x[fit], y[fit], x[val], y[val]
