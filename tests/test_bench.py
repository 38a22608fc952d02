"""Latency statistics, the matmul peak and derived rates (hand numbers), the machine record."""

from __future__ import annotations

import os

import pytest

from convcost.errors import ConvcostError
from convcost.measure import bench
from convcost.measure.bench import BenchRow, Peak, Timings


def test_timing_statistics_by_hand() -> None:
    # 1..10 s, shuffled. Inclusive deciles: position 1 + 9 * 0.1 = 1.9 -> 1.9 s, and 9.1 s.
    timings = Timings((7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 6.0, 8.0))
    assert (timings.median, timings.min) == (5.5, 1.0)
    assert timings.p10 == pytest.approx(1.9) and timings.p90 == pytest.approx(9.1)
    assert Timings((0.25,)).p90 == 0.25


def test_peak_rate_by_hand() -> None:
    peak = Peak(2048, Timings((0.2, 0.1, 0.3)))
    assert peak.flops == 17_179_869_184  # 2 * 2048**3
    assert peak.gflops == pytest.approx(85.89934592)  # at the median, 0.2 s


def test_row_rates_and_speedups_by_hand() -> None:
    # naive: 25,362,816 MACs; forward FLOPs taken as 51,000,000 per sample; batch 64 in 20 ms
    naive = BenchRow("naive", 259_082, 25_362_816, 51_000_000, 64, Timings((0.020,)))
    v1 = BenchRow("v1", 48_330, 3_109_760, 6_400_000, 64, Timings((0.008,)))
    assert naive.throughput == pytest.approx(3200.0)  # 64 / 0.02
    assert naive.achieved_gflops == pytest.approx(163.2)  # 51e6 * 64 / 0.02 / 1e9
    row = bench.bench_dict(v1, naive, Peak(2048, Timings((0.1,))))
    assert row["predicted_speedup"] == pytest.approx(25_362_816 / 3_109_760)
    assert row["measured_speedup"] == pytest.approx(2.5)  # 20 ms / 8 ms
    assert row["achieved_gflops"] == pytest.approx(51.2)  # 6.4e6 * 64 / 0.008 / 1e9
    assert row["share_of_peak"] == pytest.approx(51.2 / 171.79869184)


def test_time_repeats_runs_warmup_then_repeats() -> None:
    calls: list[int] = []
    timings = bench.time_repeats(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and len(timings.seconds) == 4


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(repeats=0, warmup=1), r"repeats must be an integer >= 1. Received: repeats=0"),
    (dict(repeats=1, warmup=-1), r"warmup must be an integer >= 0"),
])
def test_bad_counts(kwargs, match: str) -> None:
    with pytest.raises(ConvcostError, match=match):
        bench.time_repeats(lambda: None, **kwargs)


def test_real_peak_and_forward_latency(zoo_model) -> None:
    peak = bench.peak_matmul(size=256, repeats=3, warmup=1)
    assert len(peak.timings.seconds) == 3 and peak.gflops > 0.1
    timings = bench.forward_latency(zoo_model("v1"), batch_size=4, repeats=3, warmup=1)
    assert len(timings.seconds) == 3 and 0 < timings.min <= timings.median


def test_machine_record() -> None:
    import keras
    import tensorflow as tf

    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    info = bench.machine_info()
    assert info["cpu"] == names[0]
    assert info["cpu_count"] == os.cpu_count()
    assert (info["tensorflow"], info["keras"]) == (tf.__version__, keras.__version__)
    assert len(info["gpus"]) == len(tf.config.list_physical_devices("GPU"))


def test_compiled_call_names_the_backend() -> None:
    assert bench.compiled_call().startswith("tf.function(")


def test_no_gpu_is_an_empty_list_not_an_error() -> None:
    import tensorflow as tf

    assert len(bench.gpu_names()) == len(tf.config.list_physical_devices("GPU"))
