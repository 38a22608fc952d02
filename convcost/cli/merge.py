"""``convcost merge``: depthwise + 1×1 conv pairs -> standard k×k convs."""

from __future__ import annotations

from convcost.cli.app import app, domain_errors
from convcost.cli.options import Alpha, Classes, Imports, InputShape, ModelArg, Unsafe
from convcost.cli.rewriting import LayersOpt, OutputOpt, rewrite


@app.command("merge")
@domain_errors
def merge_command(model: ModelArg, output: OutputOpt, layers: LayersOpt = None,
                  alpha: Alpha = None, input_shape: InputShape = None,
                  classes: Classes = None, unsafe: Unsafe = False,
                  imports: Imports = None) -> None:
    """Replace depthwise + 1×1 conv pairs by standard k×k convs and save the model.

    Batch norm, activation and padding layers between a depthwise conv and its 1×1 conv are
    dropped (one standard conv replaces the pair); a ZeroPadding2D before the depthwise stays.
    """
    rewrite("merge", {"layers": layers}, model, output, alpha, input_shape, classes, unsafe,
            imports)
