"""Render ``convcost verify --training``: the training cross-check
(:class:`convcost.analysis.verify_training.TrainingCheck`) as a table, or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from convcost.render.options import RenderOptions
from convcost.render.tables import Cell, Grid, check_choice, fitted_table, print_to_string

if TYPE_CHECKING:
    from convcost.analysis.verify_training import TrainingCheck

FORMATS = ("table", "json")


def render(data: TrainingCheck, fmt: str, opts: RenderOptions | None = None) -> str:
    """The training cross-check ``data`` as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(training_check_dict(data), indent=2) + "\n"
    return _table(data, options.width, options.color)


def training_check_dict(check: TrainingCheck) -> dict[str, Any]:
    """The cross-check as plain data: the verdict, then each role's counts and op types."""
    roles = {role: {"convcost": r.convcost, "ops": r.ops, "profiler": r.profiler,
                    "op_types": list(r.op_types)} for role, r in check.roles.items()}
    return {"model": check.model, "agree": check.agree, "roles": roles,
            "profiler_uncounted_ops": list(check.profiler_uncounted_ops),
            "hidden_ops": list(check.hidden_ops)}


def _table(check: TrainingCheck, width: int | None, color: bool) -> str:
    """The training cross-check as a table, with what the profiler cannot count.

    ``width=None`` is the natural width; a narrower one wraps the op types, never numbers.
    """
    headers = ["role", "convcost", "executed ops", "TF profiler", "op types"]
    body: list[list[Cell]] = [[role, f"{r.convcost:,}", f"{r.ops:,}", f"{r.profiler:,.0f}",
                               ", ".join(r.op_types)] for role, r in check.roles.items()]
    grid = Grid(headers, [h not in ("role", "op types") for h in headers], body, [], wrap=(4,))
    table = fitted_table([grid], width, title=f"{check.model}: training MACs per sample "
                         "(batch 2 / 2)", title_justify="left")
    notes = ["executed ops: the products TensorFlow's pruned gradient graph runs, counted from "
             "their shapes. TF profiler: its FLOPs statistic / 2."]
    if check.profiler_uncounted_ops:
        notes.append("The profiler has no statistic for: "
                     + ", ".join(check.profiler_uncounted_ops) + " (counted 0).")
    if check.hidden_ops:
        notes.append("Not entered (loops, compiled calls): " + ", ".join(check.hidden_ops))
    return print_to_string(table, *(Text(line) for line in notes), width=width, color=color)
