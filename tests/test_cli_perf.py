"""``convcost probe`` and ``convcost profile`` through the CLI: outputs, files, error cases."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcost.cli import app

runner = CliRunner()
DEVICE_ARGS = ["--peak-gflops", "100", "--bandwidth-gbs", "10"]
FAST = ["--batch-size", "2", "--repeats", "1", "--warmup", "1"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A tiny saved model: conv, depthwise, pointwise, residual add, GAP, dense."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(8, 8, 3))
    a = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    b = layers.DepthwiseConv2D(3, padding="same", name="dw")(a)
    b = layers.Conv2D(8, 1, name="pw")(b)
    x = layers.GlobalAveragePooling2D(name="gap")(layers.Add(name="add")([a, b]))
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    keras.Model(inputs, layers.Dense(3, name="fc")(x), name="tiny").save(path)
    return path


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _fails(result, message):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_probe_writes_a_profile(tmp_path):
    target = tmp_path / "dev.json"
    result = _ok(runner.invoke(app, ["probe", "--output", str(target), "--matmul-size", "64",
                                     "--copy-mb", "1", "--repeats", "2"]))
    data = json.loads(target.read_text())
    assert data["peak_flops"] > 0 and data["bandwidth"] > 0 and data["source"] == "probe"
    assert str(target) in result.output and "GFLOP/s" in result.output


def test_probe_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _ok(runner.invoke(app, ["probe", "--matmul-size", "32", "--copy-mb", "1",
                            "--repeats", "1", "--method", "numpy"]))
    assert json.loads((tmp_path / "convcost" / "device.json").read_text())["bandwidth"] > 0


def test_profile_json_is_consistent(model_file):
    result = _ok(runner.invoke(app, ["profile", str(model_file), *FAST, *DEVICE_ARGS,
                                     "--format", "json"]))
    data = json.loads(result.stdout)
    assert [r["path"] for r in data["layers"]] == ["c1", "dw", "pw", "add", "gap", "fc"]
    assert data["batch_size"] == 2 and data["device"]["peak_gflops"] == pytest.approx(100)
    # MACs per sample by hand: c1 3*3*3*8*64, dw 9*8*64, pw 8*8*64, fc 8*3; x batch 2
    assert data["totals"]["batch_macs"] == 2 * (13824 + 4608 + 4096 + 24)
    assert sum(r["batch_macs"] for r in data["layers"]) == data["totals"]["batch_macs"]
    assert sum(k["macs_share"] for k in data["kinds"]) == pytest.approx(1.0)
    assert sum(k["time_share"] for k in data["kinds"]) == pytest.approx(1.0)
    assert all(r["seconds"] > 0 for r in data["layers"])


def test_profile_markdown_to_file_and_plots(model_file, tmp_path):
    out, plots = tmp_path / "p.md", tmp_path / "plots"
    _ok(runner.invoke(app, ["profile", str(model_file), *FAST, *DEVICE_ARGS, "--format",
                            "markdown", "--output", str(out), "--plot", str(plots)]))
    text = out.read_text()
    assert "| layer | type | kind |" in text and "| depthwise |" in text
    assert sorted(p.name for p in plots.iterdir()) == ["tiny_roofline.png", "tiny_shares.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in plots.iterdir())


def test_profile_table(model_file):
    result = _ok(runner.invoke(app, ["profile", str(model_file), *FAST, *DEVICE_ARGS]))
    assert "per kind" in result.stdout and "whole model forward" in result.stdout


def test_profile_with_a_saved_device_profile(model_file, tmp_path):
    file = tmp_path / "dev.json"
    file.write_text('{"peak_gflops": 50, "bandwidth_gbs": 5}')
    result = _ok(runner.invoke(app, ["profile", str(model_file), *FAST, "--device-profile",
                                     str(file), "--format", "json"]))
    assert json.loads(result.stdout)["device"]["ridge_flops_per_byte"] == pytest.approx(10.0)


@pytest.mark.parametrize(("args", "message"), [
    (["--device-profile", "{missing}"], "Device profile not found"),
    (["--device-profile", "{corrupt}"], "The device profile is not valid JSON"),
    (["--peak-gflops", "-5", "--bandwidth-gbs", "10"],
     "--peak-gflops must be a positive number. Received: -5.0"),
    (["--format", "xml", *DEVICE_ARGS], "Unknown format; use one of table, json, markdown. "
                                        "Received: 'xml'"),
    (["--batch-size", "0", *DEVICE_ARGS], "batch size must be a positive integer. Received: 0"),
    (["--input-shape", "8,x,3", *DEVICE_ARGS], "--input-shape takes positive integers"),
])
def test_profile_errors(model_file, tmp_path, args, message):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{peak")
    args = [a.format(missing=tmp_path / "none.json", corrupt=corrupt) for a in args]
    _fails(runner.invoke(app, ["profile", str(model_file), *args]), message)


def test_profile_output_not_written_on_error(model_file, tmp_path):
    out = tmp_path / "result.json"
    _fails(runner.invoke(app, ["profile", str(model_file), "--peak-gflops", "0",
                               "--bandwidth-gbs", "1", "--output", str(out)]),
           "--peak-gflops must be a positive number")
    assert not out.exists()


def test_probe_bad_size(tmp_path):
    _fails(runner.invoke(app, ["probe", "--output", str(tmp_path / "d.json"),
                               "--matmul-size", "0"]),
           "matmul_size must be a positive integer. Received: 0")
    assert not (tmp_path / "d.json").exists()
