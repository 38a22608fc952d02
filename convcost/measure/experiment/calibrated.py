"""Epoch times predicted *before* training, from a calibrated training-step profile.

``convcost calibrate --runtime tf-train --threads N --batch-size B`` times single kernels and
generated chains as one training step each (forward, gradients, Adam's update:
:func:`convcost.measure.runtimes.training_runner`). When such a profile matches a ``train`` run
(CPU, no distribution, Adam, TensorFlow's default threads: one per usable CPU, the run's batch
size), every model's step is predicted from its kernels before it trains
(:func:`convcost.analysis.predict.predict_report`), and its epoch as ``steps x step``. What the
step leaves out is measured in the epoch and shows up as the error: the fit loop's own work per
step and the input pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcost.measure.experiment.config import TrainConfig


@dataclass(frozen=True)
class StepProfile:
    """The training-step latency profile a run uses (``profile`` None: ``why`` not)."""

    profile: Any
    why: str

    def step_seconds(self, report: Any) -> float | None:
        """A model's predicted training step (seconds), or None without a profile."""
        if self.profile is None:
            return None
        from convcost.analysis.predict import predict_report

        return predict_report(report, self.profile).predicted_ms / 1e3


def step_profile(config: TrainConfig, device: str) -> StepProfile:
    """The saved ``tf-train`` profile that matches this run, or why there is none."""
    from convcost.analysis import latency
    from convcost.measure.machine import usable_cpus
    from convcost.measure.predicting import load_profile
    from convcost.measure.runtimes import TRAINING, TRAINING_OPTIMIZER

    threads, batch = usable_cpus(), config.batch_size
    command = latency.calibrate_command(TRAINING, threads, batch)
    if device != "cpu:0" or config.distribute != "none":
        return StepProfile(None, "calibrated steps are for one CPU process; this run is not")
    if config.optimizer != TRAINING_OPTIMIZER:
        return StepProfile(None, f"steps are calibrated with {TRAINING_OPTIMIZER}; this run "
                                 f"uses {config.optimizer}")
    path = latency.default_path(TRAINING, threads, batch)
    if not path.exists():
        return StepProfile(None, f"no training-step profile; '{command}' makes one")
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        return StepProfile(None, "scikit-learn (the predict extra) is not installed")
    return StepProfile(load_profile(TRAINING, threads, batch), str(path))
