"""``convcost compare``: models side by side, and the part that differs against 1/N + 1/D_K²."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Classes,
    CompareFormat,
    Imports,
    InputShape,
    NoTop,
    Output,
    Unsafe,
    Width,
    model_request,
)
from convcost.cli.output import check_output_dir, console_width, emit, use_color
from convcost.errors import ConvcostError


@app.command("compare")
@domain_errors
def compare_command(
    models: Annotated[list[str], typer.Argument(
        help="Two or more zoo names or model files; the first is the baseline.",
        show_default=False, metavar="MODEL...")],
    input_shape: InputShape = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: CompareFormat = "table",
    output: Output = None,
    width: Width = None,
    unsafe: Unsafe = False,
    imports: Imports = None,
) -> None:
    """Compare models side by side, and the part that differs against 1/N + 1/D_K²."""
    from convcost.analysis.compare import compare
    from convcost.render import compare as show
    from convcost.render.options import RenderOptions

    if len(models) < 2:
        raise ConvcostError(f"compare needs at least two models. Received: {models}.")
    check_output_dir(output)
    asked = [model_request(m, input_shape, classes=classes, no_top=no_top, unsafe=unsafe,
                           imports=imports) for m in models]
    load_keras()
    from convcost.models import loader

    reports = [loader.count(loader.resolve(one)) for one in asked]
    options = RenderOptions(width=console_width(output, width), color=use_color(output))
    emit(show.render(compare(reports), fmt, options), output)
