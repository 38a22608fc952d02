"""The bench document's derived numbers (hand numbers): speedups and share of the peak."""

from __future__ import annotations

import pytest

from convcost.measure.bench import BenchRow
from convcost.measure.probe import Peak
from convcost.measure.timing import Timings
from convcost.render import RenderOptions
from convcost.render.bench import bench_document, render, speed_dict


def test_bench_row_speedups_by_hand() -> None:
    naive = BenchRow("naive", 259_082, 25_362_816, 51_000_000, 64, Timings((0.020,)))
    v1 = BenchRow("v1", 48_330, 3_109_760, 6_400_000, 64, Timings((0.008,)))
    row = speed_dict(v1, naive, Peak(2048, Timings((0.1,))))
    assert row["predicted_speedup"] == pytest.approx(25_362_816 / 3_109_760)
    assert row["measured_speedup"] == pytest.approx(2.5)  # 20 ms / 8 ms
    assert row["achieved_gflops"] == pytest.approx(51.2)  # 6.4e6 * 64 / 0.008 / 1e9
    assert row["share_of_peak"] == pytest.approx(51.2 / 171.79869184)


def test_bench_table_at_40_columns_keeps_every_number() -> None:
    naive = BenchRow("naive_with_a_long_name", 259_082, 25_362_816, 51_000_000, 64,
                     Timings((0.020, 0.022, 0.021)))
    v1 = BenchRow("v1", 48_330, 3_109_760, 6_400_000, 64, Timings((0.008, 0.009, 0.010)))
    document = bench_document([naive, v1], Peak(2048, Timings((0.1,))), {}, "compiled")
    text = render(document, "table", RenderOptions(width=40))
    # medians 21 ms and 9 ms; 64 samples / 9 ms = 7,111 img/s; 25,362,816 / 3,109,760 = 8.16
    for number in ("21.00", "9.00", "7111", "8.16", "25.36 M", "3.11 M"):
        assert number in text
    assert "…" not in text and "naive_with" in text


def test_speed_dict_is_one_row_shape_for_bench_and_runtimes() -> None:
    """A runtime row adds accuracy, .tflite size and note after the same keys, in order."""
    from convcost.measure.bench import RuntimeRow

    bench = BenchRow("v1", 48_330, 3_109_760, 6_400_000, 64, Timings((0.008,)))
    runtime = RuntimeRow("v1", "litert", "fp32", "1", 64, 48_330, 3_109_760, 6_400_000,
                         Timings((0.008,)), 0.95, 1000, "")
    plain, extended = speed_dict(bench, bench, None), speed_dict(runtime, runtime, None)
    assert list(extended) == [*plain, "accuracy", "tflite_bytes", "note"]
    assert {k: extended[k] for k in plain} == plain
    assert plain["share_of_peak"] is None and plain["measured_speedup"] == 1.0
    empty = BenchRow("empty", 0, 0, 0, 64, Timings((0.008,)))
    assert speed_dict(empty, bench, None)["predicted_speedup"] is None  # no MACs: no ratio


def test_bench_table_shows_a_dash_for_a_model_without_macs() -> None:
    naive = BenchRow("naive", 259_082, 25_362_816, 51_000_000, 64, Timings((0.020,)))
    empty = BenchRow("empty", 0, 0, 0, 64, Timings((0.001,)))
    document = bench_document([naive, empty], Peak(2048, Timings((0.1,))), {}, "compiled")
    line = next(ln for ln in render(document, "table").splitlines() if ln.startswith(" empty"))
    assert line.split()[-2:] == ["-", "20.00"]  # pred: no MAC ratio; meas: 20 ms / 1 ms
