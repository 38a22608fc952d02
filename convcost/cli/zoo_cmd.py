"""``convcost zoo``: the models convcost builds by name."""

from __future__ import annotations

from convcost.cli.app import app


@app.command("zoo")
def zoo_command() -> None:
    """List the models convcost can build by name, with their options."""
    from rich.console import Console
    from rich.table import Table

    from convcost.zoo import ZOO

    table = Table(title="convcost zoo", title_justify="left")
    for column in ("name", "source", "input shape", "classes", "alpha"):
        table.add_column(column)
    for spec in ZOO.values():
        shape = "x".join(str(d) for d in spec.input_shape)
        table.add_row(spec.name, spec.source, shape, str(spec.classes),
                      "yes" if spec.takes_alpha else "")
    Console().print(table)
