"""``convcost verify`` through the CLI, and hostile or bad model files (made here, in tmp_path,
by damaging real saved models)."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
from keras import layers as L

from convcost import ConvcostError
from convcost.models.loader import load_model
from tests.conftest import assert_one_line_error, cli_json, run_cli


def invoke(*args: str):
    return run_cli("verify", *args)

def _small_model():
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, name="conv")(inp)
    return keras.Model(inp, L.Dense(2, name="fc")(L.GlobalAveragePooling2D(name="gap")(x)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real model saved as .keras and .h5."""
    folder = tmp_path_factory.mktemp("models")
    model = _small_model()
    paths = {suffix: folder / f"small{suffix}" for suffix in (".keras", ".h5")}
    for path in paths.values():
        model.save(path)
    return paths


# --- the command -----------------------------------------------------------------------------


def test_verify_a_zoo_model_agrees_and_exits_0():
    result = invoke("v1")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "v1: 9/9 layers with MACs agree exactly with TensorFlow's profiler." in result.stdout
    assert "BatchNormalization: AddV2, Mul, Rsqrt, Sub" in result.stdout
    assert result.stderr == ""


def test_verify_json_carries_exact_integers():
    result = invoke("naive", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["path"]: row for row in data["layers"]}
    # conv_1: 14x14 outputs x 3x3 x 1 x 32, counted by hand; TF counts 2 FLOPs per MAC
    assert rows["conv_1"]["macs"] == 14 * 14 * 9 * 32
    assert rows["conv_1"]["profiler_mac_flops"] == 2 * 14 * 14 * 9 * 32
    assert data["agree"] is True and data["convcost"]["macs"] == 25_362_816


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_verify_model_files(saved, suffix):
    result = invoke(str(saved[suffix]))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2/2 layers with MACs agree" in result.stdout


def test_a_disagreement_exits_1_with_a_one_line_summary(tmp_path):
    inp = keras.Input((5, 5, 3))
    path = tmp_path / "up.keras"
    keras.Model(inp, L.Conv2DTranspose(4, 3, strides=2, name="up")(inp)).save(path)
    result = invoke(str(path))
    assert_one_line_error(result, 1, r"disagree: .*0/1 layers with MACs agree.*up \(differs",
                          stdout_empty=False)
    assert "stride^2" in result.stdout


def test_input_shape_is_needed_for_unknown_spatial_sizes(tmp_path):
    inp = keras.Input((None, None, 3))
    path = tmp_path / "any_size.keras"
    keras.Model(inp, L.Conv2D(4, 3, name="conv")(inp)).save(path)
    assert_one_line_error(invoke(str(path)), 1, r"unknown dimension.*--input-shape.*Received",
                          stdout_empty=False)
    result = invoke(str(path), "--input-shape", "16,16,3")
    assert result.exit_code == 0, result.stderr
    assert "1/1 layers with MACs agree" in result.stdout


@pytest.mark.parametrize(("args", "pattern"), [
    (("v1", "--format", "xml"), r"--format.*'xml' is not one of 'table', 'json'"),
    (("mobilnet",), r"Unknown model name\. Received: 'mobilnet'\. Did you mean 'mobilenet'"),
    (("v1", "--input-shape", "28,28"), r"--input-shape must have 3 sizes"),
])
def test_bad_options_are_one_line_errors(args, pattern):
    assert_one_line_error(invoke(*args), 1, pattern, stdout_empty=False)


# --- hostile and bad files -------------------------------------------------------------------


def _truncated(source, tmp_path, name):
    data = source.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    return path


def _zip_without_config(tmp_path):
    path = tmp_path / "no_config.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
    return path


BAD_FILES = [
    ("truncated_keras", lambda s, t: _truncated(s[".keras"], t, "cut.keras"),
     r"Not a .keras archive \(a .keras file is a zip.*Received: '.*cut\.keras'"),
    ("truncated_h5", lambda s, t: _truncated(s[".h5"], t, "cut.h5"),
     r"Could not load the model file.*Received: '.*cut\.h5'"),
    ("random_bytes", lambda s, t: (t / "noise.keras").write_bytes(
        np.random.default_rng(0).bytes(4096)) and t / "noise.keras",
     r"Not a .keras archive.*Received: '.*noise\.keras', 4,096 bytes"),
    ("text_renamed", lambda s, t: (t / "notes.keras").write_text("just text\n") and
     t / "notes.keras", r"Not a .keras archive.*Received: '.*notes\.keras'"),
    ("zip_without_config", lambda s, t: _zip_without_config(t),
     r"Could not load the model file.*Received: '.*no_config\.keras'"),
    ("directory", lambda s, t: t, r"got a directory\. Received: '.*'"),
    ("missing", lambda s, t: t / "absent.keras", r"Model file not found\. Received: '.*absent"),
]


@pytest.mark.parametrize(("make", "pattern"), [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_bad_files_are_one_line_errors_in_the_api_and_the_cli(saved, tmp_path, make, pattern):
    path = make(saved, tmp_path)
    with pytest.raises(ConvcostError, match=pattern) as info:
        load_model(path)
    assert "\n" not in str(info.value)
    assert_one_line_error(invoke(str(path)), 1, pattern, stdout_empty=False)


def test_a_lambda_layer_needs_unsafe(tmp_path):
    inp = keras.Input((4,))
    x = L.Lambda(lambda t: t * 2.0, name="double")(inp)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, L.Dense(3, name="fc")(x)).save(path)
    pattern = r"safe mode refuses.*--unsafe.*Received: '.*lambda\.keras'"
    with pytest.raises(ConvcostError, match=pattern):
        load_model(path)
    assert_one_line_error(invoke(str(path)), 1, pattern, stdout_empty=False)
    assert load_model(path, safe_mode=False).count_params() == 15
    result = invoke(str(path), "--unsafe")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "1/1 layers with MACs agree" in result.stdout


def test_a_narrow_table_keeps_every_number():
    result = invoke("v1", "--width", "70")
    data = json.loads(invoke("v1", "--format", "json").stdout)
    assert result.exit_code == 0, result.stderr
    for row in data["layers"]:
        assert f"{row['profiler_mac_flops']:,}" in result.stdout
    assert "…" not in result.stdout


def test_verify_training_v1() -> None:
    data = cli_json("verify", "v1", "--training")
    assert data["agree"] and data["hidden_ops"] == []
    roles = data["roles"]
    assert [roles[r]["convcost"] for r in ("forward", "dx", "dW")] == [
        3_109_760, 3_109_760 - 56_448, 3_109_760]
    assert [roles[r]["ops"] for r in ("forward", "dx", "dW")] == [
        roles[r]["convcost"] for r in ("forward", "dx", "dW")]
    # TF's profiler has no FLOPs statistic for the depthwise backprops: 225,792 MACs each
    # (dw_2 56,448 + dw_3 112,896 + dw_4 56,448) are missing from its dx and dW
    assert data["profiler_uncounted_ops"] == ["DepthwiseConv2dNativeBackpropFilter",
                                              "DepthwiseConv2dNativeBackpropInput"]
    assert roles["dx"]["profiler"] == roles["dx"]["ops"] - 225_792
    assert roles["dW"]["profiler"] == roles["dW"]["ops"] - 225_792
