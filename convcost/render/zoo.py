"""The zoo listing (``convcost zoo``) as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from convcost.render.options import RenderOptions
from convcost.render.tables import Cell, Grid, check_choice, fitted_table, print_to_string

if TYPE_CHECKING:
    from convcost.models.zoo import ZooEntry

FORMATS = ("table", "json")


def render(data: Iterable[ZooEntry], fmt: str, opts: RenderOptions | None = None) -> str:
    """The zoo entries ``data`` as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps([entry_dict(e) for e in data], indent=2) + "\n"
    return _table(data, options.width, options.color)


def entry_dict(entry: ZooEntry) -> dict[str, Any]:
    """One model: name, source, summary, input_shape, classes, takes_alpha."""
    return {"name": entry.name, "source": entry.source, "summary": entry.summary,
            "input_shape": list(entry.input_shape), "classes": entry.classes,
            "takes_alpha": entry.takes_alpha}


def _table(entries: Iterable[ZooEntry], width: int | None, color: bool) -> str:
    """Name, source, input shape, classes, and whether it takes a width multiplier.

    ``width=None`` is the natural width; a narrower one wraps the source, then the name.
    """
    body: list[list[Cell]] = [
        [spec.name, spec.source, _input(spec), str(spec.classes) if spec.classes else "",
         "yes" if spec.takes_alpha else ""] for spec in entries]
    grid = Grid(["name", "source", "input shape", "classes", "alpha"], [False] * 5, body, [],
                wrap=(1, 0))
    table = fitted_table([grid], width, title="convcost zoo", title_justify="left")
    return print_to_string(table, width=width, color=color)


def _input(spec: ZooEntry) -> str:
    """``224x224x3`` for an image model, ``1024 tokens`` (its context length) for a text one."""
    if spec.seq_len:
        return f"{spec.seq_len} tokens"
    return "x".join(str(d) for d in spec.input_shape)
