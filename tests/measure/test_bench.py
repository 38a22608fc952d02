"""Forward latency of a real model, and a bench row's derived rates (hand numbers)."""

from __future__ import annotations

import pytest

from convcost.measure import bench
from convcost.measure.bench import BenchRow
from convcost.measure.timing import Timings


def test_row_rates_by_hand() -> None:
    # naive: 25,362,816 MACs; forward FLOPs taken as 51,000,000 per sample; batch 64 in 20 ms
    naive = BenchRow("naive", 259_082, 25_362_816, 51_000_000, 64, Timings((0.020,)))
    assert naive.throughput == pytest.approx(3200.0)  # 64 / 0.02
    assert naive.achieved_gflops == pytest.approx(163.2)  # 51e6 * 64 / 0.02 / 1e9


def test_real_forward_latency(zoo_model) -> None:
    timings = bench.forward_latency(zoo_model("v1"), batch_size=4, repeats=3, warmup=1)
    assert len(timings.seconds) == 3 and 0 < timings.min <= timings.median
