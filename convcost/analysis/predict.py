"""A model's predicted latency: its rows mapped to kernels, each kernel predicted, summed.

:func:`predict_report` takes a :class:`~convcost.count.report.Report` (the rows of
``analyze``) and a :class:`~convcost.analysis.latency.LatencyProfile`, maps the rows to the
kernels the runtime runs (:func:`convcost.analysis.kernels.kernels_of`), predicts each kernel
and puts its time on the row it belongs to; rows fused into another row's kernel show 0 and
say where they went. The model's time is the fixed cost of one call plus the sum of its
kernels (with, for a model whose weights exceed the cache, what reading them from memory
costs; a note says how much). Nothing is converted or measured: prediction takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.analysis.kernels import kernels_of
from convcost.analysis.latency import (
    KernelPrediction,
    LatencyProfile,
    model_weights,
    predict_kernels,
)
from convcost.count.report import Report

MS = 1e3


@dataclass(frozen=True)
class RowPrediction:
    """One row of ``analyze`` with its predicted time (0 when fused into another row)."""

    path: str
    type: str
    kernel: str
    predicted_ms: float
    macs: int
    fused_into: str = ""
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "kernel": self.kernel,
                "predicted_ms": self.predicted_ms, "macs": self.macs,
                "fused_into": self.fused_into or None, "flags": list(self.flags)}


@dataclass(frozen=True)
class ModelPrediction:
    """A model's predicted latency, per row and in total, for one runtime setting."""

    model: str
    runtime: str
    threads: int
    batch: int
    fixed_ms: float
    rows: tuple[RowPrediction, ...]
    macs: int
    measured_ms: float | None = None
    measured_spread_ms: tuple[float, float] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def predicted_ms(self) -> float:
        return self.fixed_ms + sum(row.predicted_ms for row in self.rows)

    @property
    def flagged_rows(self) -> int:
        return sum(1 for row in self.rows if row.flags)

    @property
    def error(self) -> float | None:
        """predicted / measured - 1, when measured."""
        return None if self.measured_ms is None else self.predicted_ms / self.measured_ms - 1.0

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "runtime": self.runtime, "threads": self.threads,
                "batch_size": self.batch, "predicted_ms": self.predicted_ms,
                "fixed_ms": self.fixed_ms, "macs": self.macs,
                "flagged_rows": self.flagged_rows, "measured_ms": self.measured_ms,
                "measured_p10_p90_ms": (list(self.measured_spread_ms)
                                        if self.measured_spread_ms else None),
                "error": self.error, "notes": list(self.notes),
                "rows": [row.to_json() for row in self.rows]}


def predict_report(report: Report, profile: LatencyProfile) -> ModelPrediction:
    """The predicted latency of ``report``'s model under ``profile`` (see the module doc)."""
    kernels = kernels_of(report, profile.runtime)
    times = [0.0] * len(report.layers)
    flags: list[list[str]] = [[] for _ in report.layers]
    fused_into = [""] * len(report.layers)
    kinds = [""] * len(report.layers)
    predictions = predict_kernels(profile, kernels)
    for prediction in predictions:
        head, *rest = prediction.kernel.rows
        times[head] += prediction.seconds * MS
        flags[head] += prediction.out_of_range
        kinds[head] = "+".join(k for k in (kinds[head], prediction.kernel.kind) if k)
        for index in rest:
            fused_into[index] = report.layers[head].path
            kinds[index] = "fused"
    rows = tuple(RowPrediction(row.path, row.type, kinds[i], times[i], row.macs,
                               fused_into[i], tuple(flags[i]))
                 for i, row in enumerate(report.layers))
    return ModelPrediction(report.model, profile.runtime, profile.threads, profile.batch,
                           profile.fixed_seconds * MS, rows, report.macs,
                           notes=_overflow_note(profile, predictions))


def _overflow_note(profile: LatencyProfile,
                   predictions: Sequence[KernelPrediction]) -> tuple[str, ...]:
    """Says how much of the prediction is weights read from memory (none if they fit)."""
    extra = sum(p.overflow_seconds for p in predictions)
    if not extra or profile.overflow is None:
        return ()
    weights = model_weights(p.kernel for p in predictions)
    return (f"its weights ({weights * profile.overflow.itemsize / 1e6:.1f} MB) exceed the "
            f"{profile.overflow.cache_bytes / 2**20:.3g} MiB cache: {extra * MS:.3f} ms of the "
            f"prediction reads them from memory",)


def speedups(predictions: Sequence[ModelPrediction]) -> list[float]:
    """Each model's predicted speed-up over the first (first / this)."""
    base = predictions[0].predicted_ms if predictions else 0.0
    return [base / p.predicted_ms if p.predicted_ms else 0.0 for p in predictions]
