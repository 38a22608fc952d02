"""MNIST loading from npz, IDX folders (plain and gzipped), the env variable, and bad inputs."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from convcost.errors import ConvcostError
from convcost.measure import data

# From /work/shared/data/README.md (the MNIST distribution's own counts).
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def real(mnist_path: Path) -> dict[str, np.ndarray]:
    with np.load(mnist_path) as archive:
        return {key: archive[key] for key in data.KEYS}


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    """IDX as published by LeCun: 0, 0, type 0x08, ndim, big-endian uint32 sizes, bytes."""
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_idx_folder(folder: Path, real: dict[str, np.ndarray], n: int, gz: bool) -> Path:
    folder.mkdir()
    for key, name in data.IDX_FILES.items():
        write_idx(folder / name, real[key][:n], gz=gz)
    return folder


def test_real_npz_matches_the_published_layout(mnist_path: Path) -> None:
    mnist = data.load_mnist(mnist_path)
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28)
    assert np.bincount(mnist.y_train, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert mnist.source == str(mnist_path)


def test_env_variable_is_used_when_no_path(mnist_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(mnist_path))
    assert data.load_mnist().source == str(mnist_path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_folder_round_trip(tmp_path: Path, real, gz: bool) -> None:
    folder = write_idx_folder(tmp_path / "idx", real, 300, gz)
    mnist = data.load_mnist(folder)
    np.testing.assert_array_equal(mnist.x_train, real["x_train"][:300])
    np.testing.assert_array_equal(mnist.y_test, real["y_test"][:300])


def test_prepare_scales_once_and_one_hots(real, tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx", real, 50, gz=False)
    prepared = data.prepare(data.load_mnist(folder), subset=20, test_subset=10)
    assert prepared.x_train.shape == (20, 28, 28, 1) and prepared.x_train.dtype == np.float32
    assert prepared.x_train.max() == pytest.approx(real["x_train"][:20].max() / 255.0)
    assert prepared.x_train.min() >= 0.0
    assert prepared.y_train.shape == (20, 10)
    assert prepared.y_train.argmax(axis=1).tolist() == real["y_train"][:20].tolist()
    assert prepared.test_samples == 10


def test_download_failure_names_the_way_out(monkeypatch) -> None:
    import keras

    def offline():
        raise OSError("URL fetch failure on https://storage.googleapis.com/...: no network")

    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(ConvcostError, match=r"pass --data PATH .* set CONVCOST_MNIST") as info:
        data.load_mnist()
    assert "\n" not in str(info.value)


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(("change", "match"), [
    (dict(x_train=np.zeros((5, 28, 27), np.uint8)),
     r"x_train must be uint8 images of shape \(N, 28, 28\).*Received: shape \(5, 28, 27\)"),
    (dict(x_train=np.zeros((5, 28, 28), np.float32)),
     r"Received: shape \(5, 28, 28\), dtype float32"),
    (dict(y_train=np.zeros((4,), np.uint8)), r"y_train must be integer labels of shape \(5,\)"),
    (dict(y_test=np.full((3,), 10, np.uint8)),
     r"labels must lie in 0..9. Received: labels from 10"),
])
def test_wrong_arrays_are_refused(tmp_path: Path, change, match: str) -> None:
    arrays = dict(x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.uint8),
                  x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.zeros(3, np.uint8))
    path = _npz(tmp_path / "bad.npz", **(arrays | change))
    with pytest.raises(ConvcostError, match=match):
        data.load_mnist(path)


def test_missing_keys_are_listed(tmp_path: Path) -> None:
    path = _npz(tmp_path / "keys.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ConvcostError, match=r"lacks keys \['y_train', 'x_test', 'y_test'\]"):
        data.load_mnist(path)


def test_truncated_npz(tmp_path: Path, mnist_path: Path) -> None:
    path = tmp_path / "cut.npz"
    path.write_bytes(mnist_path.read_bytes()[:4_000_000])
    with pytest.raises(ConvcostError, match=r"Could not read MNIST npz file .*truncated"):
        data.load_mnist(path)


def test_truncated_idx(tmp_path: Path, real) -> None:
    folder = write_idx_folder(tmp_path / "idx", real, 40, gz=False)
    images = folder / data.IDX_FILES["x_train"]
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(ConvcostError, match=r"wrong size for shape \(40, 28, 28\).*expected 31376"):
        data.load_mnist(folder)


def test_corrupt_gzip_idx(tmp_path: Path, real) -> None:
    folder = write_idx_folder(tmp_path / "idx", real, 40, gz=True)
    labels = folder / (data.IDX_FILES["y_test"] + ".gz")
    labels.write_bytes(labels.read_bytes()[:20])
    with pytest.raises(ConvcostError, match=r"Could not read IDX file .*corrupt"):
        data.load_mnist(folder)


def test_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ConvcostError, match=r"Not an IDX file .*magic bytes 504b0304"):
        data.read_idx(path)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: p / "nowhere.npz", r"MNIST path does not exist \(from --data\)"),
    (lambda p: p, r"MNIST folder lacks train-images-idx3-ubyte"),
])
def test_bad_paths(tmp_path: Path, make, match: str) -> None:
    with pytest.raises(ConvcostError, match=match):
        data.load_mnist(make(tmp_path))


@pytest.mark.parametrize("subset", [0, 60001])
def test_subset_bounds(real, tmp_path: Path, subset: int) -> None:
    mnist = data.Mnist(real["x_train"], real["y_train"], real["x_test"], real["y_test"], "real")
    with pytest.raises(ConvcostError, match=rf"subset must be between 1 and 60000.*{subset}"):
        data.prepare(mnist, subset=subset)


def test_single_npy_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ConvcostError, match=r"must be an npz archive .*a single array"):
        data.load_mnist(path)


def test_describe_source_says_where_and_why(monkeypatch, tmp_path) -> None:
    mnist = data.Mnist(*(np.zeros(1) for _ in range(4)), source=str(tmp_path / "m.npz"))
    assert data.describe_source(tmp_path / "m.npz", mnist) == (
        f"MNIST: {tmp_path / 'm.npz'} (from --data)")
    monkeypatch.setenv("CONVCOST_MNIST", str(tmp_path / "m.npz"))
    assert data.describe_source(None, mnist).endswith("(from $CONVCOST_MNIST)")
    monkeypatch.delenv("CONVCOST_MNIST")
    keras_copy = data.Mnist(*(np.zeros(1) for _ in range(4)),
                            source="keras.datasets.mnist.load_data()")
    assert data.describe_source(None, keras_copy) == (
        "MNIST: keras.datasets.mnist.load_data() (no --data and $CONVCOST_MNIST unset: Keras' "
        "cache ~/.keras/datasets/mnist.npz, downloaded if absent)")


def test_keras_download_message_goes_to_stderr_not_stdout(monkeypatch, capsys, real) -> None:
    import keras

    def fake_download():
        print("Downloading data from https://storage.googleapis.com/.../mnist.npz")
        return (real["x_train"], real["y_train"]), (real["x_test"], real["y_test"])

    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", fake_download)
    data.load_mnist()
    out, err = capsys.readouterr()
    assert (out, "Downloading data from" in err) == ("", True)


def test_without_download_only_keras_cache_is_read(monkeypatch, tmp_path, mnist_path) -> None:
    import keras

    def no_network():
        raise AssertionError("tried to download")

    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    with pytest.raises(ConvcostError, match=r"nothing is downloaded: pass --data PATH .* "
                                            r"Received: no --data, \$CONVCOST_MNIST unset, no "
                                            r"'.*/datasets/mnist.npz'"):
        data.load_mnist(download=False)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(mnist_path.read_bytes())
    cached = data.load_mnist(download=False)
    cache = tmp_path / "datasets" / "mnist.npz"
    assert (len(cached.x_train), cached.source) == (60_000, str(cache))


def test_a_fifo_as_data_is_refused_without_opening_it(tmp_path) -> None:
    import os

    fifo = tmp_path / "mnist.npz"
    os.mkfifo(fifo)
    with pytest.raises(ConvcostError, match=r"MNIST file must be a regular file, not a named "
                                            r"pipe"):
        data.load_mnist(fifo)
