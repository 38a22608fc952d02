"""``convcost analyze model.tflite``: ops, JSON keys, --against, --strict and errors."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error, cli_ok, run_cli


def test_table_and_against(tflite_model, tmp_path) -> None:
    model, path = tflite_model("v1")
    keras_file = tmp_path / "v1.keras"
    model.save(keras_file)
    out = cli_ok("analyze", str(path), "--against", str(keras_file), "--group-by", "kind")
    assert "params match the file's weight buffers: 47,306 ✓" in out  # 48,330 - 1,024
    assert "BatchNormalization, folded into neighbouring weights: 1,024" in out
    assert "= params the file stores: 47,306 ✓" in out
    assert "MACs equal per kind: yes ✓; weights equal per kind: yes ✓" in out


@pytest.mark.slow
def test_json_keeps_the_analyze_keys(tflite_model) -> None:
    _, path = tflite_model("v2")
    data = json.loads(cli_ok("analyze", str(path), "-f", "json", "--against", "v2"))
    assert {"schema_version", "model", "totals", "layers", "unsupported", "check"} <= set(data)
    assert data["totals"]["macs"] == 4_254_656
    assert data["tflite"]["params_per_op"] == 28_122
    assert data["against"]["ok"] is True
    assert data["against"]["shared_params"] == 56  # the three shortcut biases


def test_other_model_disagrees_after_its_output(tflite_model) -> None:
    _, path = tflite_model("v1")
    result = run_cli("analyze", str(path), "--against", "naive")
    assert_one_line_error(result, 1, r"The .tflite file and the Keras model disagree",
                          stdout_empty=False)
    assert "Keras layers without a matching op" in result.stdout


def test_strict_on_an_unsupported_op(tmp_path) -> None:
    import keras

    from convcost.measure.convert import to_tflite

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Conv2DTranspose(2, 3)(inputs))
    path = tmp_path / "up.tflite"
    path.write_bytes(to_tflite(model))
    assert "TRANSPOSE_CONV × 1: no cost rule" in cli_ok("analyze", str(path))
    assert_one_line_error(run_cli("analyze", str(path), "--strict"), 2,
                          r"--strict: no cost rule for TRANSPOSE_CONV \(1 op\)")


@pytest.mark.parametrize(("args", "match"), [
    (["--memory"], r"--memory applies to Keras models, not to a .tflite file"),
    (["--input-shape", "28,28,1"], r"--input-shape applies to Keras models"),
    (["--seq-len", "8"], r"--seq-len applies to Keras models, not to a .tflite file"),
    (["--causal"], r"--causal applies to Keras models"),
    (["--training"], r"--training applies to Keras models"),
    (["--moe", "executed"], r"--moe applies to Keras models"),
])
def test_keras_only_options(args: list[str], match: str, tflite_model) -> None:
    _, path = tflite_model("v1")
    assert_one_line_error(run_cli("analyze", str(path), *args), 1, match)


def test_against_needs_a_tflite_model() -> None:
    assert_one_line_error(run_cli("analyze", "v1", "--against", "v1"), 1,
                          r"--against applies to a .tflite MODEL only")


def test_not_a_tflite_file(tmp_path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_text("hello")
    assert_one_line_error(run_cli("analyze", str(junk)), 1, r"Not a TFLite flatbuffer")
