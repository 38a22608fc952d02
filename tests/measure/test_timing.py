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
