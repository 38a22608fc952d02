"""Keras -> .tflite: fp32 and full-integer int8 with a tiny representative set, quiet, cached."""

from __future__ import annotations

import numpy as np
import pytest

from convcost.count.tflite import analyze_tflite
from convcost.errors import ConvcostError
from convcost.measure import convert


@pytest.fixture(scope="module")
def v1(zoo_model):
    return zoo_model("v1")


@pytest.fixture(scope="module")
def tiny():
    """A conv and a dense layer: converts in about a second (v1's int8 file is tested in
    tests/count/test_tflite.py)."""
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs, name="tiny")


def test_int8_with_a_tiny_representative_set(tiny, tmp_path, capfd) -> None:
    images = np.random.default_rng(0).random((64, 8, 8, 1), dtype=np.float32)
    representative = convert.representative_samples(images, 4)
    assert representative.shape == (4, 8, 8, 1) and representative.dtype == np.float32
    blob = convert.to_tflite(tiny, "int8", representative)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the converter's signature dump and C++ log kept away
    assert blob[4:8] == b"TFL3"
    path = tmp_path / "tiny.tflite"
    path.write_bytes(blob)
    analysis = analyze_tflite(path)
    first = analysis.file.tensors[analysis.file.inputs[0]]
    assert (analysis.precision, first.dtype) == ("int8", "INT8")  # int8 input, full integer
    # 6x6x4 outputs x 9 MACs + 144 x 3: the converter keeps every MAC in int8 too
    assert analysis.report.macs == 6 * 6 * 4 * 9 + 6 * 6 * 4 * 3


def test_bad_requests(v1) -> None:
    with pytest.raises(ConvcostError, match=r"int8 conversion needs a representative dataset"):
        convert.to_tflite(v1, "int8")
    with pytest.raises(ConvcostError, match=r"Unknown precision; use fp32 or int8. Received"):
        convert.to_tflite(v1, "f16")


def test_cache_converts_each_model_once(v1, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(convert, "to_tflite", lambda m, p, r=None: calls.append(p) or b"TFL3")
    cache = convert.ConversionCache()
    for _ in range(3):
        cache.get(v1, "fp32")
    cache.get(v1, "int8", np.zeros((1, 28, 28, 1), np.float32))
    assert calls == ["fp32", "int8"]
