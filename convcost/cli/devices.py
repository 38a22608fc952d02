"""``convcost devices``: named devices with their datasheet numbers and the source of each,
and this machine as ``convcost probe`` measured it (no TensorFlow import)."""

from __future__ import annotations

from convcost.cli.app import app, domain_errors, stderr
from convcost.cli.options import DevicesFormat, Width
from convcost.cli.output import console_width, emit, use_color
from convcost.errors import ConvcostError


@app.command("devices")
@domain_errors
def devices_command(fmt: DevicesFormat = "table", width: Width = None) -> None:
    """List the devices --device takes: dense peak per dtype, memory bandwidth and size, and
    the datasheet behind each number; 'this_machine' once 'convcost probe' has run."""
    from convcost import render
    from convcost.analysis.inference import this_machine
    from convcost.models.devices import PRESETS
    from convcost.render import devices as view

    specs = list(PRESETS.values())
    try:
        specs.append(this_machine())
    except ConvcostError:  # not probed yet: the presets alone
        stderr.print("note: this_machine is listed once 'convcost probe' has measured it",
                     markup=False)
    options = render.RenderOptions(width=console_width(None, width), color=use_color())
    emit(view.render(specs, fmt, options), None)
