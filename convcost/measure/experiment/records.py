"""What a training run measured: epoch rows, fit timing, and the summary against predictions."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.analysis.roofline import GIGA
from convcost.errors import ConvcostError

TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (about 2x forward)



@dataclass(frozen=True)
class EpochRow:
    """One epoch of one model: times in seconds, Keras' train metrics, the test evaluation."""

    model: str
    epoch: int  # 1-based
    warmup: bool  # the first epoch: includes tracing and warm-up
    samples: int
    steps: int
    batch_size: int
    train_s: float
    eval_s: float
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float


@dataclass(frozen=True)
class FitTiming:
    """Wall time around ``model.fit`` and where it went (see the module docstring)."""

    fit_s: float
    setup_s: float
    epochs_s: float
    eval_s: float
    bookkeeping_s: float
    return_s: float
    return_cpu_s: float  # process CPU time (all threads) during return_s: ~0 means idle
    return_stack: str = ""  # where the main thread sat, when return_s was long (see StallWatch)

    @property
    def gap_s(self) -> float:
        """Wall time around fit not spent in training epochs or test evaluation."""
        return self.fit_s - self.epochs_s - self.eval_s


@dataclass(frozen=True)
class ModelRun:
    """A trained model: its counts (from :func:`convcost.analyze`), epochs and fit timing.

    ``training_flops`` is the per-layer training cost per sample
    (:mod:`convcost.analysis.training`; 0 when unknown: then 3 x forward is used);
    ``distribution`` what ``--distribute`` measured (see :mod:`convcost.measure.distribute`).
    """

    model: str
    params: int  # keras count_params()
    macs: int  # per sample
    forward_flops: int  # per sample: 2 * MACs + other FLOPs
    device: str
    rows: tuple[EpochRow, ...]
    timing: FitTiming
    training_flops: int = 0  # per sample: forward + input and weight gradients
    trainable_params: int = 0
    trainable_tensors: int = 0
    distribution: dict[str, Any] | None = None
    predicted_step_s: float | None = None  # from a tf-train profile, before training


@dataclass(frozen=True)
class ModelSummary:
    """Prediction next to measurement for one model; ratios are against the first model."""

    model: str
    params: int
    macs: int
    forward_flops: int
    samples: int
    epochs: int
    first_epoch_s: float
    steady_epoch_s: float
    steady_epochs: int  # how many epochs the median is over; 0: only the warm-up epoch
    predicted_speedup: float  # training-FLOPs ratio (MAC ratio when training_flops is 0)
    measured_speedup: float
    final_train_accuracy: float
    final_test_accuracy: float
    training_flops: int = 0  # per sample; 0: unknown, 3 x forward is used
    predicted_speedup_macs: float = 1.0  # the forward-MAC ratio (what 0.1 predicted)
    predicted_epoch_s: float = math.nan  # at the first model's achieved GFLOP/s
    predicted_epoch_s_3x: float = math.nan  # the same with 3 x forward FLOPs
    steps: int = 0  # training steps per epoch
    calibrated_epoch_s: float = math.nan  # steps x the tf-train profile's predicted step

    @property
    def flagged(self) -> bool:
        """True when only one epoch ran, so its time includes warm-up."""
        return self.steady_epochs == 0

    @property
    def train_flops_per_epoch(self) -> int:
        """Training FLOPs of an epoch: per-layer training FLOPs x samples (3 x forward when
        the per-layer count is unknown)."""
        if self.training_flops:
            return self.training_flops * self.samples
        return training_flops(self.forward_flops, self.samples)

    @property
    def train_flops_per_epoch_3x(self) -> int:
        """The old estimate: 3 x forward FLOPs x samples."""
        return training_flops(self.forward_flops, self.samples)

    @property
    def steady_step_s(self) -> float:
        """Seconds per training step in the steady state."""
        return self.steady_epoch_s / self.steps if self.steps else math.nan

    @property
    def throughput(self) -> float:
        """Training samples per second in the steady state."""
        return self.samples / self.steady_epoch_s

    @property
    def achieved_gflops(self) -> float:
        return gflops_per_second(self.train_flops_per_epoch, self.steady_epoch_s)


def training_flops(forward_flops: int, samples: int) -> int:
    """FLOPs of one training epoch: ``3 · forward FLOPs per sample · samples`` (exact int)."""
    return TRAIN_FLOPS_PER_FORWARD * forward_flops * samples


def gflops_per_second(flops: int, seconds: float) -> float:
    """``flops / seconds`` in GFLOP/s."""
    return flops / seconds / GIGA


def steady_epoch(times: Sequence[float]) -> tuple[float, int]:
    """The median epoch time after the first, and how many epochs it is over.

    With one epoch only, that epoch's time and 0 (the caller flags it: it includes warm-up).
    """
    if not times:
        raise ConvcostError("No finished epoch to summarise. Received: 0 epochs.")
    if len(times) == 1:
        return times[0], 0
    return statistics.median(times[1:]), len(times) - 1


def summarize(runs: Sequence[ModelRun]) -> list[ModelSummary]:
    """One summary per run, against the first: predicted speedup = training-FLOPs ratio
    (MAC ratio when a run has no per-layer count), measured = steady-epoch-time ratio;
    predicted epoch time = the run's training FLOPs at the first model's achieved rate."""
    summaries = []
    for run in runs:
        seconds, steady = steady_epoch([row.train_s for row in run.rows])
        last = run.rows[-1]
        summaries.append(ModelSummary(
            model=run.model, params=run.params, macs=run.macs, forward_flops=run.forward_flops,
            samples=last.samples, epochs=len(run.rows), first_epoch_s=run.rows[0].train_s,
            steady_epoch_s=seconds, steady_epochs=steady, predicted_speedup=1.0,
            measured_speedup=1.0, final_train_accuracy=last.train_accuracy,
            final_test_accuracy=last.test_accuracy, training_flops=run.training_flops,
            steps=last.steps, calibrated_epoch_s=(last.steps * run.predicted_step_s
                                                  if run.predicted_step_s else math.nan)))
    return _against_first(summaries)


def _against_first(summaries: list[ModelSummary]) -> list[ModelSummary]:
    if not summaries:
        return []
    base = summaries[0]
    per_layer = all(s.training_flops for s in summaries)
    result = []
    for s in summaries:
        macs = base.macs / s.macs if s.macs else math.nan
        flops = (base.train_flops_per_epoch / s.train_flops_per_epoch
                 if s.train_flops_per_epoch else math.nan)
        result.append(replace(
            s, predicted_speedup=flops if per_layer else macs, predicted_speedup_macs=macs,
            measured_speedup=base.steady_epoch_s / s.steady_epoch_s,
            predicted_epoch_s=base.steady_epoch_s * s.train_flops_per_epoch
            / base.train_flops_per_epoch,
            predicted_epoch_s_3x=base.steady_epoch_s * s.train_flops_per_epoch_3x
            / base.train_flops_per_epoch_3x))
    return result


