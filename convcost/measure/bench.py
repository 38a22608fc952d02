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


class Rates:
    """Rates of a timed forward pass: needs ``batch_size``, ``forward_flops`` (per sample) and
    ``timings``."""

    batch_size: int
    forward_flops: int
    timings: Timings

    @property
    def throughput(self) -> float:
        """Samples per second at the median latency."""
        return self.batch_size / self.timings.median

    @property
    def achieved_gflops(self) -> float:
        """Forward FLOPs (int8: integer operations) per second at the median latency."""
        return self.forward_flops * self.batch_size / self.timings.median / GIGA


@dataclass(frozen=True)
class BenchRow(Rates):
    """Forward latency of one model on one batch, next to its counted work."""

    model: str
    params: int
    macs: int  # per sample
    forward_flops: int  # per sample: 2 * MACs + other FLOPs
    batch_size: int
    timings: Timings



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
        model = build(name, alpha=alpha, purpose="bench", batch=batch_size)
        report = analyze(model)
        timings = forward_latency(model, batch_size, repeats, warmup)
        rows.append(BenchRow(label(name), int(model.count_params()), report.macs, report.flops,
                             batch_size, timings))
    return rows


# --- several runtimes: TensorFlow, LiteRT fp32/int8, JAX ---------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    """A model to time: its name, the Keras model, and whether it was trained (loaded from a
    file), which is when its accuracy means something."""

    name: str
    model: Any
    trained: bool = False


@dataclass(frozen=True)
class RuntimeRow(Rates):
    """Forward latency of one model on one runtime, next to its counted work and accuracy."""

    model: str
    runtime: str
    precision: str
    threads: str
    batch_size: int
    params: int
    macs: int  # per sample
    forward_flops: int  # per sample: 2 * MACs + other FLOPs
    timings: Timings
    accuracy: float | None = None
    tflite_bytes: int | None = None
    note: str = ""



@dataclass(frozen=True)
class RuntimeSettings:
    """How :func:`bench_runtimes` times: batch, threads per LiteRT run, repeats, rounds, data.

    Args:
        batch_size: samples per timed call.
        threads: LiteRT thread counts, one timed setting each (``None``: LiteRT's default, 1).
        repeats: timed calls per model and setting.
        warmup: untimed calls first.
        rounds: interleaved rounds the repeats are spread over.
        data: prepared MNIST (:mod:`convcost.measure.data`) for int8 calibration and accuracy.
        eval_samples: test images the accuracy uses (default: all).
        representative: calibration samples of int8 conversion.
    """

    batch_size: int = 1
    threads: tuple[int | None, ...] = (None,)
    repeats: int = 30
    warmup: int = 3
    rounds: int = 10
    data: Any = None
    eval_samples: int | None = None
    representative: int = 100


def bench_runtimes(entries: Sequence[ModelEntry], runtimes: Sequence[str],
                   settings: RuntimeSettings) -> list[RuntimeRow]:
    """Time every model on every runtime (one table per runtime and thread count).

    In-process runtimes are timed together, interleaved; ``jax`` and ``torch`` on a TensorFlow
    process run in a child process. Rows come per runtime, then thread count, then model, in
    the order given; the first model of each is the baseline of the speed-ups.
    """
    from convcost.count.walker import analyze
    from convcost.measure import runtimes as rt

    for runtime in runtimes:
        rt.require(runtime)
    reports = {e.name: analyze(e.model) for e in entries}
    plan = [(r, t) for r in runtimes
            for t in (settings.threads if r.startswith("litert") else (None,))]
    prepared = _prepare_all(entries, [p for p in plan if rt.in_process(p[0])], settings)
    timings = dict(zip(prepared, rt.time_runners(list(prepared.values()), settings.repeats,
                                                 settings.warmup, settings.rounds)))
    rows, accuracy = [], {}
    for runtime, threads in plan:
        if not rt.in_process(runtime):
            rows += _child_rows(entries, runtime, reports, settings)
            continue
        for entry in entries:
            key = (runtime, threads, entry.name)
            if (runtime, entry.name) not in accuracy:  # the same for every thread count
                accuracy[(runtime, entry.name)] = _accuracy(entry, prepared[key], settings)
            rows.append(_row(entry, runtime, prepared[key], timings[key], reports[entry.name],
                             accuracy[(runtime, entry.name)]))
    return rows


def _prepare_all(entries: Sequence[ModelEntry], plan: Sequence[tuple[str, int | None]],
                 settings: RuntimeSettings) -> dict[tuple[str, int | None, str], Any]:
    """A runner per (runtime, threads, model); each model is converted once per precision."""
    from convcost.measure import runtimes as rt
    from convcost.measure.convert import ConversionCache

    cache, prepared = ConversionCache(), {}
    for runtime, threads in plan:
        for entry in entries:
            calibration, label = (_representative(entry.model, settings)
                                  if runtime == "litert-int8" else (None, ""))
            runner = rt.prepare(runtime, entry.model, batch_size=settings.batch_size,
                                threads=threads, cache=cache, representative=calibration)
            runner.details["batch_size"] = settings.batch_size
            if label:
                runner.details["note"] = f"int8 calibrated on {label}"
            prepared[(runtime, threads, entry.name)] = runner
    return prepared


def _row(entry: ModelEntry, runtime: str, runner: Any, timings: Timings, report: Any,
         accuracy: float | None) -> RuntimeRow:
    return RuntimeRow(entry.name, runtime, runner.details.get("precision", "fp32"),
                      runner.threads, runner.details["batch_size"],
                      int(entry.model.count_params()), report.macs, report.flops, timings,
                      accuracy, runner.details.get("tflite_bytes"), runner.details.get("note", ""))


def _child_rows(entries: Sequence[ModelEntry], runtime: str, reports: dict[str, Any],
                settings: RuntimeSettings) -> list[RuntimeRow]:
    from convcost.measure.runtimes import time_in_child

    timings, versions = time_in_child([e.model for e in entries], runtime,
                                      batch_size=settings.batch_size, repeats=settings.repeats,
                                      warmup=settings.warmup, rounds=settings.rounds)
    note = f"child process: Keras {versions.get('keras')} on {runtime} {versions.get(runtime)}"
    return [RuntimeRow(e.name, runtime, "fp32", str(versions.get("threads", "")),
                       settings.batch_size, int(e.model.count_params()), reports[e.name].macs,
                       reports[e.name].flops, t, None, None, note)
            for e, t in zip(entries, timings)]


def _representative(model: Any, settings: RuntimeSettings) -> tuple[Any, str]:
    """int8 calibration samples: MNIST training images if they fit the input, else random."""
    from convcost.measure import runtimes as rt
    from convcost.measure.convert import representative_samples

    shape = rt.model_input_shape(model)
    data = settings.data
    if data is not None and tuple(data.x_train.shape[1:]) == shape:
        images = representative_samples(data.x_train, settings.representative)
        return images, f"{len(images)} MNIST training images ({data.source})"
    return (rt.random_batch(shape, settings.representative),
            f"{settings.representative} random inputs (no data of input shape {shape})")


def _accuracy(entry: ModelEntry, runner: Any, settings: RuntimeSettings) -> float | None:
    """Test accuracy of a trained model on this runtime; None when untrained or no data fits."""
    import numpy as np

    from convcost.measure.runtimes import model_input_shape

    data = settings.data
    if not entry.trained or data is None:
        return None
    outputs = entry.model.outputs[0].shape[-1] if entry.model.outputs else None
    if tuple(data.x_test.shape[1:]) != model_input_shape(entry.model) or \
            outputs != data.y_test.shape[-1]:
        return None
    count = settings.eval_samples or len(data.x_test)
    scores = runner.predict(data.x_test[:count])
    return float(np.mean(np.argmax(scores, axis=-1) == np.argmax(data.y_test[:count], axis=-1)))
