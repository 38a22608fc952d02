"""The zoo listing as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.table import Table

from convcost.models.zoo import ZooEntry
from convcost.render.tables import print_to_string


def zoo_json(entries: Iterable[ZooEntry]) -> str:
    """One object per model: name, source, summary, input_shape, classes, takes_alpha."""
    return json.dumps([{"name": e.name, "source": e.source, "summary": e.summary,
                        "input_shape": list(e.input_shape), "classes": e.classes,
                        "takes_alpha": e.takes_alpha} for e in entries], indent=2) + "\n"


def zoo_table(entries: Iterable[ZooEntry], width: int, color: bool = False) -> str:
    """Name, source, input shape, classes, and whether it takes a width multiplier."""
    table = Table(title="convcost zoo", title_justify="left")
    for column in ("name", "source", "input shape", "classes", "alpha"):
        table.add_column(column)
    for spec in entries:
        shape = "x".join(str(d) for d in spec.input_shape)
        if spec.seq_len:  # a text model: its default sequence length
            shape = f"{spec.seq_len} tokens"
        table.add_row(spec.name, spec.source, shape, str(spec.classes) if spec.classes else "",
                      "yes" if spec.takes_alpha else "")
    return print_to_string(table, width=width, color=color)
