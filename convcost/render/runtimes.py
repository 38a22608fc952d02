"""Render ``convcost bench --runtime ...``: one speed-up table per runtime, or its JSON.

JSON document (``--format json``)::

    {"machine": {...}, "versions": {package: version}, "load": {"before", "after"},
     "method": str, "peak": {...} | null,
     "runs": [{"runtime", "precision", "threads", "batch_size", "baseline",
               "models": [{"model", "params", "macs", "forward_flops", "batch_size",
                           "median_s", "p10_s", "p90_s", "min_s", "seconds",
                           "throughput_samples_per_s", "achieved_gflops", "share_of_peak",
                           "predicted_speedup", "measured_speedup", "accuracy",
                           "tflite_bytes", "note"}]}]}

``predicted_speedup`` is the baseline's MACs over the model's (the MobileNet prediction),
``measured_speedup`` the baseline's median latency over the model's, both within one run (same
runtime, threads and batch); the baseline is the first model. ``achieved_gflops`` counts the
forward FLOPs (2 x MACs + other FLOPs) per second at the median; for int8 they are integer
operations. ``accuracy`` is the test accuracy on that runtime (``null`` for an untrained model).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from convcost.render.bench import peak_dict, speed_dict
from convcost.render.options import RenderOptions
from convcost.render.tables import Grid, check_choice, narrow_table, print_to_string
from convcost.render.units import human

if TYPE_CHECKING:
    from convcost.measure.bench import RuntimeRow
    from convcost.measure.probe import Peak

FORMATS = ("table", "json")
RUNTIME_LABELS = {"tf": "tf (tf.function, no XLA)", "litert": "litert (XNNPACK, fp32)",
                  "litert-int8": "litert-int8 (XNNPACK, int8)", "jax": "jax (jax.jit, XLA)",
                  "torch": "torch (Keras on torch, eager)"}


def render(data: dict[str, Any], fmt: str, opts: RenderOptions | None = None) -> str:
    """The runtime document ``data`` (:func:`runtime_document`) as ``fmt`` (one of
    :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return _tables(data, width=options.width, color=options.color)


def group_runs(rows: Sequence[RuntimeRow]) -> list[list[RuntimeRow]]:
    """Rows split into runs: same runtime, precision, threads and batch, in order."""
    runs: dict[tuple[str, str, str, int], list[RuntimeRow]] = {}
    for row in rows:
        runs.setdefault((row.runtime, row.precision, row.threads, row.batch_size), []).append(row)
    return list(runs.values())


def runtime_document(rows: Sequence[RuntimeRow], peak: Peak | None, machine: dict[str, Any],
                     versions: dict[str, Any], load: dict[str, str]) -> dict[str, Any]:
    """The JSON document of ``convcost bench --runtime`` (see the module docstring)."""
    runs = []
    for run in group_runs(rows):
        first = run[0]
        runs.append({"runtime": first.runtime, "precision": first.precision,
                     "threads": first.threads, "batch_size": first.batch_size,
                     "baseline": first.model,
                     "models": [speed_dict(row, first, peak) for row in run]})
    method = ("one random float32 batch (int8: quantized with the input's scale and zero "
              "point); warm-up calls, then repeats spread over shuffled rounds with every "
              "model and runtime interleaved; each call waits for its result")
    return {"machine": machine, "versions": versions, "load": load, "method": method,
            "peak": peak_dict(peak) if peak else None, "runs": runs}


def _tables(document: dict[str, Any], *, width: int | None, color: bool = False) -> str:
    """One table per run (runtime, threads, batch), the accuracies side by side, then what
    the columns mean. ``width=None`` is the natural width; a narrower one wraps model names,
    never numbers."""
    parts: list[RenderableType] = [_table(run, width) for run in document["runs"]]
    accuracy = accuracy_table(document, width)
    if accuracy is not None:
        parts.append(accuracy)
    parts.append(Text(_note(document)))
    return print_to_string(*parts, width=width, color=color)


def accuracy_table(document: dict[str, Any], width: int | None = None) -> Table | None:
    """Test accuracy per model (rows) and runtime (columns), side by side; None without any."""
    columns: dict[str, dict[str, float]] = {}
    for run in document["runs"]:
        for m in run["models"]:
            if m["accuracy"] is not None:
                columns.setdefault(run["runtime"], {})[m["model"]] = m["accuracy"]
    if not columns:
        return None
    models = list(dict.fromkeys(m for values in columns.values() for m in values))
    body = [[model, *(f"{values[model]:.4f}" if model in values else "-"
                      for values in columns.values())] for model in models]
    grid = Grid(["model", *columns], [False, *[True] * len(columns)], body, [], wrap=(0,))
    return narrow_table(grid, width, "test accuracy by runtime")


def _table(run: dict[str, Any], width: int | None) -> Table:
    rate = "GOP/s" if run["precision"] == "int8" else "GFLOP/s"
    title = (f"{RUNTIME_LABELS.get(run['runtime'], run['runtime'])} · threads {run['threads']}"
             f" · batch {run['batch_size']} · ms per batch")
    headers = ["model", "MACs", "med", "p10", "p90", rate, "%pk", "pred", "meas", "acc", "size"]
    body = []
    for m in run["models"]:
        share = m["share_of_peak"]
        body.append([m["model"], human(m["macs"]),
                     *(_ms(m[key]) for key in ("median_s", "p10_s", "p90_s")),
                     f"{m['achieved_gflops']:.1f}",
                     "-" if share is None else f"{100 * share:.0f}",
                     "-" if m["predicted_speedup"] is None else f"{m['predicted_speedup']:.2f}",
                     f"{m['measured_speedup']:.2f}",
                     "-" if m["accuracy"] is None else f"{m['accuracy']:.4f}",
                     "-" if m["tflite_bytes"] is None else human(m["tflite_bytes"], "B")])
    grid = Grid(headers, [h != "model" for h in headers], body, [], wrap=(0,))
    return narrow_table(grid, width, title)


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1e3
    return f"{milliseconds:.3f}" if milliseconds < 10 else f"{milliseconds:.2f}"


def _note(document: dict[str, Any]) -> str:
    peak = document["peak"]
    peak_text = (f"%pk: share of {peak['gflops']:.1f} GFLOP/s, the median float32 "
                 f"{peak['size']}x{peak['size']} matmul of the Keras backend. "
                 if peak else "")
    notes = sorted({m["note"] for run in document["runs"] for m in run["models"] if m["note"]})
    return (f"med/p10/p90: latency percentiles. {peak_text}pred = MAC ratio, meas = "
            "median-latency ratio (speed-ups), against the first model of each table. acc: "
            "test accuracy on that runtime (trained models only). size: the .tflite file. "
            f"Load average {document['load'].get('before', '?')} before, "
            f"{document['load'].get('after', '?')} after."
            + "".join(f" {note}." for note in notes))
