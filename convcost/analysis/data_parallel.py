"""Data-parallel training cost: compute per replica plus the gradient all-reduce of every step.

With ``n`` replicas and a global batch ``B``, each replica computes the training FLOPs of
``B / n`` samples, then the replicas sum their gradients. The all-reduce moves

* **bytes** = trainable params x dtype size (one gradient per trainable weight);
* a **ring** all-reduce (reduce-scatter, then all-gather; what TensorFlow's MirroredStrategy
  uses over CPU devices, and NCCL's ring on GPUs) sends and receives ``2(n-1)/n`` x bytes per
  device, in ``2(n-1)`` steps;
* time = ``2(n-1) x tensors x latency + 2(n-1)/n x bytes / bandwidth``: a latency term per
  tensor and ring step (each gradient tensor is reduced by its own collective unless the
  framework packs them) and a bandwidth term. Small models are latency-bound.

:data:`DEFAULT_LATENCY_S` is a documented default, not a law: one all-reduce of v1's 22
gradient tensors over two logical CPU devices took 0.17-2.3 ms on the 2-core machine
(8-100 µs per tensor and step depending on load). The step time is predicted as
``compute + all-reduce`` (no overlap); scaling stops paying when the all-reduce grows past
the compute it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcost import checks

DEFAULT_LATENCY_S = 25e-6
"""Seconds per gradient tensor and ring step (see the module docstring)."""


@dataclass(frozen=True)
class AllReduce:
    """One gradient all-reduce over ``replicas`` devices."""

    bytes: int
    tensors: int
    replicas: int
    bandwidth: float  # bytes per second of a device's link
    latency_s: float = DEFAULT_LATENCY_S

    @property
    def ring_bytes(self) -> float:
        """Bytes each device sends (and receives): ``2(n-1)/n x bytes``."""
        return 2 * (self.replicas - 1) / self.replicas * self.bytes

    @property
    def seconds(self) -> float:
        steps = 2 * (self.replicas - 1)
        return steps * self.tensors * self.latency_s + self.ring_bytes / self.bandwidth


def allreduce(trainable_params: int, tensors: int, replicas: int, *, bandwidth: float,
              dtype_bytes: int = 4, latency_s: float = DEFAULT_LATENCY_S) -> AllReduce:
    """The gradient all-reduce of a model with ``trainable_params`` in ``tensors`` tensors.

    Args:
        trainable_params: trainable weights (one gradient value each).
        tensors: trainable variables (one collective each).
        replicas: devices taking part.
        bandwidth: link bandwidth, bytes per second.
        dtype_bytes: bytes per gradient value.
        latency_s: seconds per tensor and ring step.
    """
    checks.count("replicas", replicas)
    checks.positive("bandwidth", bandwidth)
    return AllReduce(trainable_params * dtype_bytes, tensors, replicas, bandwidth, latency_s)


@dataclass(frozen=True)
class ScalingPoint:
    """The predicted step of ``replicas`` devices for one global batch."""

    replicas: int
    compute_s: float
    allreduce_s: float
    speedup: float  # against one device (no all-reduce)

    @property
    def step_s(self) -> float:
        return self.compute_s + self.allreduce_s

    @property
    def efficiency(self) -> float:
        """Speed-up per device (1.0: perfect scaling)."""
        return self.speedup / self.replicas


def scaling(step_flops: int, device_flops: float, trainable_params: int, tensors: int, *,
            bandwidth: float, replicas: Sequence[int] = (1, 2, 4, 8, 16),
            dtype_bytes: int = 4, latency_s: float = DEFAULT_LATENCY_S) -> list[ScalingPoint]:
    """Predicted step time and speed-up for ``replicas`` devices of ``device_flops`` each.

    Args:
        step_flops: training FLOPs of one global batch.
        device_flops: FLOP/s one device achieves (e.g. the measured rate or a peak).
        trainable_params, tensors: the gradient to all-reduce.
        bandwidth: link bandwidth, bytes per second.
        replicas: device counts to predict.
    """
    checks.positive("device_flops", device_flops)
    single = step_flops / device_flops
    points = []
    for n in replicas:
        reduce_s = allreduce(trainable_params, tensors, n, bandwidth=bandwidth,
                             dtype_bytes=dtype_bytes, latency_s=latency_s).seconds
        compute = single / n
        points.append(ScalingPoint(n, compute, reduce_s, single / (compute + reduce_s)))
    return points
