"""Data-parallel training on one machine: logical CPU devices, ``MirroredStrategy``, and the
gradient all-reduce measured next to its model (:mod:`convcost.analysis.data_parallel`).

* :func:`split_cpu` splits the CPU into ``n`` logical devices. TensorFlow allows it only before
  its runtime starts (before the first op), so ``convcost train --cpu-devices N`` does it right
  after importing Keras; in a process that already ran TensorFlow it is a one-line error.
* :func:`mirrored` makes ``tf.distribute.MirroredStrategy`` over every visible GPU, else over
  every logical CPU device. Over CPU devices TensorFlow 2 uses ``CollectiveAllReduce`` with the
  RING implementation. Logical CPU devices share the same cores and memory: the replicas run
  concurrently but add no compute, and the "link" is a memory copy.
* :func:`allreduce_seconds` times one replica-context ``all_reduce(SUM)`` of tensors of the
  gradients' shapes inside ``strategy.run`` in a ``tf.function``, minus the same call without
  the all-reduce. The fastest of ``repeats`` runs of each is used: on a shared machine the
  median difference of two noisy medians can be negative (seen at load average 5).
* :func:`copy_bandwidth` is the memory-copy bandwidth (NumPy, 64 MiB), the link's bandwidth
  on one machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from convcost import checks
from convcost.errors import ConvcostError

DISTRIBUTIONS = ("none", "mirrored")


def split_cpu(devices: int) -> None:
    """Split the first physical CPU into ``devices`` logical devices (before TF starts)."""
    import tensorflow as tf

    checks.count("--cpu-devices", devices, shown=str(devices))
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    except RuntimeError:
        raise ConvcostError(f"--cpu-devices must be set before TensorFlow starts; run the "
                            f"command in a fresh process. Received: --cpu-devices {devices} "
                            f"after TensorFlow was initialised.") from None


def mirrored() -> Any:
    """``MirroredStrategy`` over every GPU, else every logical CPU device."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(gpus or cpus)


def describe(strategy: Any) -> dict[str, Any]:
    """Replicas, devices and the cross-device implementation a strategy picked."""
    from convcost.count.keras_internals import cross_device_ops

    ops, implementation = cross_device_ops(strategy)
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
            "devices": list(strategy.extended.worker_devices),
            "cross_device_ops": type(ops).__name__ if ops is not None else None,
            "implementation": implementation}


def allreduce_seconds(strategy: Any, shapes: Sequence[Sequence[int]],
                      repeats: int = 50) -> float:
    """Seconds of one all-reduce of tensors of ``shapes``: the fastest run with it minus the
    fastest without it (see the module docstring)."""
    import tensorflow as tf

    values = [tf.ones(tuple(int(d) for d in shape)) for shape in shapes]

    def own(context: Any) -> list[Any]:
        # a value computed in each replica: an all-reduce of a captured constant is skipped
        scale = tf.cast(context.replica_id_in_sync_group + 1, tf.float32)
        return [v * scale for v in values]

    @tf.function
    def reduce() -> Any:
        def replica() -> Any:
            context = tf.distribute.get_replica_context()
            return context.all_reduce(tf.distribute.ReduceOp.SUM, own(context))
        return strategy.run(replica)

    @tf.function
    def baseline() -> Any:
        return strategy.run(lambda: own(tf.distribute.get_replica_context()))

    return max(0.0, _fastest_s(reduce, repeats) - _fastest_s(baseline, repeats))


def _fastest_s(function: Callable[[], Any], repeats: int) -> float:
    import tensorflow as tf

    def run() -> None:
        out = function()
        first = tf.nest.flatten(out)[0]
        _ = getattr(first, "values", (first,))[0].numpy()

    for _ in range(3):  # the first call traces
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_bandwidth(mib: int = 64, repeats: int = 5) -> float:
    """Bytes per second of a NumPy copy of ``mib`` MiB (median of ``repeats``)."""
    import numpy as np

    source = np.ones(mib * 2**20 // 4, dtype=np.float32)
    target = np.empty_like(source)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        times.append(time.perf_counter() - start)
    return source.nbytes / statistics.median(times)
