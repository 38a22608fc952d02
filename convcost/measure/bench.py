"""Inference latency of whole models, this machine's attainable matmul peak, and what machine it is.

How a model is timed: one random float32 batch is made once; ``model(x, training=False)`` is
wrapped in the backend's compiled function (:func:`convcost.measure.profiling.compile_function`:
``tf.function`` without XLA on TensorFlow); it runs ``warmup`` times (the first run traces),
then ``repeats`` timed runs, each waiting for its result
(:func:`convcost.measure.profiling.synchronize`).
Reported: median, p10, p90 and min of the repeats.

The peak: a float32 ``n x n`` matmul (``2n³`` FLOPs) compiled the same way, median of repeats:
what the same framework reaches on this machine for the friendliest possible work. Achieved
GFLOP/s of a model are shown as a share of it.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.analysis.roofline import GIGA, matmul_work
from convcost.errors import ConvcostError
from convcost.measure.profiling import compile_function, repeat_times
from convcost.models import zoo


@dataclass(frozen=True)
class Timings:
    """Wall times of repeated runs, in seconds, in the order they ran."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p10(self) -> float:
        return self._decile(0)

    @property
    def p90(self) -> float:
        return self._decile(8)

    @property
    def min(self) -> float:
        return min(self.seconds)

    def _decile(self, index: int) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0]
        return statistics.quantiles(self.seconds, n=10, method="inclusive")[index]

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median, "p10_s": self.p10, "p90_s": self.p90,
                "min_s": self.min, "seconds": list(self.seconds)}


@dataclass(frozen=True)
class Peak:
    """The attainable float32 matmul rate: ``2n³`` FLOPs per ``n x n`` product."""

    size: int
    timings: Timings

    @property
    def flops(self) -> int:
        return 2 * self.size**3

    @property
    def gflops(self) -> float:
        """GFLOP/s at the median time."""
        return self.flops / self.timings.median / GIGA

    @property
    def best_gflops(self) -> float:
        """GFLOP/s of the fastest run (the least disturbed by other processes)."""
        return self.flops / self.timings.min / GIGA


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


def time_repeats(run: Callable[[], Any], repeats: int, warmup: int) -> Timings:
    """Run ``run`` ``warmup`` times untimed, then ``repeats`` times timed, syncing each result."""
    _check_counts(repeats=repeats, warmup=warmup)
    return Timings(tuple(repeat_times(run, repeats, warmup)))


def peak_matmul(size: int = 2048, repeats: int = 10, warmup: int = 2) -> Peak:
    """Median time of a compiled float32 ``size x size`` matmul, as attainable GFLOP/s.

    Args:
        size: ``n`` of the square matrices.
        repeats: timed runs.
        warmup: untimed runs first (tracing, thread-pool start-up).
    """
    import numpy as np

    _check_counts(size=size)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in "ab")
    return Peak(size, time_repeats(matmul_work(a, b), repeats, warmup))


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

    _check_counts(batch_size=batch_size)
    shape = (batch_size, *(int(d) for d in model.inputs[0].shape[1:]))
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).random(shape, dtype=np.float32))
    forward = compile_function(lambda batch: model(batch, training=False))
    return time_repeats(lambda: forward(x), repeats, warmup)


def bench_models(names: Sequence[str], *, batch_size: int, repeats: int, warmup: int = 3,
                 alpha: float | None = None) -> list[BenchRow]:
    """Build each zoo model and time its forward pass; see :func:`forward_latency`."""
    import keras

    from convcost import analyze

    for name in names:
        zoo.entry(name)
    rows = []
    for name in names:
        keras.backend.clear_session()
        model = zoo.build(name, alpha=alpha)
        report = analyze(model)
        timings = forward_latency(model, batch_size, repeats, warmup)
        rows.append(BenchRow(name, int(model.count_params()), report.macs, report.flops,
                             batch_size, timings))
    return rows


def bench_dict(row: BenchRow, base: BenchRow, peak: Peak | None) -> dict[str, Any]:
    """A bench row with derived numbers; speedups are against ``base`` (the first model)."""
    return {"model": row.model, "params": row.params, "macs": row.macs,
            "forward_flops": row.forward_flops, "batch_size": row.batch_size,
            **row.timings.as_dict(), "throughput_samples_per_s": row.throughput,
            "achieved_gflops": row.achieved_gflops,
            "share_of_peak": row.achieved_gflops / peak.gflops if peak else None,
            "predicted_speedup": base.macs / row.macs,
            "measured_speedup": base.timings.median / row.timings.median}


def peak_dict(peak: Peak) -> dict[str, Any]:
    """The peak measurement with its derived rate."""
    return {"size": peak.size, "flops": peak.flops, "gflops": peak.gflops,
            "best_gflops": peak.best_gflops, **peak.timings.as_dict()}


def _check_counts(**counts: int) -> None:
    for label, value in counts.items():
        minimum = 0 if label == "warmup" else 1
        if value < minimum:
            raise ConvcostError(f"{label} must be an integer >= {minimum}. "
                                f"Received: {label}={value}.")


# --- the machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Device, versions and thread settings, for every result file.

    TensorFlow's inter/intra-op thread settings are reported as set; 0 means "TensorFlow
    chooses" (by default, one thread per core it can use).
    """
    import keras
    import numpy as np

    backend = keras.backend.backend()
    threads = _tensorflow_threads() if backend == "tensorflow" else (None, None)
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "gpus": gpu_names(), "tensorflow": _installed_version("tensorflow"),
            "keras": keras.__version__, "backend": backend, "numpy": np.__version__,
            "python": platform.python_version(),
            "inter_op_threads": threads[0], "intra_op_threads": threads[1],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def compiled_call() -> str:
    """How the forward pass is run and timed, for the current Keras backend."""
    import keras

    return {"tensorflow": "tf.function(model(x, training=False)), no XLA",
            "jax": "jax.jit(model(x, training=False))"}.get(
        keras.backend.backend(), "model(x, training=False), not compiled")


def gpu_names() -> list[str]:
    """The GPUs the Keras backend sees (model names on TensorFlow); [] when there are none."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                for gpu in tf.config.list_physical_devices("GPU")]
    try:
        return [str(device) for device in keras.distribution.list_devices("gpu")]
    except RuntimeError:  # JAX raises when asked for a platform it does not have
        return []


def _tensorflow_threads() -> tuple[int, int]:
    import tensorflow as tf

    return (tf.config.threading.get_inter_op_parallelism_threads(),
            tf.config.threading.get_intra_op_parallelism_threads())


def _installed_version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

