"""``convcost bench --runtime``: one table per runtime, JSON, and one-line errors."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, cli_json, run_cli, run_ok

QUICK = ["--batch-size", "1", "--repeats", "3", "--warmup", "1", "--peak-size", "64",
         "--peak-repeats", "1"]


def test_litert_json_for_v1() -> None:
    document = cli_json("bench", "v1", "--runtime", "litert", "--threads", "1", *QUICK)
    (run,) = document["runs"]
    assert (run["runtime"], run["precision"], run["threads"], run["batch_size"]) == (
        "litert", "fp32", "1", 1)
    (model,) = run["models"]
    assert (model["model"], model["macs"], model["params"]) == ("v1", 3_109_760, 48_330)
    assert model["measured_speedup"] == 1.0 and model["predicted_speedup"] == 1.0
    assert model["accuracy"] is None and model["tflite_bytes"] > 0
    assert len(model["seconds"]) == 3
    assert document["versions"]["ai-edge-litert"] and document["load"]["before"]


@pytest.mark.slow
def test_tables_per_runtime() -> None:
    out = run_ok("bench", "v1", "--runtime", "litert", *QUICK).stdout
    assert out.startswith("litert (XNNPACK, fp32) · threads 1 · batch 1")
    assert " v1 " in out and "pred  meas" in out and "GFLOP/s" in out


@pytest.mark.parametrize(("args", "match"), [
    (["--runtime", "onnx"], r"Unknown runtime; use tf, litert, litert-int8, jax, torch. "
                            r"Received: 'onnx'"),
    (["--runtime", "litert", "--threads", "0"], r"--threads must be positive integers .* "
                                                r"Received: '0'"),
    (["--runtime", "tf", "--threads", "1,2"], r"TensorFlow's threads are set once per process"),
    (["mobilnet", "--runtime", "litert"], r"Unknown model name. Received: 'mobilnet'"),
    (["x.tflite", "--runtime", "litert"], r"A .tflite file is not a Keras model"),
])
def test_errors(args: list[str], match: str, tmp_path) -> None:
    if "x.tflite" in args:
        (tmp_path / "x.tflite").write_bytes(b"")
        args = [str(tmp_path / "x.tflite"), *args[1:]]
    assert_one_line_error(run_cli("bench", *args, *QUICK), 1, match)


def test_int8_never_downloads_mnist(tmp_path, monkeypatch) -> None:
    """Offline, without --data or $CONVCOST_MNIST and with no Keras cache: one line that says
    what to pass, nothing on stdout (no "Downloading data from ..."), no download tried."""
    import keras

    def no_network():
        raise AssertionError("tried to download MNIST")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    result = run_cli("bench", "naive", "--runtime", "litert-int8", "--repeats", "1",
                     env={"CONVCOST_MNIST": None, "KERAS_HOME": str(tmp_path)})
    assert_one_line_error(result, 1, r"nothing is downloaded: pass --data PATH .* set "
                                     r"\$CONVCOST_MNIST")
