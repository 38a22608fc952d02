"""Render ``convcost predict``: each model's predicted latency, per row and in total.

Data in (what :func:`convcost.measure.predicting.predict_document` returns)::

    {"runtime", "threads", "batch_size", "profile", "models": [ModelPrediction.to_json() +
     {"predicted_speedup", "mac_ratio", "measured_speedup"}]}

``table`` and ``markdown`` show one summary line per model (and the rows of each model with
``opts["rows"]``, the default for one model); ``csv`` gives one line per row of every model;
``json`` is the data as is. A row flagged out of the calibrated range is marked ``!`` and its
reasons are listed under the table: its time is a guess, not an interpolation.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich import box
from rich.table import Table

from convcost.render.tables import check_choice, print_to_string

FORMATS = ("table", "json", "csv", "markdown")
_SUMMARY = ("model", "MACs", "predicted ms", "speed-up", "MAC ratio", "measured ms", "error",
            "flagged rows")


def render(data: dict[str, Any], fmt: str, opts: dict[str, Any] | None = None) -> str:
    """``data`` (see the module docstring) as ``fmt``, one of :data:`FORMATS`."""
    check_choice("format", fmt, FORMATS)
    opts = opts or {}
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return _csv(data)
    show_rows = opts.get("rows", len(data["models"]) == 1)
    if fmt == "markdown":
        return _markdown(data, show_rows)
    return _table(data, show_rows, opts.get("width"))


def _summary_cells(model: dict[str, Any]) -> list[str]:
    measured = model.get("measured_ms")
    error = model.get("error")
    return [model["model"], f"{model['macs'] / 1e6:,.1f}M", f"{model['predicted_ms']:.3f}",
            f"{model['predicted_speedup']:.2f}x", f"{model['mac_ratio']:.2f}x",
            "-" if measured is None else f"{measured:.3f}",
            "-" if error is None else f"{error:+.1%}", str(model["flagged_rows"])]


def _row_cells(row: dict[str, Any]) -> list[str]:
    where = f"in {row['fused_into']}" if row["fused_into"] else row["kernel"]
    mark = " !" if row["flags"] else ""
    return [row["path"], row["type"], where, f"{row['predicted_ms']:.4f}{mark}",
            f"{row['macs']:,}"]


def _header(data: dict[str, Any]) -> str:
    return (f"Predicted latency, runtime {data['runtime']}, {data['threads']} thread(s), batch "
            f"{data['batch_size']} (profile {data['profile']})")


def _flag_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for model in data["models"]:
        for row in model["rows"]:
            if row["flags"]:
                lines.append(f"! {model['model']}/{row['path']}: {'; '.join(row['flags'])}")
    return lines


def _note_lines(data: dict[str, Any]) -> list[str]:
    return [f"{model['model']}: {note}" for model in data["models"]
            for note in model.get("notes", ())]


def _table(data: dict[str, Any], show_rows: bool, width: int | None) -> str:
    parts = [_header(data) + "\n"]
    if show_rows:
        for model in data["models"]:
            table = Table(title=model["model"], box=box.SIMPLE_HEAD)
            for name in ("layer", "type", "kernel", "predicted ms", "MACs"):
                table.add_column(name, justify="right" if "ms" in name or name == "MACs"
                                 else "left")
            for row in model["rows"]:
                table.add_row(*_row_cells(row))
            parts.append(print_to_string(table, width=width))
    summary = Table(box=box.SIMPLE_HEAD)
    for name in _SUMMARY:
        summary.add_column(name, justify="left" if name == "model" else "right")
    for model in data["models"]:
        summary.add_row(*_summary_cells(model))
    parts.append(print_to_string(summary, width=width))
    parts += [line + "\n" for line in _note_lines(data)]
    flags = _flag_lines(data)
    if flags:
        parts.append("Outside the calibrated range (times are guesses):\n"
                     + "\n".join(flags[:20]) + ("\n..." if len(flags) > 20 else "") + "\n")
    return "".join(parts)


def _markdown(data: dict[str, Any], show_rows: bool) -> str:
    lines = [f"**{_header(data)}**", "", "| " + " | ".join(_SUMMARY) + " |",
             "|" + "---|" * len(_SUMMARY)]
    lines += ["| " + " | ".join(_summary_cells(m)) + " |" for m in data["models"]]
    if show_rows:
        for model in data["models"]:
            lines += ["", f"**{model['model']}**", "",
                      "| layer | type | kernel | predicted ms | MACs |", "|---|---|---|---|---|"]
            lines += ["| " + " | ".join(_row_cells(r)) + " |" for r in model["rows"]]
    notes = _note_lines(data)
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    flags = _flag_lines(data)
    if flags:
        lines += ["", "Outside the calibrated range (times are guesses):", ""]
        lines += [f"- {line[2:]}" for line in flags]
    return "\n".join(lines) + "\n"


def _csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "path", "type", "kernel", "fused_into", "predicted_ms", "macs",
                     "flags"])
    for model in data["models"]:
        for row in model["rows"]:
            writer.writerow([model["model"], row["path"], row["type"], row["kernel"],
                             row["fused_into"] or "", f"{row['predicted_ms']:.6f}", row["macs"],
                             "; ".join(row["flags"])])
        writer.writerow([model["model"], "(total)", "", "", "", f"{model['predicted_ms']:.6f}",
                         model["macs"], ""])
    return out.getvalue()
