"""Render ``convcost verify``: a :class:`~convcost.analysis.verify.VerifyReport` as a table,
or JSON (``verify --training``: :mod:`convcost.render.verify_training`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from convcost.analysis.verify import CONVENTIONS
from convcost.render.options import RenderOptions
from convcost.render.tables import Cell, Grid, check_choice, fitted_table, print_to_string

if TYPE_CHECKING:
    from convcost.analysis.verify import LayerCheck, VerifyReport

FORMATS = ("table", "json")


def render(data: VerifyReport, fmt: str, opts: RenderOptions | None = None) -> str:
    """The cross-check ``data`` as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(verify_dict(data), indent=2) + "\n"
    return _table(data, options.width, options.color)


def verify_dict(result: VerifyReport) -> dict[str, Any]:
    """The comparison as plain data: exact integers, statuses and explanations."""
    report = result.report
    return {
        "model": result.model,
        "input_shape": list(result.input_shape),
        "agree": result.agree,
        "summary": result.summary(),
        "convcost": {"params": report.params, "macs": report.macs, "flops": report.flops},
        "profiler_total_flops": result.profiler_total_flops,
        "seconds": round(result.seconds, 3),
        "layers": [_row_dict(row) for row in result.layers],
        "tf_op_types_outside_macs": op_types_by_layer_type(result),
        "notes": list(result.notes),
        "conventions": list(CONVENTIONS),
    }


def _row_dict(row: LayerCheck) -> dict[str, Any]:
    return {
        "path": row.path, "type": row.type, "calls": row.calls, "checked": row.checked,
        "macs": row.macs, "convcost_mac_flops": 2 * row.macs,
        "profiler_mac_flops": row.profiler_mac_flops, "status": row.status,
        "explanation": row.explanation, "other_flops": row.other_flops,
        "profiler_other": dict(row.profiler_other), "uncounted_ops": list(row.uncounted),
    }


_STYLE = {"agree": "green", "differs": "red", "not seen": "yellow", "no MACs": "dim"}


def _table(result: VerifyReport, width: int | None, color: bool) -> str:
    """The layer table, the summary, totals, differences and conventions, as text.

    ``width=None`` is the natural width; a narrower one wraps types, then layer paths.
    """
    headers = ["layer", "type", "calls", "2 x MACs", "TF MAC FLOPs", "status", "other FLOPs",
               "TF other FLOPs"]
    body: list[list[Cell]] = []
    for row in result.layers:
        style = _STYLE[row.status] if row.checked or row.failing else "dim"
        body.append([row.path, row.type, str(row.calls), f"{2 * row.macs:,}",
                     f"{row.profiler_mac_flops:,}", Text(row.status, style=style),
                     f"{row.other_flops:,}", f"{row.profiler_other_flops:,}"])
    grid = Grid(headers, [h not in ("layer", "type", "status") for h in headers], body, [],
                wrap=(1, 0))
    table = fitted_table([grid], width, title=f"{result.model} {result.input_shape}: convcost "
                         "vs TensorFlow profiler", title_justify="left")
    lines = [result.summary(),
             f"Totals: convcost {result.report.flops:,} FLOPs (2 x {result.report.macs:,} "
             f"MACs + other), TF profiler {result.profiler_total_flops:,} FLOPs; "
             f"{result.seconds:.1f} s."]
    lines += [f"- {line}" for line in _differences(result)]
    lines.append("TF op types outside MACs, by layer type:")
    lines += [f"  {kind}: {', '.join(types)}"
              for kind, types in op_types_by_layer_type(result).items()]
    lines += [f"- {line}" for line in (*CONVENTIONS, *result.notes)]
    return print_to_string(table, *(Text(line) for line in lines), width=width, color=color)


def _differences(result: VerifyReport) -> list[str]:
    return [f"{row.path} ({row.type}) {row.status}: {row.explanation}"
            for row in result.layers if row.explanation]


def op_types_by_layer_type(result: VerifyReport) -> dict[str, list[str]]:
    """The TF op types (with FLOPs, outside the MAC ops) each Keras layer type lowers to."""
    found: dict[str, set[str]] = {}
    for row in result.layers:
        kinds = [kind for kind, _ in row.profiler_other] + list(row.uncounted)
        if kinds:
            found.setdefault(row.type, set()).update(kinds)
    return {kind: sorted(types) for kind, types in sorted(found.items())}
