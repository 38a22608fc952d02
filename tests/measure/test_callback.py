"""convcost.CostCallback on a tiny fit: exact samples and FLOPs in the history, the rate, MFU,
validation (which resets the loss tracker), and TensorBoard receiving the keys."""

from __future__ import annotations

import glob
from pathlib import Path

import keras
import numpy as np
import pytest

import convcost
from convcost.errors import ConvcostError

L = keras.layers

# Dense 8 -> 4 (bias, ReLU) -> Dense 4 -> 3 (bias, softmax), all trainable, per sample:
# forward MACs 32 + 12; dx only for the second (12), dW for both (32 + 12): 100 MACs.
# Other FLOPs forward: bias 4 + ReLU 4, bias 3 + softmax 3 x 3 = 20; backward repeats them.
FLOPS_PER_SAMPLE = 2 * 100 + 2 * 20


def _model() -> keras.Model:
    x = keras.Input((8,))
    y = L.Dense(4, activation="relu")(x)
    model = keras.Model(x, L.Dense(3, activation="softmax")(y))
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def _data(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.random((n, 8), dtype=np.float32),
            np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)])


def test_history_gets_samples_flops_rate_and_mfu(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    x, y = _data()
    callback = convcost.CostCallback(peak_gflops=10.0)
    history = _model().fit(x, y, batch_size=16, epochs=2, validation_split=0.2, verbose=0,
                           callbacks=[callback])
    # 40 training samples (the last 10 are for validation): batches of 16, 16 and 8
    assert history.history["train_samples"] == [40.0, 40.0]
    assert callback.flops_per_sample == FLOPS_PER_SAMPLE
    assert history.history["train_flops"] == [40.0 * FLOPS_PER_SAMPLE] * 2
    for epoch, rate, mfu in zip(callback.epochs, history.history["train_gflops_per_s"],
                                history.history["mfu"]):
        assert rate == pytest.approx(40 * FLOPS_PER_SAMPLE / epoch["seconds"] / 1e9)
        assert mfu == pytest.approx(rate / 10.0)


def test_without_peak_no_mfu_and_explicit_flops() -> None:
    x, y = _data(20)
    history = _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                           callbacks=[convcost.CostCallback(flops_per_sample=1e6)])
    assert "mfu" not in history.history
    assert history.history["train_flops"] == [20 * 1e6]


def test_tensorboard_sees_the_keys(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")  # in the dev extra; Keras' TensorBoard needs it
    import tensorflow as tf

    x, y = _data(20)
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                 callbacks=[convcost.CostCallback(prefix="cost/"), board])
    tags = set()
    for path in glob.glob(str(tmp_path / "train" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {"epoch_cost/train_flops", "epoch_cost/train_gflops_per_s"} <= tags


def test_bad_peak() -> None:
    with pytest.raises(ConvcostError, match=r"peak_gflops must be a positive number. "
                                            r"Received: 0"):
        convcost.CostCallback(peak_gflops=0)


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every numeric scalar of the event files in ``folder``: tag -> [(step, value)], read back
    with TensorBoard's own event reader (tf.summary writes scalars as tensors)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    found: dict[str, list[tuple[int, float]]] = {}
    for tag in events.Tags()["tensors"]:
        values = [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
        if all(v.dtype.kind in "fiu" and v.ndim == 0 for _, v in values):  # not the model text
            found[tag] = [(step, float(v)) for step, v in values]
    return found


def test_log_dir_writes_tensorboard_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    x, y = _data(12)
    callback = convcost.CostCallback(peak_gflops=10.0, log_dir=tmp_path)
    history = _model().fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    scalars = _scalars(tmp_path / "train")
    assert set(scalars) == {"epoch_train_samples", "epoch_train_flops",
                            "epoch_train_gflops_per_s", "epoch_mfu"}
    assert scalars["epoch_train_samples"] == [(0, 12.0)]
    assert scalars["epoch_train_flops"] == [(0, 12.0 * FLOPS_PER_SAMPLE)]  # hand count above
    rate = history.history["train_gflops_per_s"][0]
    assert scalars["epoch_train_gflops_per_s"] == [(0, pytest.approx(rate, rel=1e-6))]
    assert scalars["epoch_mfu"] == [(0, pytest.approx(rate / 10.0, rel=1e-6))]


def test_log_dir_beside_keras_tensorboard_lands_in_its_run(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    x, y = _data(8)
    callbacks = [keras.callbacks.TensorBoard(log_dir=str(tmp_path)),  # before: no duplicates
                 convcost.CostCallback(log_dir=tmp_path, prefix="cost/")]
    _model().fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks)
    scalars = _scalars(tmp_path / "train")
    assert scalars["epoch_cost/train_flops"] == [(0, 8.0 * FLOPS_PER_SAMPLE),
                                                 (1, 8.0 * FLOPS_PER_SAMPLE)]
    assert "epoch_loss" in scalars  # Keras' own scalars, in the same run
