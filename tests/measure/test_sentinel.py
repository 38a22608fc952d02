"""The sentinel that waits out bursts of load before a timing (measure.sentinel)."""

from __future__ import annotations

import pytest

from convcost.measure import sentinel as module
from convcost.measure.sentinel import Sentinel

FIRST = [100e-6] * module.FIRST_CHECKS  # a quiet start: every check 100 us


def _scripted(times: list[float]) -> tuple[Sentinel, list[float]]:
    """A sentinel whose checks return ``times`` in order; the pauses it takes are recorded."""
    pauses: list[float] = []
    script = iter(times)
    return Sentinel(lambda: next(script), sleep=pauses.append), pauses


def test_a_usual_machine_is_not_held_back():
    guard, pauses = _scripted([*FIRST, 120e-6])  # 20 % over: within the 25 % tolerance
    assert guard.guard() and pauses == []
    assert (guard.waits, guard.busy, len(guard.checks)) == (0, 0, len(FIRST) + 1)


def test_a_burst_is_waited_out_and_counted():
    # the first checks at 100 us, then three checks in a burst (150 us), then back to 101 us
    guard, pauses = _scripted([*FIRST, *[150e-6] * 3, 101e-6])
    assert guard.guard()
    assert pauses == [module.PAUSE_S] * 3 and guard.waited_s == 3 * module.PAUSE_S
    assert (guard.waits, guard.busy) == (1, 0)
    assert guard.usual() == 100e-6  # the burst's checks are not among the passed ones


def test_a_burst_longer_than_the_longest_wait_lets_the_timing_go_ahead():
    pauses_allowed = int(module.MAX_WAIT_S / module.PAUSE_S)
    guard, pauses = _scripted([*FIRST, *[200e-6] * (pauses_allowed + 1)])
    assert not guard.guard()
    assert len(pauses) == pauses_allowed and (guard.waits, guard.busy) == (0, 1)
    assert guard.summary() == {"checks": len(FIRST) + pauses_allowed + 1, "usual_seconds": 100e-6,
                               "waited_s": pytest.approx(module.MAX_WAIT_S), "waits": 0,
                               "busy": 1}


def test_a_noisy_sentinel_allows_for_its_own_spread():
    # first checks 80-120 us: median 100, median absolute deviation 10 us (hand count), so a
    # check is a burst over 100 x (1 + 3 x 0.10) = 130 us rather than 125
    noisy = [80e-6, 90e-6, 100e-6, 110e-6, 120e-6, 85e-6, 115e-6, 100e-6, 95e-6]
    assert len(noisy) == module.FIRST_CHECKS and module.SPREAD == 3.0
    guard, pauses = _scripted([128e-6, 145e-6, 100e-6])  # after the first checks
    guard.checks, guard.passed = list(noisy), list(noisy)
    assert guard.limit() == pytest.approx(130e-6)
    assert guard.guard() and pauses == []  # 128 us passed
    # with 128 passed: median 100, deviation 12.5 us, limit 137.5 us: 145 waits once
    assert guard.limit() == pytest.approx(137.5e-6)
    assert guard.guard() and pauses == [module.PAUSE_S]


def test_a_real_sentinel_times_its_kernel_on_litert():
    pytest.importorskip("ai_edge_litert")
    from convcost.measure.calibrate import sentinel_for

    assert sentinel_for("tf", 1, "cpu") is None  # TensorFlow's timings are not guarded
    guard = sentinel_for("litert", 1, "cpu")
    assert guard is not None
    guard.guard()
    assert len(guard.checks) == module.FIRST_CHECKS + 1 or guard.waits or guard.busy
    # 128 x 128 x 28 x 28 = 12.8 M multiply-adds: between 12.8 GMAC/s and 1.3 TMAC/s here
    assert 1e-5 < guard.usual() < 1e-3
