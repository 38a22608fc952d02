"""Latency statistics (hand numbers), the repeat loop and the backend's compiled call."""

from __future__ import annotations

import pytest

from convcost.errors import ConvcostError
from convcost.measure import timing
from convcost.measure.timing import Timings


def test_timing_statistics_by_hand() -> None:
    # 1..10 s, shuffled. Inclusive deciles: position 1 + 9 * 0.1 = 1.9 -> 1.9 s, and 9.1 s.
    timings = Timings((7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 6.0, 8.0))
    assert (timings.median, timings.min) == (5.5, 1.0)
    assert timings.p10 == pytest.approx(1.9) and timings.p90 == pytest.approx(9.1)
    assert Timings((0.25,)).p90 == 0.25


def test_time_repeats_runs_warmup_then_repeats() -> None:
    calls: list[int] = []
    timings = timing.time_repeats(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6 and len(timings.seconds) == 4


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(repeats=0, warmup=1), r"repeats must be a positive integer. Received: repeats=0"),
    (dict(repeats=1, warmup=-1), r"warmup must be a non-negative integer"),
])
def test_bad_counts(kwargs, match: str) -> None:
    with pytest.raises(ConvcostError, match=match):
        timing.time_repeats(lambda: None, **kwargs)


def test_best_time_takes_the_fastest_run_after_a_warmup() -> None:
    calls: list[int] = []
    assert timing.best_time(lambda: calls.append(1), repeats=3) > 0
    assert len(calls) == 4


def test_compiled_call_names_the_backend() -> None:
    assert timing.compiled_call().startswith("tf.function(")


def test_interleaved_rounds_spread_the_repeats_and_shuffle() -> None:
    log: list[str] = []
    runs = [lambda: log.append("a"), lambda: log.append("b"), lambda: log.append("c")]
    timings = timing.time_interleaved(runs, repeats=5, warmup=1, rounds=2,
                                      syncs=[timing.no_sync] * 3)
    assert [len(t.seconds) for t in timings] == [5, 5, 5]  # rounds of 3 then 2 calls each
    assert log[:3] == ["a", "b", "c"]  # the warm-up runs each call once, in order
    timed = log[3:]
    assert sorted(timed) == ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    # each round runs one call's repeats in a block: blocks of 3 then of 2
    blocks = [timed[i:i + 3] for i in range(0, 9, 3)] + [timed[i:i + 2] for i in range(9, 15, 2)]
    assert all(len(set(block)) == 1 for block in blocks)
