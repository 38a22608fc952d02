"""Model specs: zoo names vs files, and one-line errors for bad files."""

from __future__ import annotations

import keras
import pytest

from convcost import ConvcostError
from convcost.models.loader import ModelSpec, load_model, obtain


def _saved(tmp_path, suffix=".keras"):
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(3, name="d")(inp))
    path = tmp_path / f"m{suffix}"
    model.save(path)
    return path, model


def test_zoo_names_and_files_are_told_apart(tmp_path):
    path, model = _saved(tmp_path)
    assert obtain(ModelSpec("v1")).name == "v1"
    assert obtain(ModelSpec(str(path))).count_params() == model.count_params()


def test_h5_files_load(tmp_path):
    path, _ = _saved(tmp_path, ".h5")
    assert load_model(path).count_params() == 15


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.keras", "Model file not found. Received: '.*missing.keras'"),
        (lambda p: p, "got a directory"),
        (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "Unsupported model file type"),
        (lambda p: (p / "x.keras").write_bytes(b"not a zip") and p / "x.keras",
         r"Not a .keras archive.*x.keras., 9 bytes"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, make, message):
    with pytest.raises(ConvcostError, match=message) as info:
        load_model(make(tmp_path))
    assert "\n" not in str(info.value)


def test_truncated_model_file(tmp_path):
    path, _ = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConvcostError, match="corrupt, truncated"):
        load_model(path)


def test_lambda_layers_need_unsafe(tmp_path):
    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Lambda(lambda x: x * 2)(inp))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ConvcostError, match="safe mode refuses.*--unsafe"):
        load_model(path)
    assert load_model(path, safe_mode=False).output_shape == (None, 2)


@pytest.mark.parametrize("option", [{"alpha": 0.5}, {"classes": 3}, {"include_top": False}])
def test_zoo_options_are_refused_for_files(tmp_path, option):
    path, _ = _saved(tmp_path)
    with pytest.raises(ConvcostError, match="zoo models only"):
        obtain(ModelSpec(str(path), **option))


def test_a_zoo_name_wins_over_a_same_named_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "naive").mkdir()
    assert not ModelSpec("naive").is_file
    assert ModelSpec("./naive").is_file
    (tmp_path / "mine").write_text("x")
    assert ModelSpec("mine").is_file
