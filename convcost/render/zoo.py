"""The zoo listing as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable

from convcost.models.zoo import ZooEntry
from convcost.render.tables import Cell, Grid, fitted_table, print_to_string


def zoo_json(entries: Iterable[ZooEntry]) -> str:
    """One object per model: name, source, summary, input_shape, classes, takes_alpha."""
    return json.dumps([{"name": e.name, "source": e.source, "summary": e.summary,
                        "input_shape": list(e.input_shape), "classes": e.classes,
                        "takes_alpha": e.takes_alpha} for e in entries], indent=2) + "\n"


def zoo_table(entries: Iterable[ZooEntry], width: int | None, color: bool = False) -> str:
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
