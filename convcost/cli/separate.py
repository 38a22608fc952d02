"""``convcost separate``: standard k×k convs -> depthwise + 1×1 convs (MobileNet v1)."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli.app import app, domain_errors
from convcost.cli.options import Alpha, Classes, Imports, InputShape, ModelArg, Unsafe
from convcost.cli.rewriting import LayersOpt, OutputOpt, rewrite


@app.command("separate")
@domain_errors
def separate_command(model: ModelArg, output: OutputOpt, layers: LayersOpt = None,
                     include_first: Annotated[bool, typer.Option(
                         "--include-first", help="Also replace the first k×k conv.")] = False,
                     alpha: Alpha = None, input_shape: InputShape = None,
                     classes: Classes = None, unsafe: Unsafe = False,
                     imports: Imports = None) -> None:
    """Replace standard k×k convs by depthwise + 1×1 convs (MobileNet v1) and save the model."""
    rewrite("separate", {"include_first": include_first, "layers": layers},
            model, output, alpha, input_shape, classes, unsafe, imports)
