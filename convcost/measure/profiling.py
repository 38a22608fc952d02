"""Measured per-layer latency: each leaf layer timed alone, next to its counts and roofline bound.

How a layer is timed: a random input of the shapes it sees in the model (per-sample shapes from
the :class:`~convcost.count.report.Report`, times the batch; a list for multi-input layers such as
``Add``) is made once; the call ``layer(x, training=False)`` is wrapped in the backend's
compiled function (``tf.function`` on TensorFlow, ``jax.jit`` on JAX, plain on torch); it is run
``warmup`` times (the first run traces), then ``repeats`` times, and the *median* is kept. The
whole model is timed the same way, on the same batch, so the sum of the layer times can be set
against it. Every compiled call also pays a fixed dispatch cost, which the whole model pays only
once; it is measured with a compiled function doing one scalar add and reported alongside.

Layers that are views (:data:`convcost.analysis.memory.VIEW_TYPES`: reshape, flatten, inference-time
dropout) are not timed: alone they would measure only that dispatch cost, and inside the model
they cost nothing. Nested models are timed leaf by leaf: each report row carries the layer it times.

Per-kind numbers group whole rows by the row's kind (its largest piece), so that MAC share and
time share are over the same rows; a ``SeparableConv2D`` counts as pointwise here.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convcost.analysis.memory import DTYPE_BYTES, LayerTraffic, Memory, check_batch, memory
from convcost.analysis.roofline import GIGA, Bound, DeviceProfile, bound
from convcost.count.report import ADDED_KINDS, KINDS, Report, Shape
from convcost.errors import ConvcostError, one_line
from convcost.measure.timing import compile_function, repeat_times


@dataclass(frozen=True)
class LayerTiming:
    """One layer call: its traffic (and row), the measured median, and the roofline bound.

    Attributes:
        traffic: elements moved (its ``row`` is the report row).
        flops: FLOPs of one batch.
        bytes: bytes moved by one batch.
        bound: the roofline bound for one batch.
        seconds: median measured time of one batch; None when not timed (see ``note``).
        note: why a layer was not timed, or empty.
    """

    traffic: LayerTraffic
    flops: int
    bytes: int
    bound: Bound
    seconds: float | None
    note: str = ""

    @property
    def path(self) -> str:
        return self.traffic.row.path

    @property
    def kind(self) -> str:
        return self.traffic.row.kind

    @property
    def gflops_per_s(self) -> float | None:
        """Achieved GFLOP/s (FLOPs of the batch over the measured time)."""
        return self.flops / self.seconds / GIGA if self.seconds else None

    @property
    def roofline_fraction(self) -> float | None:
        """Bound over measured time: 1.0 means the layer runs at its roofline."""
        return self.bound.seconds / self.seconds if self.seconds else None


@dataclass(frozen=True)
class KindTiming:
    """Rows of one kind together: counts, time, and their shares of the model's totals."""

    kind: str
    layers: int
    macs: int
    flops: int
    seconds: float
    bound_seconds: float
    macs_share: float
    time_share: float

    @property
    def gflops_per_s(self) -> float | None:
        return self.flops / self.seconds / GIGA if self.seconds else None

    @property
    def roofline_fraction(self) -> float | None:
        return self.bound_seconds / self.seconds if self.seconds else None


@dataclass(frozen=True)
class LatencyReport:
    """Measured latency of every layer call and of the whole model, at one batch size."""

    report: Report
    memory: Memory
    device: DeviceProfile
    layers: tuple[LayerTiming, ...]
    model_seconds: float
    call_overhead_seconds: float
    repeats: int
    warmup: int
    backend: str

    @property
    def batch(self) -> int:
        return self.memory.batch

    @property
    def macs(self) -> int:
        """MACs of one batch."""
        return self.batch * self.report.macs

    @property
    def flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def bytes(self) -> int:
        return sum(layer.bytes for layer in self.layers)

    @property
    def layer_seconds(self) -> float:
        """The sum of the timed layers' medians."""
        return sum(layer.seconds or 0.0 for layer in self.layers)

    @property
    def timed_layers(self) -> int:
        return sum(1 for layer in self.layers if layer.seconds is not None)

    @property
    def predicted_seconds(self) -> float:
        """The roofline prediction: the sum of the layers' bounds."""
        return sum(layer.bound.seconds for layer in self.layers)

    @property
    def gflops_per_s(self) -> float:
        """The whole model's achieved GFLOP/s (its FLOPs over its measured forward time)."""
        return self.flops / self.model_seconds / GIGA if self.model_seconds else 0.0

    def kinds(self) -> tuple[KindTiming, ...]:
        """One entry per kind in :data:`~convcost.count.report.KINDS` (rows grouped by kind;
        the added kinds only where the model has them)."""
        total_macs, total_time = self.macs, self.layer_seconds
        result = []
        for kind in KINDS:
            rows = [layer for layer in self.layers if layer.kind == kind]
            if kind in ADDED_KINDS and not rows:
                continue
            macs = sum(self.batch * layer.traffic.row.macs for layer in rows)
            seconds = sum(layer.seconds or 0.0 for layer in rows)
            result.append(KindTiming(
                kind, len(rows), macs, sum(layer.flops for layer in rows), seconds,
                sum(layer.bound.seconds for layer in rows),
                macs / total_macs if total_macs else 0.0,
                seconds / total_time if total_time else 0.0))
        return tuple(result)


def profile(model: Any, device: DeviceProfile, *, report: Report | None = None,
            batch: int = 32, repeats: int = 10, warmup: int = 2, seed: int = 0) -> LatencyReport:
    """Time every leaf layer of ``model`` alone, and the whole model, on random inputs.

    Args:
        model: a built Keras model (the one ``report`` was made from).
        device: peak FLOP/s and bandwidth for the roofline bounds.
        report: its cost report; default ``convcost.analyze(model)``.
        batch: samples per call; activations scale with it, weights do not.
        repeats: timed runs per layer (the median is kept).
        warmup: untimed runs first (the first one traces and compiles).
        seed: seed of the random inputs.
    """
    import keras
    import numpy as np

    _check_counts(batch, repeats, warmup)
    if report is None:
        from convcost.count.walker import analyze

        report = analyze(model)
    picture = memory(report, batch=batch, dtype=_dtype_of(model))
    rng = np.random.default_rng(seed)
    timer = _Timer(repeats, warmup)
    layers = tuple(_time_row(model, layer, picture, device, timer, rng) for layer in picture.layers)
    whole = timer.median(_forward(model), [_random((None, *report.input_shape), batch, rng)])
    overhead = timer.median(lambda x: keras.ops.add(x, 1.0), [np.zeros((1,), np.float32)])
    return LatencyReport(report, picture, device, layers, whole, overhead, repeats, warmup,
                         keras.backend.backend())


def _check_counts(batch: int, repeats: int, warmup: int) -> None:
    check_batch(batch)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConvcostError(f"repeats must be a positive integer. Received: {repeats!r}.")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ConvcostError(f"warmup must be a non-negative integer. Received: {warmup!r}.")


def _dtype_of(model: Any) -> str:
    dtype = str(getattr(model, "compute_dtype", "float32"))
    return dtype if dtype in DTYPE_BYTES else "float32"


def _time_row(model: Any, traffic: LayerTraffic, picture: Memory, device: DeviceProfile,
              timer: _Timer, rng: Any) -> LayerTiming:
    moved = picture.layer_bytes(traffic)
    flops = traffic.flops(picture.batch)
    limit = bound(flops, moved, device)
    row = traffic.row
    if traffic.is_view:
        return LayerTiming(traffic, flops, moved, limit, None, "view: not timed")
    layer = row.operation
    if layer is None:
        return LayerTiming(traffic, flops, moved, limit, None, "not found in model: not timed")
    inputs = [_random((None, *shape), picture.batch, rng) for shape in row.input_shapes]
    try:
        seconds = timer.median(_layer_call(layer, len(inputs)), inputs)
    except Exception as error:  # a layer that cannot run alone is reported, not fatal
        reason = one_line(error, 120)
        return LayerTiming(traffic, flops, moved, limit, None, f"cannot run alone: {reason}")
    return LayerTiming(traffic, flops, moved, limit, seconds)


def _layer_call(layer: Any, inputs: int) -> Callable[..., Any]:
    import keras

    kwargs = {"training": False} if isinstance(layer, keras.layers.Layer) else {}
    if inputs == 1:
        return lambda x: layer(x, **kwargs)
    return lambda *xs: layer(list(xs), **kwargs)


def _forward(model: Any) -> Callable[..., Any]:
    return lambda x: model(x, training=False)


def _random(shape: Shape, batch: int, rng: Any) -> Any:
    """A float32 array of uniform values in [-1, 1), shape ``(batch, *shape[1:])``."""
    import numpy as np

    size = (batch, *(int(d) for d in shape[1:]))  # type: ignore[arg-type]
    return rng.random(size, dtype=np.float32) * 2 - 1


class _Timer:
    """Median wall time of a compiled call, after warm-up, synchronising the device."""

    def __init__(self, repeats: int, warmup: int) -> None:
        self.repeats = repeats
        self.warmup = warmup

    def median(self, fn: Callable[..., Any], arrays: list[Any]) -> float:
        import keras

        args = [keras.ops.convert_to_tensor(a) for a in arrays]
        compiled = compile_function(fn)
        return statistics.median(
            repeat_times(lambda: compiled(*args), self.repeats, max(1, self.warmup)))
