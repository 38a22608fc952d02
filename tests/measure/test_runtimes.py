"""Runtimes: a short LiteRT timing of v1, int8 input handling by hand, a trained model's
accuracy on every runtime, and one-line errors for what is missing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from convcost.errors import ConvcostError
from convcost.measure import runtimes
from convcost.measure.bench import ModelEntry, RuntimeSettings, bench_runtimes


def test_short_litert_run_of_v1(zoo_model) -> None:
    settings = RuntimeSettings(batch_size=1, threads=(1,), repeats=4, warmup=1, rounds=2)
    (row,) = bench_runtimes([ModelEntry("v1", zoo_model("v1"))], ["litert"], settings)
    assert (row.runtime, row.precision, row.threads, row.batch_size) == ("litert", "fp32", "1", 1)
    assert row.macs == 3_109_760 and row.params == 48_330  # v1's reference values
    assert len(row.timings.seconds) == 4 and row.timings.min > 0
    assert row.tflite_bytes and row.tflite_bytes > 4 * 47_000  # float32 weights
    assert row.accuracy is None  # a freshly built model: no accuracy claimed


def test_int8_input_by_hand() -> None:
    details = {"dtype": np.int8, "quantization": (1 / 255, -128)}
    assert runtimes.quantize(np.array([0.0, 1.0, 0.5]), details).tolist() == [-128, 127, 0]
    out = {"dtype": np.int8, "quantization": (1 / 256, -128)}
    assert runtimes.dequantize(np.array([-128, 0], np.int8), out).tolist() == [0.0, 0.5]
    same = {"dtype": np.float32, "quantization": (0.0, 0)}
    assert runtimes.quantize(np.array([0.25]), same).dtype == np.float32


@pytest.fixture(scope="module")
def trained_v1(small_run):
    """v1 after `train`'s loop (the session's small run: 2 epochs on 512 images), saved as
    models/v1.keras, and the images it was trained and tested on."""
    return small_run.folder.path / "models" / "v1.keras", small_run.prepared


@pytest.mark.slow
def test_trained_model_accuracy_on_every_runtime(trained_v1) -> None:
    from convcost.models.loader import load_model

    path, prepared = trained_v1
    model = load_model(path)
    settings = RuntimeSettings(batch_size=1, threads=(1,), repeats=2, warmup=1, rounds=1,
                               data=prepared, representative=16)
    rows = bench_runtimes([ModelEntry("v1", model, trained=True)],
                          ["tf", "litert", "litert-int8"], settings)
    accuracy = {row.runtime: row.accuracy for row in rows}
    assert all(a is not None and 0.0 <= a <= 1.0 for a in accuracy.values()), accuracy
    # Keras' own evaluation of the same 256 test images is the reference for fp32
    keras_acc = float(np.mean(np.argmax(model.predict(prepared.x_test, verbose=0), axis=1)
                              == np.argmax(prepared.y_test, axis=1)))
    assert accuracy["tf"] == pytest.approx(keras_acc)
    assert abs(accuracy["litert"] - keras_acc) <= 1 / 256  # same float math, another kernel
    assert abs(accuracy["litert-int8"] - accuracy["litert"]) <= 0.1
    assert "MNIST training images" in next(r.note for r in rows if r.runtime == "litert-int8")


def test_missing_extra_is_a_clear_error(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("ai_edge_litert", "jax") else real(name))
    with pytest.raises(ConvcostError, match=r"--runtime litert-int8 needs the litert extra: pip "
                                            r"install 'convcost\[litert\]'"):
        runtimes.require("litert-int8")
    with pytest.raises(ConvcostError, match=r"--runtime jax needs jax .* Received: jax is not"):
        runtimes.require("jax")


@pytest.mark.parametrize(("names", "match"), [
    (["tf,litert,tf"], None),
    (["tflite"], r"Unknown runtime; use tf, litert, litert-int8, jax, torch. Received: 'tflite'"),
    ([" , "], r"Unknown runtime"),
])
def test_runtime_names(names: list[str], match: str | None) -> None:
    if match is None:
        assert runtimes.check_runtimes(names) == ["tf", "litert"]
    else:
        with pytest.raises(ConvcostError, match=match):
            runtimes.check_runtimes(names)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_runtime_in_a_child_process(zoo_model) -> None:
    settings = RuntimeSettings(batch_size=1, repeats=2, warmup=1, rounds=1)
    (row,) = bench_runtimes([ModelEntry("v1", zoo_model("v1"))], ["jax"], settings)
    assert row.runtime == "jax" and len(row.timings.seconds) == 2
    assert "on jax" in row.note


@pytest.mark.slow
def test_child_process_timing_on_tensorflow(zoo_model) -> None:
    # the child mechanism of the jax runtime, exercised with the backend that is installed
    timings, versions = runtimes.time_in_child([zoo_model("v1")], "tensorflow", batch_size=1,
                                               repeats=2, warmup=1, rounds=1)
    assert len(timings[0].seconds) == 2 and versions["backend"] == "tensorflow"


def test_a_training_step_passes_the_gradient_back_through_a_kernel_without_weights() -> None:
    import keras

    x = keras.Input((4, 4, 3))
    model = keras.Model(x, keras.layers.ReLU()(x))
    loss, (grad,) = runtimes.training_runner(model, 2).run()
    batch = runtimes.random_batch((4, 4, 3), 2)  # the runner's seeded batch, all in [0, 1)
    # loss = mean(relu(x)^2); d loss / d x = 2 x / N where x > 0 (here: everywhere)
    np.testing.assert_allclose(float(loss), np.mean(batch ** 2), rtol=1e-6)
    np.testing.assert_allclose(grad.numpy(), 2 * batch / batch.size, rtol=1e-5)


def test_a_training_step_updates_the_weights_with_adam() -> None:
    import keras

    x = keras.Input((8,))
    dense = keras.layers.Dense(3)
    model = keras.Model(x, dense(x))
    before = dense.kernel.numpy().copy()
    runtimes.training_runner(model, 4).run()
    # loss = mean((x W)^2) over 4 x 3 outputs (zero bias): dL/dW = 2/12 x^T (x W); Adam's first
    # step (Keras: lr 1e-3, beta_2 0.999, epsilon 1e-7) is lr g / (|g| + eps / sqrt(1 - beta_2))
    x = runtimes.random_batch((8,), 4)
    grad = 2 / 12 * x.T @ (x @ before)
    step = 1e-3 * grad / (np.abs(grad) + 1e-7 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(before - dense.kernel.numpy(), step, rtol=1e-4, atol=1e-9)
