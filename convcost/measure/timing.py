"""The one timing module: compile a call as the Keras backend runs it, wait for it, repeat it.

Every measurement in convcost (the machine probe, ``bench``, ``profile``) times work the same
way: the call is wrapped in the backend's compiled function (:func:`compile_function`:
``tf.function`` without XLA on TensorFlow, ``jax.jit`` on JAX, as is on torch), run ``warmup``
times untimed (the first run traces), then timed ``repeats`` times with
``time.perf_counter``, each run waiting for its result (:func:`synchronize`, so asynchronous
devices are timed honestly). :class:`Timings` keeps every run; summaries use the median
(typical) or the best run (what the machine *can* do, least disturbed by other processes).
:func:`time_interleaved` times several calls in shuffled rounds, so that on a busy machine a
burst of load spreads over all of them (``bench --runtime`` times every model and runtime so).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from convcost import checks


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


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
"""``wall``: elapsed time; ``cpu``: CPU seconds of this process (all its threads), which other
processes on a busy machine do not inflate (for one-thread runtimes, it is the run's work)."""


def repeat_times(run: Callable[[], Any], repeats: int, warmup: int,
                 sync: Callable[[Any], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Seconds of each of ``repeats`` timed calls of ``run``, after ``warmup`` untimed ones.

    Each call's result is synchronised (waited for) inside its own timing, with ``sync``
    (default :func:`synchronize`; pass ``no_sync`` for a call that returns when it is done,
    such as a LiteRT ``invoke``).
    """
    wait = synchronize if sync is None else sync
    for _ in range(warmup):
        wait(run())
    times = []
    for _ in range(repeats):
        start = clock()
        wait(run())
        times.append(clock() - start)
    return times


def no_sync(result: Any) -> None:
    """For calls that are finished when they return: nothing to wait for."""


def time_interleaved(runs: Sequence[Callable[[], Any]], repeats: int, warmup: int, *,
                     rounds: int = 10, syncs: Sequence[Callable[[Any], None] | None] = (),
                     seed: int = 0, clock: str = "wall") -> list[Timings]:
    """Time several calls fairly on a busy machine: ``rounds`` rounds, each running every
    call ``repeats / rounds`` times (at least once) in a shuffled order.

    A burst of load from another process then slows every call a little instead of one call a
    lot. Each call first runs ``warmup`` times untimed. ``syncs[i]`` waits for the result of
    ``runs[i]`` (default :func:`synchronize`). ``clock``: a key of :data:`CLOCKS`.
    """
    checks.count("repeats", repeats, shown=f"repeats={repeats}")
    checks.count("warmup", warmup, minimum=0, shown=f"warmup={warmup}")
    checks.count("rounds", rounds, shown=f"rounds={rounds}")
    waits = [syncs[i] if i < len(syncs) else None for i in range(len(runs))]
    for run, wait in zip(runs, waits):
        repeat_times(run, 0, warmup, wait)
    times: list[list[float]] = [[] for _ in runs]
    order = list(range(len(runs)))
    shuffle = random.Random(seed).shuffle
    per_round = [repeats // rounds + (1 if r < repeats % rounds else 0) for r in range(rounds)]
    for count in (n for n in per_round if n):
        shuffle(order)
        for i in order:
            times[i] += repeat_times(runs[i], count, 0, waits[i], CLOCKS[clock])
    return [Timings(tuple(seconds)) for seconds in times]


def time_repeats(run: Callable[[], Any], repeats: int, warmup: int) -> Timings:
    """Run ``run`` ``warmup`` times untimed, then ``repeats`` times timed, syncing each result."""
    checks.count("repeats", repeats, shown=f"repeats={repeats}")
    checks.count("warmup", warmup, minimum=0, shown=f"warmup={warmup}")
    return Timings(tuple(repeat_times(run, repeats, warmup)))


def best_time(work: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` timed runs after one warm-up run (page faults, thread pools)."""
    work()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-12)


def compile_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` compiled by the Keras backend: tf.function (no XLA), jax.jit, or as is (torch)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, autograph=False)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def compiled_call() -> str:
    """How a forward pass is run and timed, for the current Keras backend (for result files)."""
    import keras

    return {"tensorflow": "tf.function(model(x, training=False)), no XLA",
            "jax": "jax.jit(model(x, training=False))"}.get(
        keras.backend.backend(), "model(x, training=False), not compiled")


def synchronize(result: Any) -> None:
    """Wait until ``result`` is computed (asynchronous devices return before they finish)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.block_until_ready(result)
    elif backend == "tensorflow" and _has_gpu():
        import tensorflow as tf

        tf.test.experimental.sync_devices()
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


_GPU: list[bool] = []


def _has_gpu() -> bool:
    if not _GPU:
        import tensorflow as tf

        _GPU.append(bool(tf.config.list_logical_devices("GPU")))
    return _GPU[0]


def matmul_work(a: Any, b: Any, method: str = "keras") -> Callable[[], object]:
    """A no-argument function that multiplies ``a`` by ``b`` and waits for the result.

    ``"keras"`` compiles ``keras.ops.matmul`` with the backend (the library the layers run
    on); ``"numpy"`` uses NumPy and never imports a deep-learning framework.
    """
    if method == "numpy":
        import numpy as np

        return lambda: np.matmul(a, b)
    import keras

    x, y = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
    compiled = compile_function(keras.ops.matmul)
    return lambda: synchronize(compiled(x, y))
