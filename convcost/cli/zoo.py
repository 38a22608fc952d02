"""``convcost zoo``: the models convcost builds by name (no TensorFlow import)."""

from __future__ import annotations

from convcost.cli.app import app, domain_errors
from convcost.cli.options import Width, ZooFormat
from convcost.cli.output import console_width, emit, use_color
from convcost.render.options import RenderOptions


@app.command("zoo")
@domain_errors
def zoo_command(fmt: ZooFormat = "table", width: Width = None) -> None:
    """List the models convcost can build by name, with their options."""
    from convcost.models.zoo import ZOO
    from convcost.render import zoo as show

    options = RenderOptions(width=console_width(None, width), color=use_color())
    emit(show.render(ZOO.values(), fmt, options), None)
