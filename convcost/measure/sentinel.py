"""A sentinel kernel that keeps timings out of a shared machine's bursts of load.

On the project's 2-vCPU VM a fixed kernel timed every few seconds runs within ±3 % of its usual
time most of the time, and 10-80 % slower for seconds at a time (up to ~12 s seen; another
tenant's burst, see docs/results/predict.md). A kernel or model timed in a burst is off by as
much, and the CPU clock does not see it: the core is slower, not taken away. The sentinel times
one small fixed kernel before each measurement and, while that runs more than
:data:`TOLERANCE` (or its own noise, :data:`SPREAD`) slower than its usual time (the median of
its checks that passed), waits and checks again, up to :data:`MAX_WAIT_S`; then the measurement
goes ahead, counted as taken on a busy machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: A check slower than this times the usual time means a burst (or than SPREAD relative
#: deviations, median absolute, of the passed checks where the sentinel's own noise is
#: larger). At 1.08 LiteRT waited in 1 of 10 checks, a third of run G3's budget; at 1.25 in
#: 1 of 30 (the bursts measured reach 1.3-1.8x).
TOLERANCE = 1.25
SPREAD = 3.0
PAUSE_S = 0.5
#: Longest wait for one measurement; after it the measurement goes ahead (``busy``).
MAX_WAIT_S = 10.0
#: Checks taken back to back when the sentinel starts, before it judges any.
FIRST_CHECKS = 9
REPEATS = 50  # runs per check (median): 5 ms on LiteRT, 20 ms on TensorFlow at batch 1
#: The sentinel's kernel: a 1x1 conv of 128 to 128 channels on a 28x28 map (~0.1 ms on LiteRT).
KERNEL = {"kind": "pointwise", "h": 28, "c_in": 128, "c_out": 128, "k": 1, "stride": 1,
          "batch": 1}


@dataclass
class Sentinel:
    """``check`` returns the sentinel kernel's time now (seconds); ``sleep`` waits."""

    check: Callable[[], float]
    sleep: Callable[[float], None] = time.sleep
    checks: list[float] = field(default_factory=list)
    #: The first checks and those that passed: what the usual time is taken from (a burst's
    #: checks never raise it; a start in a burst is undone as usual checks come).
    passed: list[float] = field(default_factory=list)
    waited_s: float = 0.0
    waits: int = 0  # measurements that waited for a burst to pass
    busy: int = 0  # measurements that went ahead in a burst (after MAX_WAIT_S)

    def usual(self) -> float:
        """The sentinel's usual time: the median of its passed checks so far."""
        return statistics.median(self.passed)

    def limit(self) -> float:
        """The slowest check that is not a burst (see :data:`TOLERANCE`)."""
        usual = self.usual()
        spread = statistics.median(abs(t - usual) for t in self.passed) / usual
        return usual * max(TOLERANCE, 1.0 + SPREAD * spread)

    def guard(self) -> bool:
        """Return once the machine runs the sentinel at its usual speed (True), or after
        :data:`MAX_WAIT_S` of waiting (False, counted in ``busy``)."""
        while len(self.checks) < FIRST_CHECKS:
            self.checks.append(self.check())
            self.passed.append(self.checks[-1])
        waited = 0.0
        while True:
            self.checks.append(self.check())
            if self.checks[-1] <= self.limit():
                self.passed.append(self.checks[-1])
                self.waits += waited > 0
                return True
            if waited >= MAX_WAIT_S:
                self.busy += 1
                return False
            self.sleep(PAUSE_S)
            waited += PAUSE_S
            self.waited_s += PAUSE_S

    def summary(self) -> dict[str, Any]:
        """What a profile or a benchmark keeps: checks, usual seconds, waits, busy."""
        return {"checks": len(self.checks),
                "usual_seconds": self.usual() if self.passed else None,
                "waited_s": self.waited_s, "waits": self.waits, "busy": self.busy}


def of_runner(runner: Any, clock: str) -> Sentinel:
    """A sentinel that times ``runner`` (a :class:`convcost.measure.runtimes.Runner` of
    :data:`KERNEL`) by the ``bench`` harness with ``clock``
    (:func:`convcost.measure.calibrate.sentinel_for` makes one for a runtime)."""
    from convcost.measure.timing import CLOCKS, repeat_times

    timer = CLOCKS[clock]
    return Sentinel(lambda: statistics.median(
        repeat_times(runner.run, REPEATS, 1, runner.sync, timer)))
