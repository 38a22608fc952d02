"""The sentinel that waits out bursts of load before a timing (measure.sentinel)."""

from __future__ import annotations

import pytest

from convcost.measure import sentinel as module
from convcost.measure.sentinel import Sentinel


def _scripted(times: list[float]) -> tuple[Sentinel, list[float]]:
    """A sentinel whose checks return ``times`` in order; the pauses it takes are recorded."""
    pauses: list[float] = []
    script = iter(times)
    return Sentinel(lambda: next(script), sleep=pauses.append), pauses


def test_a_usual_machine_is_not_held_back():
    guard, pauses = _scripted([100e-6] * 5 + [104e-6])  # 4 % over: within the 8 % tolerance
    assert guard.guard() and pauses == []
    assert (guard.waits, guard.busy, len(guard.checks)) == (0, 0, 6)


def test_a_burst_is_waited_out_and_counted():
    # five first checks at 100 us, then three checks in a burst (150 us), then back to 101 us
    guard, pauses = _scripted([100e-6] * 5 + [150e-6] * 3 + [101e-6])
    assert guard.guard()
    assert pauses == [module.PAUSE_S] * 3 and guard.waited_s == 3 * module.PAUSE_S
    assert (guard.waits, guard.busy) == (1, 0)
    assert guard.usual() == 100e-6  # a low quantile: the burst's checks do not move it


def test_a_burst_longer_than_the_longest_wait_lets_the_timing_go_ahead():
    pauses_allowed = int(module.MAX_WAIT_S / module.PAUSE_S)
    guard, pauses = _scripted([100e-6] * 5 + [200e-6] * (pauses_allowed + 1))
    assert not guard.guard()
    assert len(pauses) == pauses_allowed and (guard.waits, guard.busy) == (0, 1)
    assert guard.summary() == {"checks": 5 + pauses_allowed + 1, "usual_seconds": 100e-6,
                               "waited_s": pytest.approx(module.MAX_WAIT_S), "waits": 0,
                               "busy": 1}


def test_a_real_sentinel_times_its_kernel_on_litert():
    pytest.importorskip("ai_edge_litert")
    from convcost.measure.calibrate import sentinel_for

    guard = sentinel_for("litert", 1, "cpu")
    guard.guard()
    assert len(guard.checks) == module.FIRST_CHECKS + 1 or guard.waits or guard.busy
    # 128 x 128 x 28 x 28 = 12.8 M multiply-adds: between 12.8 GMAC/s and 1.3 TMAC/s here
    assert 1e-5 < guard.usual() < 1e-3
