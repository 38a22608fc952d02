"""Counting a .tflite file: equal to the Keras count of the article's nets (MACs exactly;
params after the folded batch norms, counted by hand), rows by hand, no TensorFlow, bad files
and unsupported ops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from convcost.count import tflite
from convcost.errors import ConvcostError

# MACs per sample from TensorFlow's profiler (FINDINGS: its Conv2D + DepthwiseConv2dNative +
# MatMul FLOPs = 2 x these), params from count_params().
REFERENCE = {"naive": (259_082, 25_362_816), "v1": (48_330, 3_109_760),
             "v2": (28_122, 4_254_656)}
# naive and v1 put BatchNormalization(128) after the pooling and after fc1: 2 x 4 x 128 params,
# folded by the converter into the following Dense; v2 has no batch norm.
BATCHNORM = {"naive": 2 * 4 * 128, "v1": 2 * 4 * 128, "v2": 0}
# v2's shortcut convs (blocks 1, 2, 4) hold the same bias as their projection, as after
# training; the converter stores each of those 8 + 16 + 32 biases once.
SHARED = {"naive": 0, "v1": 0, "v2": 8 + 16 + 32}


@pytest.mark.parametrize("name", ["naive", "v1", "v2"])
def test_tflite_count_equals_the_keras_count(name: str, tflite_model) -> None:
    model, path = tflite_model(name)
    analysis = tflite.analyze_tflite(path)
    params, macs = REFERENCE[name]
    assert model.count_params() == params
    assert analysis.report.macs == macs
    assert analysis.params_per_op == params - BATCHNORM[name]
    assert analysis.report.params == analysis.params_per_op - SHARED[name]
    assert analysis.report.params_match  # the counted params are what the buffers hold
    assert analysis.report.unsupported == {}


def test_v1_rows_by_hand(tflite_model) -> None:
    report = tflite.analyze_tflite(tflite_model("v1")[1]).report
    rows = {row.path: row for row in report.layers}
    conv = rows["0:conv_1_1"]  # 3x3x1x32 + 32 bias; 14x14x32 outputs x 9 MACs
    assert (conv.type, conv.kind, conv.params, conv.macs) == ("CONV_2D", "standard", 320,
                                                              14 * 14 * 32 * 9)
    assert conv.output_shape == (14, 14, 32) and conv.input_shapes == ((28, 28, 1),)
    dw = rows["1:dw_2_1"]  # 3x3x32 + 32; 14x14x32 x 9
    assert (dw.kind, dw.params, dw.macs) == ("depthwise", 320, 56_448)
    pw = rows["2:pw_2_1"]  # 32x64 + 64; 14x14x64 x 32
    assert (pw.kind, pw.params, pw.macs) == ("pointwise", 2_112, 401_408)
    fc = rows["8:fc1_1"]  # Dense 128 -> 128 with the batch norm before it folded in
    assert (fc.type, fc.kind, fc.params, fc.macs) == ("FULLY_CONNECTED", "fully_connected",
                                                      128 * 128 + 128, 128 * 128)
    # other FLOPs: bias + ReLU per output element (2 x 6,272) for the first conv
    assert conv.other_flops == 2 * 14 * 14 * 32
    assert [r.type for r in report.layers][-3:] == ["FULLY_CONNECTED", "FULLY_CONNECTED",
                                                   "SOFTMAX"]


def test_int8_file_counts_the_same(tflite_model) -> None:
    analysis = tflite.analyze_tflite(tflite_model("v1", precision="int8")[1])
    assert analysis.precision == "int8"
    assert analysis.report.macs == REFERENCE["v1"][1]
    assert analysis.params_per_op == REFERENCE["v1"][0] - BATCHNORM["v1"]
    assert analysis.report.params_match  # int8 weights, int32 biases: bytes / element size


def test_reading_never_imports_tensorflow(tflite_model) -> None:
    path = tflite_model("v1")[1]
    code = ("import json, sys\n"
            "from typer.testing import CliRunner\n"
            "from convcost.cli import app\n"
            f"out = CliRunner().invoke(app, ['analyze', {str(path)!r}, '-f', 'json'])\n"
            "print(json.dumps([out.exit_code, json.loads(out.stdout)['totals']['macs'],"
            " sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == [0, REFERENCE["v1"][1], []]


def test_bad_files(tmp_path: Path, tflite_model) -> None:
    with pytest.raises(ConvcostError, match=r"TFLite file not found. Received: '.*nope.tflite'"):
        tflite.read_tflite(tmp_path / "nope.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"PK\x03\x04 not a flatbuffer at all")
    with pytest.raises(ConvcostError, match=r"no 'TFL3' identifier .* Received: .*junk.tflite"):
        tflite.read_tflite(junk)
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(tflite_model("v1")[1].read_bytes()[:400])
    with pytest.raises(ConvcostError, match=r"Could not read the TFLite file .*Received"):
        tflite.read_tflite(cut)


def test_missing_schema_is_a_clear_error(monkeypatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    tflite.schema.cache_clear()
    try:
        with pytest.raises(ConvcostError, match=r"pip install 'convcost\[litert\]'"):
            tflite.schema()
    finally:
        monkeypatch.undo()
        tflite.schema.cache_clear()


@pytest.fixture(scope="module")
def transposed(tmp_path_factory) -> Path:
    """A tiny model whose Conv2DTranspose becomes TRANSPOSE_CONV, an op without a rule."""
    import keras

    from convcost.measure.convert import to_tflite
    from tests.conftest import randomize_weights

    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Conv2DTranspose(2, 3, name="up")(inputs)
    model = randomize_weights(keras.Model(inputs, outputs))
    path = tmp_path_factory.mktemp("op") / "up.tflite"
    path.write_bytes(to_tflite(model))
    return path


def test_unsupported_op_is_listed_never_zero(transposed: Path) -> None:
    report = tflite.analyze_tflite(transposed).report
    assert report.unsupported == {"TRANSPOSE_CONV": 1}
    row = next(r for r in report.layers if not r.supported)
    # its constants are params (3x3x1x2 kernel + 2 bias, maybe with a shape vector), MACs unknown
    assert row.params >= 3 * 3 * 2 + 2 and row.pieces == () and "no cost rule" in row.note
