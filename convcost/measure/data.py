"""MNIST loading: an explicit file or folder, the ``CONVCOST_MNIST`` variable, or Keras' download.

Where the data comes from, in order: the ``path`` argument (the CLI's ``--data``), the
environment variable ``CONVCOST_MNIST``, then ``keras.datasets.mnist.load_data()`` (which
downloads on first use). A path is either a Keras-format ``mnist.npz`` (keys ``x_train``,
``y_train``, ``x_test``, ``y_test``) or a folder with the four IDX files of the original
distribution (``train-images-idx3-ubyte`` ..., each optionally gzipped).

Every split is checked: images ``(N, 28, 28)`` uint8, labels ``(N,)`` integers in 0..9. A
missing, truncated or malformed file is a one-line :class:`~convcost.errors.ConvcostError`.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convcost.errors import ConvcostError, one_line
from convcost.files import regular_file

ENV_VAR = "CONVCOST_MNIST"
IMAGE_SHAPE = (28, 28)
CLASSES = 10
KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {  # key -> file name of the original distribution
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08  # IDX type code of unsigned bytes, the only one MNIST uses


@dataclass(frozen=True, eq=False)  # arrays: no element-wise ==
class Mnist:
    """The four MNIST arrays as stored (uint8 images, integer labels) and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


@dataclass(frozen=True, eq=False)  # arrays: no element-wise ==
class Prepared:
    """Arrays ready for training: images float32 in [0, 1] as ``(N, 28, 28, 1)``, one-hot labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def train_samples(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def test_samples(self) -> int:
        return int(self.x_test.shape[0])


MAX_DATA_BYTES = 1 << 30
"""The largest data file read (MNIST is 11 MB as .npz, 55 MB as IDX files)."""


def load_mnist(path: str | Path | None = None, *, download: bool = True) -> Mnist:
    """Load and check MNIST from ``path``, else ``$CONVCOST_MNIST``, else Keras' download.

    Args:
        path: a Keras-format ``.npz`` file or a folder holding the four IDX files.
        download: let Keras download it when neither is given (its progress goes to
            stderr); ``False``: only Keras' cache ``~/.keras/datasets/mnist.npz``, else a
            one-line error (commands that must work offline).
    """
    chosen = path if path is not None else os.environ.get(ENV_VAR) or None
    if chosen is None and not download:
        chosen = _cached_or_refuse()
    if chosen is None:
        return _checked(_download(), "keras.datasets.mnist.load_data()")
    target = Path(chosen).expanduser()
    if target.is_dir():
        return _checked(_read_idx_folder(target), str(target))
    if target.exists():
        regular_file(target, what="MNIST file", max_bytes=MAX_DATA_BYTES)
        return _checked(_read_npz(target), str(target))
    origin = "--data" if path is not None else f"${ENV_VAR}"
    raise ConvcostError(f"MNIST path does not exist (from {origin}); pass an mnist.npz file or a "
                        f"folder with the four IDX files. Received: {str(target)!r}.")


def describe_source(path: str | Path | None, mnist: Mnist) -> str:
    """One line saying where ``mnist`` was read from and why there (the order of
    :func:`load_mnist`)."""
    if path is not None:
        return f"MNIST: {mnist.source} (from --data)"
    if os.environ.get(ENV_VAR):
        return f"MNIST: {mnist.source} (from ${ENV_VAR})"
    return (f"MNIST: {mnist.source} (no --data and ${ENV_VAR} unset: Keras' cache "
            f"~/.keras/datasets/mnist.npz, downloaded if absent)")


def prepare(mnist: Mnist, *, subset: int | None = None,
            test_subset: int | None = None) -> Prepared:
    """Scale images to float32 in [0, 1] with a channel axis and one-hot the labels, once.

    Args:
        mnist: the loaded arrays.
        subset: keep the first ``subset`` training images (deterministic; not stratified).
        test_subset: keep the first ``test_subset`` test images.
    """
    n_train = _subset_size(subset, len(mnist.x_train), "subset")
    n_test = _subset_size(test_subset, len(mnist.x_test), "test_subset")
    return Prepared(_images(mnist.x_train[:n_train]), _one_hot(mnist.y_train[:n_train]),
                    _images(mnist.x_test[:n_test]), _one_hot(mnist.y_test[:n_test]),
                    mnist.source)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file of unsigned bytes (``.gz`` is decompressed): magic, sizes, data.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.
    """
    path = regular_file(path, what="IDX file", max_bytes=MAX_DATA_BYTES)
    try:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ConvcostError(f"Could not read IDX file {str(path)!r}: {error}. "
                            f"Received: a corrupt or unreadable file.") from None
    return _parse_idx(raw, path)


# --- helpers ---------------------------------------------------------------------------------


def _cached_or_refuse() -> Path:
    cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets/mnist.npz"
    if cache.is_file():
        return cache
    raise ConvcostError(f"MNIST is needed here (int8 calibration, accuracy) and nothing is "
                        f"downloaded: pass --data PATH (mnist.npz or an IDX folder) or set "
                        f"${ENV_VAR}. Received: no --data, ${ENV_VAR} unset, no {str(cache)!r}.")


def _download() -> dict[str, np.ndarray]:
    import contextlib
    import sys

    import keras

    try:  # Keras prints "Downloading data from ..." on stdout: it goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # no network, proxy, broken cache: all end here
        reason = one_line(error, 160) or type(error).__name__
        raise ConvcostError(
            f"Could not get MNIST with keras.datasets.mnist.load_data() (no --data and "
            f"${ENV_VAR} unset, so Keras' cache ~/.keras/datasets or its download); pass "
            f"--data PATH (mnist.npz or IDX folder) or set {ENV_VAR}. Received: {reason}"
        ) from None
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        # Open the file ourselves: np.load leaks its handle when the zip is corrupt.
        with open(path, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ConvcostError(f"MNIST file must be an npz archive with keys {list(KEYS)}. "
                                    f"Received: a single array in {str(path)!r}.")
            with archive:
                return _npz_arrays(archive, path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = one_line(error, 120) or type(error).__name__
        raise ConvcostError(f"Could not read MNIST npz file {str(path)!r} (truncated or not an "
                            f"npz archive?). Received: {reason}.") from None


def _npz_arrays(archive: Any, path: Path) -> dict[str, np.ndarray]:
    missing = [key for key in KEYS if key not in archive.files]
    if missing:
        raise ConvcostError(f"MNIST npz file lacks keys {missing}; expected {list(KEYS)}. "
                            f"Received: keys {sorted(archive.files)} in {str(path)!r}.")
    return {key: archive[key] for key in KEYS}


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, name in IDX_FILES.items():
        found = [folder / name, folder / f"{name}.gz"]
        existing = [p for p in found if p.exists()]
        if not existing:
            raise ConvcostError(
                f"MNIST folder lacks {name} (or {name}.gz); it needs "
                f"{', '.join(IDX_FILES.values())}. Received: folder {str(folder)!r} with "
                f"{sorted(p.name for p in folder.iterdir())[:8]}.")
        arrays[key] = read_idx(existing[0])
    return arrays


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE or raw[3] == 0:
        raise ConvcostError(f"Not an IDX file of unsigned bytes: {str(path)!r}. Received: "
                            f"magic bytes {raw[:4].hex() or 'none'} (expected 000008NN).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConvcostError(f"IDX file {str(path)!r} is truncated in its header. Received: "
                            f"{len(raw)} bytes, header needs {header}.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise ConvcostError(f"IDX file {str(path)!r} has the wrong size for shape {shape} "
                            f"(truncated?). Received: {len(raw)} bytes, expected {expected}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _checked(arrays: dict[str, np.ndarray], source: str) -> Mnist:
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        _check_split(x, y, split, source)
    x_train, y_train, x_test, y_test = (np.asarray(arrays[key]) for key in KEYS)
    return Mnist(x_train, y_train, x_test, y_test, source)


def _check_split(x: np.ndarray, y: np.ndarray, split: str, source: str) -> None:
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or x.dtype != np.uint8 or len(x) == 0:
        raise ConvcostError(f"MNIST x_{split} must be uint8 images of shape (N, 28, 28), N > 0. "
                            f"Received: shape {x.shape}, dtype {x.dtype} from {source}.")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ConvcostError(f"MNIST y_{split} must be integer labels of shape ({len(x)},) to "
                            f"match x_{split}. Received: shape {y.shape}, dtype {y.dtype} from "
                            f"{source}.")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= CLASSES:
        raise ConvcostError(f"MNIST y_{split} labels must lie in 0..{CLASSES - 1}. Received: "
                            f"labels from {low} to {high} in {source}.")


def _subset_size(requested: int | None, available: int, label: str) -> int:
    if requested is None:
        return available
    if requested < 1 or requested > available:
        raise ConvcostError(f"{label} must be between 1 and {available} (the images available). "
                            f"Received: {label}={requested}.")
    return requested


def _images(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / np.float32(255.0))[..., np.newaxis]


def _one_hot(y: np.ndarray) -> np.ndarray:
    return np.eye(CLASSES, dtype=np.float32)[y.astype(np.int64)]
