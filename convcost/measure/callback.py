"""``convcost.CostCallback``: training FLOPs, achieved GFLOP/s and MFU in every epoch's logs.

::

    model.fit(x, y, epochs=3, callbacks=[convcost.CostCallback(peak_gflops=200.0),
                                         keras.callbacks.TensorBoard("logs")])

Adds to the epoch logs (so ``History``, ``CSVLogger`` and ``TensorBoard`` see them):

* ``train_samples``: samples trained on in the epoch;
* ``train_flops``: training FLOPs of the epoch = samples x training FLOPs per sample
  (:mod:`convcost.analysis.training`: forward + input gradients + weight gradients, with the
  first layer's and frozen layers' skipped);
* ``train_gflops_per_s``: ``train_flops`` / training time / 10⁹;
* ``mfu``: ``train_gflops_per_s`` / ``peak_gflops`` (model FLOPs utilisation), when a peak
  is given.

Samples are counted from the model's own loss tracker (the ``loss`` entry of
``model.metrics``): Keras' train step updates it with the batch size as weight, so its
``count`` is the number of samples since the epoch began, with a partial last batch, a dataset
of unknown length, ``steps_per_execution`` or ``MirroredStrategy`` (a count summed over
replicas). Validation resets that tracker before ``on_epoch_end``, so the count is read after
every training batch. Without a loss tracker (a custom ``train_step``): batches x
``batch_size`` if given. The training time runs from ``on_epoch_begin`` to the last
``on_train_batch_end`` (validation excluded).

Keras hands one logs dict to the callbacks in list order: put CostCallback *before*
TensorBoard or CSVLogger so they see its keys (``History`` always does). Or give it a
``log_dir``: it then writes the same values as TensorBoard scalars itself (``tf.summary``,
step = epoch), tagged ``epoch_<key>`` in ``log_dir/train`` as Keras' own TensorBoard callback
tags its epoch scalars, so both land in the same run. List it *after* TensorBoard (or
alone): listed before, TensorBoard writes the same values again under the same tags::

    model.fit(x, y, epochs=3, callbacks=[keras.callbacks.TensorBoard("logs"),
                                         convcost.CostCallback(200.0, log_dir="logs")])
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from convcost import checks
from convcost.errors import ConvcostError

KEYS = ("train_samples", "train_flops", "train_gflops_per_s", "mfu")


class CostCallback(keras.callbacks.Callback):
    """Adds training FLOPs, achieved GFLOP/s and MFU to the logs of every epoch.

    Args:
        peak_gflops: the device's peak GFLOP/s; ``mfu`` is logged only when given.
        flops_per_sample: training FLOPs per sample; default: counted by convcost from the
            model when training begins.
        batch_size: used to count samples only when the model has no loss tracker.
        prefix: prepended to the keys (e.g. ``"cost/"``).
        log_dir: also write the values as TensorBoard scalars to ``log_dir/train``
            (needs TensorFlow, whatever Keras' backend).
    """

    def __init__(self, peak_gflops: float | None = None, *,
                 flops_per_sample: float | None = None, batch_size: int | None = None,
                 prefix: str = "", log_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        if peak_gflops is not None:
            checks.positive("peak_gflops", peak_gflops)
        if flops_per_sample is not None:
            checks.positive("flops_per_sample", flops_per_sample)
        if batch_size is not None:
            checks.count("batch_size", batch_size)
        self.peak_gflops = peak_gflops
        self.flops_per_sample = flops_per_sample
        self.batch_size = batch_size
        self.prefix = prefix
        self.log_dir = None if log_dir is None else Path(log_dir)
        self._writer: Any = None
        self.epochs: list[dict[str, float]] = []
        self._read_count: Callable[[], float] | None = None
        self._started = self._last = 0.0
        self._batches = 0
        self._samples: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.flops_per_sample is None:
            self.flops_per_sample = float(model_training_flops(self.model))
        tracker = next((m for m in self.model.metrics
                        if m.name == "loss" and hasattr(m, "count")), None)
        self._read_count = (None if tracker is None else
                            lambda: float(keras.ops.convert_to_numpy(tracker.count)))
        if self.log_dir is not None:
            self._writer = _summary_writer(self.log_dir / "train")

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = self._last = time.perf_counter()
        self._batches, self._samples = 0, None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._last = time.perf_counter()
        self._batches += 1
        if self._read_count is not None:
            self._samples = self._read_count()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        samples = self._samples
        if samples is None and self.batch_size:
            samples = float(self._batches * self.batch_size)
        if samples is None or logs is None:
            return
        seconds = max(self._last - self._started, 1e-9)
        flops = samples * float(self.flops_per_sample or 0.0)
        row = {"train_samples": samples, "train_flops": flops,
               "train_gflops_per_s": flops / seconds / 1e9}
        if self.peak_gflops:
            row["mfu"] = row["train_gflops_per_s"] / self.peak_gflops
        logs.update({self.prefix + key: value for key, value in row.items()})
        self.epochs.append(row | {"epoch": float(epoch), "seconds": seconds})
        if self._writer is not None:
            self._write_scalars(row, epoch)

    def _write_scalars(self, row: dict[str, float], epoch: int) -> None:
        """The epoch's values as TensorBoard scalars, tagged as Keras tags epoch scalars."""
        import tensorflow as tf

        with self._writer.as_default():
            for key, value in row.items():
                tf.summary.scalar(f"epoch_{self.prefix}{key}", value, step=epoch)
        self._writer.flush()


def _summary_writer(folder: Path) -> Any:
    """A ``tf.summary`` file writer into ``folder``; a one-line error without TensorFlow."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ConvcostError("CostCallback(log_dir=...) writes TensorBoard scalars with "
                            "TensorFlow's tf.summary. Received: no tensorflow installed.") from None
    return tf.summary.create_file_writer(str(folder))


def model_training_flops(model: Any) -> int:
    """Training FLOPs per sample of a built Keras model (see :mod:`convcost.analysis.training`)."""
    from convcost.analysis.training import training_cost
    from convcost.count.walker import analyze

    return training_cost(analyze(model)).flops
