"""Predict (and, with ``check``, measure) several models' latency: the data of ``predict``.

:func:`predict_document` takes built Keras models with their reports, loads the latency
profile of the runtime setting (:mod:`convcost.analysis.latency`; a missing one is a one-line
error naming the ``convcost calibrate`` line to run), predicts each model
(:func:`convcost.analysis.predict.predict_report`) and, with ``check``, times each model with
the harness of ``bench --runtime`` (:func:`convcost.measure.runtimes.prepare` and
:func:`~convcost.measure.runtimes.time_runners`, interleaved rounds, median and p10/p90).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convcost.analysis import latency
from convcost.analysis.predict import ModelPrediction, predict_report, speedups
from convcost.count.report import Report
from convcost.errors import ConvcostError

PREDICT_RUNTIMES = ("litert", "litert-int8", "tf", "tf-train")
CHECK_REPEATS = 30


def load_profile(runtime: str, threads: int, batch: int,
                 path: str | Path | None = None) -> latency.LatencyProfile:
    """The latency profile of this setting: ``path`` or the one ``calibrate`` saved."""
    if runtime not in PREDICT_RUNTIMES:
        raise ConvcostError(f"Latency prediction supports the runtimes "
                            f"{', '.join(PREDICT_RUNTIMES)}. Received: {runtime!r}.")
    command = latency.calibrate_command(runtime, threads, batch)
    file = Path(path) if path is not None else latency.default_path(runtime, threads, batch)
    profile = latency.load(file, command=command)
    if (profile.runtime, profile.threads, profile.batch) != (runtime, threads, batch):
        raise ConvcostError(f"The latency profile is for runtime {profile.runtime}, "
                            f"{profile.threads} thread(s), batch {profile.batch}; run "
                            f"'{command}' for this setting. Received: {str(file)!r}.")
    return profile


def predict_document(models: Sequence[Any], reports: Sequence[Report],
                     profile: latency.LatencyProfile, *, check: bool = False,
                     profile_label: str = "") -> dict[str, Any]:
    """Predictions of ``reports`` (and measurements of ``models`` with ``check``) as the data
    :mod:`convcost.render.predict` renders."""
    predictions = [predict_report(report, profile) for report in reports]
    if check:
        predictions = measure(models, predictions, profile)
    return document(predictions, profile, profile_label)


def measure(models: Sequence[Any], predictions: Sequence[ModelPrediction],
            profile: latency.LatencyProfile,
            repeats: int = CHECK_REPEATS) -> list[ModelPrediction]:
    """Each prediction with the model's measured median (and p10, p90) added."""
    from convcost.measure.convert import ConversionCache
    from convcost.measure.runtimes import prepare, time_runners

    cache = ConversionCache()
    runners = [prepare(profile.runtime, model, batch_size=profile.batch,
                       threads=profile.threads, cache=cache) for model in models]
    timings = time_runners(runners, repeats, 3, min(10, repeats), profile.clock)
    return [dataclasses.replace(p, measured_ms=t.median * 1e3,
                                measured_spread_ms=(t.p10 * 1e3, t.p90 * 1e3))
            for p, t in zip(predictions, timings)]


def document(predictions: Sequence[ModelPrediction], profile: latency.LatencyProfile,
             label: str = "") -> dict[str, Any]:
    """The JSON-ready data of ``predict`` (see :mod:`convcost.render.predict`)."""
    models = []
    base = predictions[0] if predictions else None
    for prediction, speedup in zip(predictions, speedups(predictions)):
        entry = prediction.to_json()
        entry["predicted_speedup"] = speedup
        entry["mac_ratio"] = base.macs / prediction.macs if base and prediction.macs else 0.0
        entry["measured_speedup"] = (base.measured_ms / prediction.measured_ms
                                     if base and base.measured_ms and prediction.measured_ms
                                     else None)
        models.append(entry)
    return {"runtime": profile.runtime, "threads": profile.threads,
            "batch_size": profile.batch, "profile": label, "clock": profile.clock,
            "calibrated": {k: {"samples": m.samples, "cv": m.cv, "method": m.method}
                           for k, m in profile.kinds.items()},
            "scale": profile.scale, "offset": profile.offset,
            "composition": _composition(profile), "models": models}


def _composition(profile: latency.LatencyProfile) -> dict[str, Any] | None:
    """The whole-model check of the profile without its chains (None in older profiles)."""
    fitted = profile.meta.get("composition")
    return {k: v for k, v in fitted.items() if k != "models"} if fitted else None
