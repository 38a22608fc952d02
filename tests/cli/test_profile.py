"""``convcost probe`` and ``convcost profile`` through the CLI: outputs, files, error cases."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import assert_one_line_error, run_cli, run_ok

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


def test_probe_writes_a_profile(tmp_path):
    target = tmp_path / "dev.json"
    result = run_ok(*["probe", "--output", str(target), "--matmul-size", "64",
                                     "--copy-mb", "1", "--repeats", "2"])
    data = json.loads(target.read_text())
    assert data["peak_flops"] > 0 and data["bandwidth"] > 0 and data["source"] == "probe"
    assert str(target) in result.output and "GFLOP/s" in result.output


def test_probe_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    run_ok(*["probe", "--matmul-size", "32", "--copy-mb", "1",
                            "--repeats", "1", "--method", "numpy"])
    assert json.loads((tmp_path / "convcost" / "device.json").read_text())["bandwidth"] > 0


def test_profile_json_is_consistent(model_file):
    result = run_ok(*["profile", str(model_file), *FAST, *DEVICE_ARGS,
                                     "--format", "json"])
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
    run_ok(*["profile", str(model_file), *FAST, *DEVICE_ARGS, "--format",
                            "markdown", "--output", str(out), "--plot", str(plots)])
    text = out.read_text()
    assert "| layer | type | kind |" in text and "| depthwise |" in text
    assert sorted(p.name for p in plots.iterdir()) == ["tiny_roofline.png", "tiny_shares.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in plots.iterdir())


def test_profile_table(model_file):
    result = run_ok(*["profile", str(model_file), *FAST, *DEVICE_ARGS])
    assert "per kind" in result.stdout and "whole model forward" in result.stdout


def test_profile_with_a_saved_device_profile(model_file, tmp_path):
    file = tmp_path / "dev.json"
    file.write_text('{"peak_gflops": 50, "bandwidth_gbs": 5}')
    result = run_ok(*["profile", str(model_file), *FAST, "--device-profile",
                                     str(file), "--format", "json"])
    assert json.loads(result.stdout)["device"]["ridge_flops_per_byte"] == pytest.approx(10.0)


@pytest.mark.parametrize(("args", "message"), [
    (["--device-profile", "{missing}"], "Device profile not found"),
    (["--device-profile", "{corrupt}"], "The device profile is not valid JSON"),
    (["--peak-gflops", "-5", "--bandwidth-gbs", "10"],
     "--peak-gflops must be a positive number. Received: -5.0"),
    (["--format", "xml", *DEVICE_ARGS], "'xml' is not one of 'table', 'json', 'markdown'."),
    (["--batch-size", "0", *DEVICE_ARGS], "batch size must be a positive integer. Received: 0"),
    (["--input-shape", "8,x,3", *DEVICE_ARGS], "--input-shape must be whole numbers"),
])
def test_profile_errors(model_file, tmp_path, args, message):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{peak")
    args = [a.format(missing=tmp_path / "none.json", corrupt=corrupt) for a in args]
    _fails_with(run_cli(*["profile", str(model_file), *args]), message)


def test_profile_output_not_written_on_error(model_file, tmp_path):
    out = tmp_path / "result.json"
    _fails_with(run_cli(*["profile", str(model_file), "--peak-gflops", "0",
                               "--bandwidth-gbs", "1", "--output", str(out)]),
           "--peak-gflops must be a positive number")
    assert not out.exists()


def test_probe_bad_size(tmp_path):
    _fails_with(run_cli(*["probe", "--output", str(tmp_path / "d.json"),
                               "--matmul-size", "0"]),
           "matmul_size must be a positive integer. Received: 0")
    assert not (tmp_path / "d.json").exists()


# --- analyze --memory / --roofline -------------------------------------------------------------

ROOF = ["--peak-gflops", "100", "--bandwidth-gbs", "20"]


def _analyze_json(*args):
    result = run_ok(*["analyze", "v1", "--format", "json", *args])
    return json.loads(result.stdout)


def test_analyze_memory_and_roofline_only_add_keys():
    plain = _analyze_json()
    extended = _analyze_json("--memory", "--roofline", *ROOF)
    for before, after in zip(plain["layers"], extended["layers"], strict=True):
        assert {k: after[k] for k in before} == before
        assert set(after) - set(before) == {"bytes", "intensity", "macs_per_element",
                                            "activation_bytes", "bound", "bound_seconds"}
    assert {k: extended["totals"][k] for k in plain["totals"]} == plain["totals"]
    assert extended["dtype"] == "float32" and extended["device"]["ridge_flops_per_byte"] == 5.0


def test_analyze_memory_and_roofline_hand_numbers():
    data = _analyze_json("--memory", "--roofline", *ROOF, "--batch-size", "128")
    layers = {row["path"]: row for row in data["layers"]}
    # dw_2: 3x3 depthwise with bias on 14x14x32: 6272 in + 6272 out + 288 + 32 weights
    assert layers["dw_2"]["bytes"] == 4 * (6272 + 6272 + 320) == 51456
    # pw_2: 1x1 conv 32 -> 64 with bias on 14x14: 6272 in + 12544 out + 2048 + 64 weights
    assert layers["pw_2"]["bytes"] == 4 * (6272 + 12544 + 2112) == 83712
    assert layers["pw_2"]["activation_bytes"] == 4 * 12544
    # dw_2 FLOPs: 2 * 56448 MACs + 6272 bias + 6272 ReLU = 125440 -> 1.2544 µs at 100 GFLOP/s;
    # 51456 bytes at 20 GB/s = 2.5728 µs: memory-bound
    assert layers["dw_2"]["flops"] == 125440
    assert layers["dw_2"]["bound"] == "memory"
    assert layers["dw_2"]["bound_seconds"] == pytest.approx(2.5728e-6)
    assert layers["dw_2"]["intensity"] == pytest.approx(125440 / 51456)
    totals, per_batch = data["totals"], data["per_batch"]
    assert totals["bytes"] == sum(row["bytes"] for row in data["layers"])
    assert totals["predicted_seconds"] == pytest.approx(
        sum(row["bound_seconds"] for row in data["layers"]))
    # a batch reads the weights once and every activation 128 times
    activations = totals["bytes"] - totals["weight_bytes"]
    assert per_batch["bytes"] == 128 * activations + totals["weight_bytes"]
    assert per_batch["peak_activation_bytes"] == 128 * totals["peak_activation_bytes"]


def test_analyze_memory_table_and_dtype():
    result = run_ok(*["analyze", "v1", "--memory", "--dtype", "float16"],
                               env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert "FLOP/B" in result.stdout and "bytes moved (float16" in result.stdout
    assert "peak activation memory" in result.stdout and "bound" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--memory", "--dtype", "int8"], "'int8' is not one of 'float32', 'float16', "
                                      "'bfloat16'."),
    (["--roofline", "--device-profile", "{corrupt}"], "The device profile is not valid JSON"),
    (["--peak-gflops", "-1", "--bandwidth-gbs", "3"], "--peak-gflops must be a positive number"),
])
def test_analyze_memory_errors(tmp_path, args, message):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{peak")
    args = [a.format(corrupt=corrupt) for a in args]
    _fails_with(run_cli(*["analyze", "v1", *args]), message)


def test_analyze_roofline_on_a_fresh_machine_measures_once_and_saves(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("convcost.cli.device.AUTO_PROBE",
                        {"matmul_size": 64, "copy_mb": 1, "repeats": 1})
    first = run_ok(*["analyze", "v1", "--roofline", "--format", "json"])
    saved = tmp_path / "convcost" / "device.json"
    assert "measuring this machine once" in first.stderr and str(saved) in first.stderr
    profile = json.loads(saved.read_text())
    data = json.loads(first.stdout)
    assert data["device"]["peak_flops"] == profile["peak_flops"] > 0
    assert all(layer["bound"] in ("compute", "memory") for layer in data["layers"])
    again = run_ok(*["analyze", "v1", "--roofline", "--peak-gflops", "7", "--format", "json"])
    assert again.stderr == ""  # the saved profile is used; the typed number overrides it
    assert json.loads(again.stdout)["device"]["peak_flops"] == 7e9


def _fails_with(result, message: str) -> None:
    assert_one_line_error(result, 1, re.escape(message))


def test_profile_table_at_60_columns_cuts_nothing(model_file):
    text = run_ok(*["profile", str(model_file), *FAST, *DEVICE_ARGS, "--width", "60"]).stdout
    assert "…" not in text
    for path in ("c1", "dw", "pw", "add", "gap", "fc"):
        assert re.search(rf"^│ {path}\b", text, re.MULTILINE), path
