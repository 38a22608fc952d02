"""``convcost probe``: measure this machine's peak FLOP/s and bandwidth; save the profile.

``--method numpy`` never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.output import emit


@app.command("probe")
@domain_errors
def probe_command(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to save the profile (default "
                               "~/.config/convcost/device.json).",
        show_default=False, metavar="FILE")] = None,
    matmul_size: Annotated[int, typer.Option(help="n of the n x n float32 matmul.",
                                             metavar="N")] = 2048,
    copy_mb: Annotated[int, typer.Option(help="MiB of the copied array.", metavar="N")] = 256,
    repeats: Annotated[int, typer.Option(help="Timed runs of each (the best is kept).",
                                         metavar="N")] = 5,
    method: Annotated[Literal["keras", "numpy"], typer.Option(
        help="Matmul run by the Keras backend (what the layers run on) or by NumPy.")] = "keras",
) -> None:
    """Measure this machine's peak FLOP/s (matmul) and memory bandwidth (copy); save as JSON."""
    from convcost.analysis import devices
    from convcost.measure.probe import probe
    from convcost.render import probe as show

    if method == "keras":
        load_keras()
    device = probe(matmul_size=matmul_size, copy_mb=copy_mb, repeats=repeats, method=method)
    target = devices.save_profile(device, output or devices.default_profile_path())
    emit(show.render(show.Probed(device, method, matmul_size, copy_mb, repeats, str(target)),
                     "text"), None)
