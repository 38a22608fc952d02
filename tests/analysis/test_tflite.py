"""A .tflite file against its Keras model: MACs equal per kind, every params difference named
and counted (hand numbers), and a wrong pairing reported."""

from __future__ import annotations

import pytest

from convcost.analysis.tflite import check_against
from convcost.count.tflite import analyze_tflite
from convcost.count.walker import analyze


@pytest.mark.parametrize(("name", "batchnorm"), [("v1", 1_024),
                                                 *(pytest.param(name, count, marks=pytest.mark.slow)
                                                   for name, count in (("naive", 1_024),
                                                                       ("v2", 0)))])
def test_trained_like_nets_are_fully_explained(name: str, batchnorm: int, tflite_model) -> None:
    model, path = tflite_model(name)
    check = check_against(analyze_tflite(path), analyze(model))
    assert check.ok, check
    assert check.macs_match and check.weights_match
    assert check.keras_params == model.count_params()
    # 2 BatchNormalization(128) x 4 params per channel, folded into the following Dense
    assert check.batchnorm_params == batchnorm
    assert (check.dropped_zero_biases, check.created_biases) == (0, 0)
    assert check.file_params_per_op == model.count_params() - batchnorm
    # v2: each shortcut conv (blocks 1, 2, 4) has its projection's bias, stored once
    shared = 8 + 16 + 32 if name == "v2" else 0
    assert check.shared_params == shared
    assert check.file_params_stored == model.count_params() - batchnorm - shared


def test_fresh_model_zero_biases(tflite_model) -> None:
    # a freshly built v1: every bias is zero; the converter may drop or share them, and the
    # check must account for every element either way
    model, path = tflite_model("v1", trained_like=False)
    check = check_against(analyze_tflite(path), analyze(model))
    assert check.ok, check
    fc = next(k for k in check.kinds if k.kind == "fully_connected")
    assert fc.keras_biases == 128 + 10  # fc1 and output
    assert fc.keras_biases - fc.file_biases <= check.dropped_zero_biases


@pytest.mark.slow
def test_another_model_is_not_explained(tflite_model) -> None:
    _, path = tflite_model("v1")
    other, _ = tflite_model("v2")
    check = check_against(analyze_tflite(path), analyze(other))
    assert not check.ok and not check.macs_match
    assert check.unmatched_keras and check.unmatched_file
