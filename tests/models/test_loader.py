"""The one way in for a model: requests (options checked, no TensorFlow), resolution (shape-only
unless run, behind a guard), counting at the requested shapes; one-line errors for bad files."""

from __future__ import annotations

import keras
import pytest

from convcost import ConvcostError
from convcost.models import loader
from convcost.models.loader import ModelSpec, load_model


def _saved(tmp_path, suffix=".keras"):
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(3, name="d")(inp))
    path = tmp_path / f"m{suffix}"
    model.save(path)
    return path, model


def test_zoo_names_and_files_are_told_apart(tmp_path):
    path, model = _saved(tmp_path)
    assert loader.resolve("v1").model.name == "v1"
    assert loader.resolve(str(path)).model.count_params() == model.count_params()


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
        loader.request(str(path), **option)


def test_a_zoo_name_wins_over_a_same_named_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "naive").mkdir()
    assert not ModelSpec("naive").is_file
    assert ModelSpec("./naive").is_file
    (tmp_path / "mine").write_text("x")
    assert ModelSpec("mine").is_file


@pytest.mark.parametrize(("source", "options", "message"), [
    ("v1", {"seq_len": 128}, r"--seq-len applies to text models; 'v1' takes an image"),
    ("v1", {"input_shape": (28, 28)}, r"--input-shape must have 3 sizes \(H,W,C\)\. "
                                       r"Received: '28,28'"),
    ("gpt2", {"input_shape": (128,)}, r"'gpt2' is a text model with several token inputs"),
    ("gpt2", {"seq_len": 0}, r"--seq-len"),
    ("no_such_model", {}, r"no_such_model"),
])
def test_requests_refuse_options_that_do_not_apply(source, options, message):
    with pytest.raises(ConvcostError, match=message) as info:
        loader.request(source, **options)
    assert "\n" not in str(info.value)


def test_a_zoo_image_model_is_rebuilt_at_its_shape():
    asked = loader.request("v1", input_shape=(32, 32, 1))
    assert asked.spec.input_shape == (32, 32, 1) and asked.shapes is None
    # v1's MACs by hand: 3,944 per input pixel (convs) + 17,664 (the two Dense layers)
    assert loader.count(loader.resolve(asked)).macs == 3_944 * 32 * 32 + 17_664


def test_a_zoo_text_model_defaults_to_its_context_and_says_so():
    asked = loader.request("gpt2")
    assert asked.seq_len == 1024 and asked.text_default
    report = loader.count(loader.resolve(asked))
    assert report.notes[0].startswith("Sequence length 1024: the context length of 'gpt2'")
    assert not loader.request("gpt2", seq_len=16).text_default


def test_zoo_models_are_shape_only_unless_run():
    shape_only = loader.resolve("v1").model
    assert all(w._value is None for w in shape_only.weights)  # Keras' storage: never allocated
    built = loader.resolve("v1", run=True).model
    assert float(keras.ops.sum(keras.ops.abs(built.weights[0].value))) > 0


def test_the_guard_sees_the_counts_before_the_real_build():
    seen = []

    def guard(report):
        seen.append(report.params)
        raise ConvcostError("refused")

    with pytest.raises(ConvcostError, match="refused"):
        loader.resolve("naive", run=True, guard=guard)
    assert seen == [259_082]  # the article's naive net, by model.summary()


@pytest.mark.slow
def test_past_the_learned_positions_is_noted():
    # GPT-2's published config: 1,024 learned positions (n_positions)
    within = loader.resolve("gpt2", seq_len=1024)
    assert not within.past_positions
    beyond = loader.resolve("gpt2", seq_len=2048)
    assert beyond.past_positions
    assert "1,024 learned positions; at 2,048 tokens" in beyond.notes[0]
    assert not loader.resolve("llama2_7b", seq_len=8192).past_positions  # rotary: any length


def _declaring(tmp_path, units: int):
    """A small .keras file whose config declares a Dense of 100,000 -> ``units`` (its weights
    file still holds the small model's: it is never read)."""
    import json
    import zipfile

    path, _ = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    text = json.dumps(config).replace('"units": 3', f'"units": {units}')
    text = text.replace("[null, 4]", "[null, 100000]")
    files["config.json"] = text.encode()
    big = tmp_path / "declares_big.keras"
    with zipfile.ZipFile(big, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return big


def test_a_keras_file_is_counted_from_its_architecture_alone(tmp_path):
    big = _declaring(tmp_path, 1_000_000)  # 10^11 weights: 400 GB of float32 if allocated
    assert big.stat().st_size < 100_000
    report = loader.count(loader.resolve(str(big)))
    assert report.params == 100_000 * 1_000_000 + 1_000_000 == report.keras_count_params
    assert report.macs == 100_000 * 1_000_000


def test_the_guard_refuses_a_huge_file_before_reading_its_weights(tmp_path):
    big = _declaring(tmp_path, 1_000_000)
    seen = []

    def guard(report):
        seen.append(report.params)
        raise ConvcostError("refused")

    with pytest.raises(ConvcostError, match="refused"):
        loader.resolve(str(big), run=True, guard=guard)
    assert seen == [100_000 * 1_000_000 + 1_000_000]


def test_a_request_imports_no_tensorflow():
    """Options are checked before the slow import (the CLI's one-line errors come at once,
    and TensorFlow's start-up lines are silenced only where it is imported on purpose)."""
    import subprocess
    import sys

    code = ("import sys\nfrom convcost.models import loader\n"
            "loader.request('v1', input_shape=(32, 32, 1)); loader.request('gpt2', seq_len=8)\n"
            "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
