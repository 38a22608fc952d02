"""``convcost devices``: the named devices, their datasheet numbers and sources."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from convcost.models.devices import DeviceSpec
from convcost.render.tables import Grid, check_choice, fitted_table, print_to_string

FORMATS = ("table", "json")


def render(data: Sequence[DeviceSpec], fmt: str, opts: Any = None) -> str:
    """The devices as a table (numbers, then each number's source) or JSON (every number
    with its source). ``opts`` may carry ``width`` and ``color``."""
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps([spec.to_dict() for spec in data], indent=2) + "\n"
    width = getattr(opts, "width", None)
    color = bool(getattr(opts, "color", False))
    body = [[s.id, s.name, _peaks(s), f"{s.bandwidth / 1e9:,.1f}", f"{s.memory / 1e9:,.1f}"]
            for s in data]
    grid = Grid(["id", "name", "dense peak, TFLOP/s", "GB/s", "memory GB"],
                [False, False, False, True, True], body, [], wrap=(1, 2))
    table = fitted_table([grid], width, title="convcost devices", title_justify="left")
    sources = [f"{s.id}: " + "; ".join(f"{k}: {v}" for k, v in _sources(s).items())
               + (f" ({s.note})" if s.note else "") for s in data]
    return print_to_string(table, width=width, color=color) + "\nsources:\n" + "\n".join(
        f"  {line}" for line in sources) + "\n"


def _peaks(spec: DeviceSpec) -> str:
    return ", ".join(f"{dtype} {value / 1e12:g}" for dtype, value in spec.peak.items())


def _sources(spec: DeviceSpec) -> dict[str, str]:
    """One line per distinct source (the three fields often share one document)."""
    merged: dict[str, list[str]] = {}
    for field, source in spec.sources.items():
        merged.setdefault(source, []).append(field)
    return {", ".join(fields): source for source, fields in merged.items()}
