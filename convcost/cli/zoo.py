"""``convcost zoo``: the models convcost builds by name (no TensorFlow import)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from convcost.cli.app import app, domain_errors
from convcost.errors import ConvcostError


@app.command("zoo")
@domain_errors
def zoo_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """List the models convcost can build by name, with their options."""
    from convcost.models.zoo import ZOO

    if fmt == "json":
        entries = [{"name": e.name, "source": e.source, "summary": e.summary,
                    "input_shape": list(e.input_shape), "classes": e.classes,
                    "takes_alpha": e.takes_alpha} for e in ZOO.values()]
        sys.stdout.write(json.dumps(entries, indent=2) + "\n")
        return
    if fmt != "table":
        raise ConvcostError(f"Unknown format for zoo; use table or json. Received: {fmt!r}.")
    _print_table(ZOO.values())


def _print_table(entries) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="convcost zoo", title_justify="left")
    for column in ("name", "source", "input shape", "classes", "alpha"):
        table.add_column(column)
    for spec in entries:
        shape = "x".join(str(d) for d in spec.input_shape)
        table.add_row(spec.name, spec.source, shape, str(spec.classes),
                      "yes" if spec.takes_alpha else "")
    Console().print(table)
