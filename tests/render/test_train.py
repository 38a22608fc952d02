"""The bench document's derived numbers (hand numbers): speedups and share of the peak."""

from __future__ import annotations

import pytest

from convcost.measure.bench import BenchRow
from convcost.measure.probe import Peak
from convcost.measure.timing import Timings
from convcost.render.train import bench_dict


def test_bench_row_speedups_by_hand() -> None:
    naive = BenchRow("naive", 259_082, 25_362_816, 51_000_000, 64, Timings((0.020,)))
    v1 = BenchRow("v1", 48_330, 3_109_760, 6_400_000, 64, Timings((0.008,)))
    row = bench_dict(v1, naive, Peak(2048, Timings((0.1,))))
    assert row["predicted_speedup"] == pytest.approx(25_362_816 / 3_109_760)
    assert row["measured_speedup"] == pytest.approx(2.5)  # 20 ms / 8 ms
    assert row["achieved_gflops"] == pytest.approx(51.2)  # 6.4e6 * 64 / 0.008 / 1e9
    assert row["share_of_peak"] == pytest.approx(51.2 / 171.79869184)
