"""Train zoo models on MNIST with the same settings and time them honestly, epoch by epoch.

What is measured, per model (all with ``time.perf_counter``):

- **epoch time** (``train_s``): from Keras' ``on_epoch_begin`` to ``on_epoch_end`` in a callback,
  i.e. every training step of the epoch and the input pipeline, and nothing else. The first
  epoch also pays tracing, graph building and warm-up; it is kept apart (``warmup``) and the
  summary uses the *median* of the later (steady-state) epochs. With one epoch only, that epoch
  is used and the summary flags it.
- **evaluation time** (``eval_s``): the same callback then runs ``model.evaluate`` on the test
  set (batch :data:`EVAL_BATCH`) and times it separately; it is not part of ``train_s``.
- **wall time around** ``model.fit`` (``fit_s``), split into ``setup_s`` (fit called ->
  ``on_train_begin``: data adapter, build, train function), the epochs, the evaluations,
  ``bookkeeping_s`` (epoch boundaries: result files, progress) and ``return_s``
  (``on_train_end`` -> fit returned), with the process CPU time spent in it (``return_cpu_s``:
  near 0 means the process sat idle) and, when it lasts over :data:`STALL_AFTER_S`, where the
  main thread sat (:class:`StallWatch`). Nothing is hidden: the gap is reported.

Predictions use :func:`convcost.analyze` and :mod:`convcost.analysis.training`: training FLOPs
per sample are counted per layer (forward, input gradients, weight gradients; the first
layer's and frozen layers' gradients skipped), so training FLOPs per epoch ``= training FLOPs
· samples``; the predicted speed-up is their ratio against the first model, the predicted epoch
time is a model's FLOPs at the first model's achieved rate. The old estimate, ``3 · forward
FLOPs · samples`` (backward taken as twice the forward), is kept beside it
(``train_flops_per_epoch_3x``, ``predicted_epoch_s_3x``, ``predicted_speedup_macs``).
With ``distribute="mirrored"`` the same run goes through ``tf.distribute.MirroredStrategy``
and the gradient all-reduce is measured and predicted (:func:`distribution_dict`).
"""

from __future__ import annotations

from convcost.measure.experiment.callbacks import EVAL_BATCH, STALL_AFTER_S, EpochTimer, StallWatch
from convcost.measure.experiment.config import (
    DEVICES,
    DISTRIBUTIONS,
    OPTIMIZERS,
    PIPELINES,
    PRESETS,
    TrainConfig,
    make_config,
)
from convcost.measure.experiment.loop import fit_inputs, resolve_device, run_experiment, train_model
from convcost.measure.experiment.records import (
    TRAIN_FLOPS_PER_FORWARD,
    EpochRow,
    FitTiming,
    ModelRun,
    ModelSummary,
    gflops_per_second,
    steady_epoch,
    summarize,
    training_flops,
)
from convcost.measure.experiment.results import (
    ResultsFolder,
    distribution_dict,
    fit_dict,
    rows_csv,
    run_meta,
    summary_dict,
)

__all__ = ["DEVICES", "DISTRIBUTIONS", "EVAL_BATCH", "OPTIMIZERS", "PIPELINES", "PRESETS",
           "STALL_AFTER_S", "TRAIN_FLOPS_PER_FORWARD", "EpochRow", "EpochTimer", "FitTiming",
           "ModelRun", "ModelSummary", "ResultsFolder", "StallWatch", "TrainConfig",
           "distribution_dict", "fit_dict", "fit_inputs", "gflops_per_second", "make_config",
           "resolve_device", "rows_csv", "run_experiment", "run_meta", "steady_epoch",
           "summarize", "summary_dict", "train_model", "training_flops"]
