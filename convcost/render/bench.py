"""Render ``convcost bench``: forward latency of each model next to its MACs and the matmul
peak, as a table or JSON. :func:`speed_dict` (one timed model with its derived rates) is shared
with ``bench --runtime`` (:mod:`convcost.render.runtimes`).

JSON document (``--format json``)::

    {"machine": {...}, "method": str, "peak": {"size", "flops", "gflops", "best_gflops",
                                               "median_s", ...},
     "models": [{"model", "params", "macs", "forward_flops", "batch_size", "median_s",
                 "p10_s", "p90_s", "min_s", "seconds", "throughput_samples_per_s",
                 "achieved_gflops", "share_of_peak", "predicted_speedup",
                 "measured_speedup"}]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from convcost.measure.bench import RuntimeRow
from convcost.render.options import RenderOptions
from convcost.render.tables import Grid, check_choice, narrow_table, print_to_string
from convcost.render.units import human

if TYPE_CHECKING:
    from convcost.measure.bench import BenchRow
    from convcost.measure.probe import Peak

FORMATS = ("table", "json")


def render(data: dict[str, Any], fmt: str, opts: RenderOptions | None = None) -> str:
    """The bench document ``data`` (:func:`bench_document`) as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return _table(data, width=options.width, color=options.color)


def speed_dict(row: BenchRow | RuntimeRow, base: BenchRow | RuntimeRow,
               peak: Peak | None) -> dict[str, Any]:
    """One timed model with its derived rates; speed-ups against ``base`` (the first model).
    A runtime row (``bench --runtime``) also carries its accuracy, .tflite size and note."""
    data = {"model": row.model, "params": row.params, "macs": row.macs,
            "forward_flops": row.forward_flops, "batch_size": row.batch_size,
            **row.timings.as_dict(), "throughput_samples_per_s": row.throughput,
            "achieved_gflops": row.achieved_gflops,
            "share_of_peak": row.achieved_gflops / peak.gflops if peak else None,
            "predicted_speedup": base.macs / row.macs if row.macs else None,
            "measured_speedup": base.timings.median / row.timings.median}
    if isinstance(row, RuntimeRow):
        data |= {"accuracy": row.accuracy, "tflite_bytes": row.tflite_bytes, "note": row.note}
    return data


def peak_dict(peak: Peak) -> dict[str, Any]:
    """The peak measurement with its derived rate."""
    return {"size": peak.size, "flops": peak.flops, "gflops": peak.gflops,
            "best_gflops": peak.best_gflops, **peak.timings.as_dict()}


def bench_document(rows: Sequence[BenchRow], peak: Peak, machine: dict[str, Any],
                   method: str) -> dict[str, Any]:
    """The JSON document of ``convcost bench``: machine, method, peak, one entry per model."""
    return {"machine": machine, "method": f"{method}; each call waits for its result",
            "peak": peak_dict(peak), "models": [speed_dict(row, rows[0], peak) for row in rows]}


def _table(document: dict[str, Any], *, width: int | None, color: bool = False) -> str:
    """Latency percentiles, throughput, GFLOP/s and speedups, one line per model.

    ``width=None`` is the natural width; a narrower one wraps model names, never numbers.
    """
    peak, models = document["peak"], document["models"]
    headers = ["model", "MACs", "med", "p10", "p90", "min", "img/s", "GFLOP/s", "%pk", "pred",
               "meas"]
    body = [
        [m["model"], human(m["macs"]),
         *(f"{m[key] * 1e3:.2f}" for key in ("median_s", "p10_s", "p90_s", "min_s")),
         f"{m['throughput_samples_per_s']:.0f}", f"{m['achieved_gflops']:.2f}",
         f"{100 * m['share_of_peak']:.0f}",
         "-" if m["predicted_speedup"] is None else f"{m['predicted_speedup']:.2f}",
         f"{m['measured_speedup']:.2f}"] for m in models]
    grid = Grid(headers, [h != "model" for h in headers], body, [], wrap=(0,))
    table = narrow_table(grid, width, f"forward latency, batch {models[0]['batch_size']}, ms "
                                      "per batch (exact numbers: --format json)")
    note = (f"{document['method']}. med/p10/p90/min: latency percentiles. %pk: share of the "
            f"peak, {peak['gflops']:.1f} GFLOP/s (float32 {peak['size']}x{peak['size']} "
            f"matmul, median of {len(peak['seconds'])}; best run {peak['best_gflops']:.1f}). "
            f"pred = MAC ratio, meas = median-latency ratio (speedups), against "
            f"{models[0]['model']}.")
    return print_to_string(table, Text(note), width=width, color=color)
