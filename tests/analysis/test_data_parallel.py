"""The gradient all-reduce and data-parallel scaling model, from hand numbers."""

from __future__ import annotations

import pytest

from convcost.analysis.data_parallel import DEFAULT_LATENCY_S, allreduce, scaling
from convcost.errors import ConvcostError

V1_TRAINABLE, V1_TENSORS = 47_818, 22  # v1: count_params() of its trainable weights, variables


def test_ring_allreduce_of_v1() -> None:
    two = allreduce(V1_TRAINABLE, V1_TENSORS, 2, bandwidth=1e9)
    assert two.bytes == 47_818 * 4 == 191_272
    assert two.ring_bytes == 191_272  # 2(n-1)/n = 1 for n = 2
    # 2(n-1) = 2 ring steps x 22 tensors x 25 µs + 191,272 B at 1 GB/s
    assert two.seconds == pytest.approx(2 * 22 * 25e-6 + 191_272 / 1e9)
    four = allreduce(V1_TRAINABLE, V1_TENSORS, 4, bandwidth=1e9, dtype_bytes=2, latency_s=0)
    assert four.ring_bytes == 1.5 * 47_818 * 2  # 2 x 3 / 4
    assert allreduce(V1_TRAINABLE, V1_TENSORS, 1, bandwidth=1e9).seconds == 0
    assert DEFAULT_LATENCY_S == 25e-6


def test_scaling_stops_paying() -> None:
    # one device: 10 ms of compute; the all-reduce costs 2(n-1) x 10 tensors x 100 µs
    points = scaling(10**9, 1e11, 0, 10, bandwidth=1e9, replicas=(1, 2, 4, 8), latency_s=1e-4)
    assert [p.compute_s for p in points] == pytest.approx([0.01, 0.005, 0.0025, 0.00125])
    assert [p.allreduce_s for p in points] == pytest.approx([0, 0.002, 0.006, 0.014])
    assert [round(p.speedup, 3) for p in points] == [1.0, round(0.01 / 0.007, 3),
                                                     round(0.01 / 0.0085, 3),
                                                     round(0.01 / 0.01525, 3)]
    assert points[3].speedup < points[2].speedup  # 8 devices are slower than 4
    assert points[1].efficiency == pytest.approx(points[1].speedup / 2)


def test_bad_numbers() -> None:
    with pytest.raises(ConvcostError, match=r"replicas must be a positive integer"):
        allreduce(1, 1, 0, bandwidth=1e9)
    with pytest.raises(ConvcostError, match=r"bandwidth must be a positive number"):
        allreduce(1, 1, 2, bandwidth=0)
