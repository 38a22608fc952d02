"""``convcost export MODEL -o FILE.tflite [--int8 [--data FILE]]``: the file round-trips through
``analyze FILE.tflite --against MODEL`` with every MAC, and bad input is one line, no file."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, cli_json, run_cli, run_ok

V1_MACS = 3_109_760  # the article's v1 by hand (tests/count/test_walker.py, README)
V2_MACS = 4_254_656


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mnist_path):
    """v1 as fp32 and v2 as int8 (calibrated on the real MNIST), exported once."""
    folder = tmp_path_factory.mktemp("export")
    fp32, int8 = folder / "v1.tflite", folder / "v2-int8.tflite"
    fp32_out = run_ok("export", "v1", "-o", str(fp32)).stdout
    int8_out = run_ok("export", "v2", "--int8", "--data", str(mnist_path), "-o", str(int8)).stdout
    return {"fp32": (fp32, fp32_out), "int8": (int8, int8_out)}


@pytest.mark.parametrize(("precision", "model", "macs"), [("fp32", "v1", V1_MACS),
                                                          ("int8", "v2", V2_MACS)])
def test_round_trip_keeps_every_mac(exported, precision, model, macs):
    path, printed = exported[precision]
    assert f"{path.stat().st_size:,} bytes, {precision}" in printed
    data = cli_json("analyze", str(path), "--against", model)
    assert data["totals"]["macs"] == macs
    assert data["against"]["ok"] is True


def test_int8_file_has_int8_input_and_output(exported):
    import numpy as np

    interpreter = pytest.importorskip("ai_edge_litert.interpreter")
    for precision, dtype in (("int8", np.int8), ("fp32", np.float32)):
        runner = interpreter.Interpreter(model_path=str(exported[precision][0]))
        assert runner.get_input_details()[0]["dtype"] == dtype
        assert runner.get_output_details()[0]["dtype"] == dtype


@pytest.mark.slow
def test_int8_calibrates_from_the_environment(tmp_path, mnist_path):
    path = tmp_path / "naive.tflite"
    run_ok("export", "naive", "--int8", "-o", str(path), env={"CONVCOST_MNIST": str(mnist_path)})
    assert path.read_bytes()[4:8] == b"TFL3"  # the flatbuffer's file identifier


def test_refused_op_is_one_line_and_no_file(tmp_path):
    import keras

    inputs = keras.Input((3, 3))
    keras.Model(inputs, keras.ops.det(inputs), name="det").save(tmp_path / "det.keras")
    target = tmp_path / "det.tflite"
    assert_one_line_error(run_cli("export", str(tmp_path / "det.keras"), "-o", str(target)), 1,
                          r"TFLite conversion \(fp32\) of 'det' failed: no LiteRT built-in "
                          r"kernel for the TensorFlow ops MatrixDeterminant")
    assert list(tmp_path.iterdir()) == [tmp_path / "det.keras"]  # no file, no temp file left


@pytest.mark.parametrize(("args", "env", "match"), [
    (["-o", "v1.keras"], {}, r"--output must end in \.tflite\. Received: 'v1\.keras'"),
    (["-o", "missing/v1.tflite"], {}, r"--output's directory does not exist"),
    (["-o", "v1.tflite", "--data", "mnist.npz"], {}, r"--data calibrates --int8 only"),
    (["-o", "v1.tflite", "--int8"], {"CONVCOST_MNIST": None},
     r"--int8 needs calibration images: --data mnist\.npz or \$CONVCOST_MNIST"),
    (["-o", "v1.tflite", "--int8", "--data", "nowhere.npz"], {},
     r"MNIST path does not exist \(from --data\)"),
])
def test_bad_input_is_one_line(tmp_path, monkeypatch, args, env, match):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run_cli("export", "v1", *args, env=env), 1, match)
    assert list(tmp_path.iterdir()) == []


def test_int8_needs_mnist_shaped_input(tmp_path, mnist_path):
    result = run_cli("export", "v1", "--input-shape", "32,32,3", "--int8", "--data",
                     str(mnist_path), "-o", str(tmp_path / "x.tflite"))
    assert_one_line_error(result, 1, r"do not fit the model's input\. Received: input shape "
                                     r"\(32, 32, 3\)")
