"""``convcost profile``: time every layer alone and set it against its MACs and roofline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.device import device_or_probe
from convcost.cli.options import (
    Alpha,
    BandwidthGbs,
    Classes,
    DeviceProfileFile,
    Imports,
    InputShape,
    ModelArg,
    Output,
    PeakGflops,
    ProfileFormat,
    Repeats,
    Unsafe,
    Warmup,
    Width,
    model_request,
)
from convcost.cli.output import console_width, emit
from convcost.render.options import RenderOptions

if TYPE_CHECKING:
    from convcost.count.report import Report


@app.command("profile")
@domain_errors
def profile_command(
    model: ModelArg,
    input_shape: InputShape = None,
    classes: Classes = None,
    alpha: Alpha = None,
    unsafe: Unsafe = False,
    imports: Imports = None,
    batch_size: Annotated[int, typer.Option(help="Samples per timed call.", metavar="N")] = 32,
    repeats: Repeats = 10,
    warmup: Warmup = 2,
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    device_profile: DeviceProfileFile = None,
    fmt: ProfileFormat = "table",
    output: Output = None,
    width: Width = None,
    plot: Annotated[Path | None, typer.Option(
        help="Write the roofline and share PNGs into DIR.", show_default=False,
        metavar="DIR")] = None,
) -> None:
    """Time every layer alone on its real input shape; compare with MACs and the roofline.

    Default batch 32: large enough that the fixed cost of each call (~0.1 ms) is small next to
    a layer's work and weights are amortised as in inference serving, small enough for 224x224
    models on a laptop CPU. Views (reshape, flatten, dropout) are not timed.
    """
    from convcost.render import profile as show

    columns = console_width(output, width)
    asked = model_request(model, input_shape, classes=classes, alpha=alpha, unsafe=unsafe,
                          imports=imports)
    keras_model, report = _obtain(asked, batch_size)  # refused here if it cannot fit
    device = device_or_probe(peak_gflops, bandwidth_gbs, device_profile)
    from convcost.measure.profiling import profile

    latency = profile(keras_model, device, report=report, batch=batch_size, repeats=repeats,
                      warmup=warmup)
    emit(show.render(latency, fmt, RenderOptions(width=columns)), output, make_parents=True)
    if output is not None:
        stderr.print(f"wrote {output}")
    if plot is not None:
        from convcost.render.plots import write_profile_plots

        for path in write_profile_plots(latency, plot):
            stderr.print(f"wrote {path}")


def _obtain(asked: Any, batch: int) -> tuple[Any, Report]:
    """The model, built only once a batch of ``batch`` is known to fit, and its report."""
    from convcost.analysis.memory import check_batch

    check_batch(batch)
    load_keras()
    from convcost.measure.fits import resolve_fitting
    from convcost.models import loader

    resolved = resolve_fitting(asked, purpose="profile", batch=batch)
    return resolved.model, loader.count(resolved)
