"""Inference latency of whole models, next to their counted work.

How a model is timed (:mod:`convcost.measure.timing`): one random float32 batch is made once;
``model(x, training=False)`` is wrapped in the backend's compiled function (``tf.function``
without XLA on TensorFlow); it runs ``warmup`` times (the first run traces), then ``repeats``
timed runs, each waiting for its result. Reported: median, p10, p90 and min of the repeats.
Achieved GFLOP/s are set against the matmul peak of :func:`convcost.measure.probe.peak_matmul`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost import checks
from convcost.analysis.roofline import GIGA
from convcost.measure.timing import Timings, compile_function, time_repeats


@dataclass(frozen=True)
class BenchRow:
    """Forward latency of one model on one batch, next to its counted work."""

    model: str
    params: int
    macs: int  # per sample
    forward_flops: int  # per sample: 2 * MACs + other FLOPs
    batch_size: int
    timings: Timings

    @property
    def throughput(self) -> float:
        """Samples per second at the median latency."""
        return self.batch_size / self.timings.median

    @property
    def achieved_gflops(self) -> float:
        return self.forward_flops * self.batch_size / self.timings.median / GIGA


def forward_latency(model: Any, batch_size: int, repeats: int, warmup: int = 3) -> Timings:
    """Latency of ``model(x, training=False)`` (compiled) on one random batch.

    Args:
        model: a built Keras model.
        batch_size: samples per call.
        repeats: timed calls.
        warmup: untimed calls first (the first one traces).
    """
    import keras
    import numpy as np

    checks.count("batch_size", batch_size, shown=f"batch_size={batch_size}")
    shape = (batch_size, *(int(d) for d in model.inputs[0].shape[1:]))
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).random(shape, dtype=np.float32))
    forward = compile_function(lambda batch: model(batch, training=False))
    return time_repeats(lambda: forward(x), repeats, warmup)


def bench_models(names: Sequence[str], *, batch_size: int, repeats: int, warmup: int = 3,
                 alpha: float | None = None) -> list[BenchRow]:
    """Build each zoo model (or load each model file) and time its forward pass; see
    :func:`forward_latency`."""
    import keras

    from convcost.count.walker import analyze
    from convcost.measure.sources import build, check_names, label

    check_names(names)
    rows = []
    for name in names:
        keras.backend.clear_session()
        model = build(name, alpha=alpha)
        report = analyze(model)
        timings = forward_latency(model, batch_size, repeats, warmup)
        rows.append(BenchRow(label(name), int(model.count_params()), report.macs, report.flops,
                             batch_size, timings))
    return rows
