"""``convcost zoo``: the models convcost builds by name (no TensorFlow import)."""

from __future__ import annotations

from convcost.cli.app import app, domain_errors
from convcost.cli.options import ListFormat, Width
from convcost.cli.output import console_width, emit, use_color


@app.command("zoo")
@domain_errors
def zoo_command(fmt: ListFormat = "table", width: Width = None) -> None:
    """List the models convcost can build by name, with their options."""
    from convcost.models.zoo import ZOO
    from convcost.render.zoo import zoo_json, zoo_table

    text = zoo_json(ZOO.values()) if fmt == "json" else zoo_table(
        ZOO.values(), console_width(None, width), use_color())
    emit(text, None)
