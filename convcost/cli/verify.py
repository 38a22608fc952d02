"""``convcost verify``: convcost's counts next to TensorFlow's profiler, layer by layer.

Exit status 0 when every conv/dense layer agrees exactly (profiler FLOPs = 2 x MACs), 1 with a
one-line summary on stderr otherwise. TensorFlow is imported only when the command runs.
``--training`` checks the training MACs (forward, input and weight gradients) against the
products of TensorFlow's gradient graph instead.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.options import (
    Imports,
    InputShape,
    ModelArg,
    Unsafe,
    VerifyFormat,
    Width,
    model_request,
)
from convcost.cli.output import console_width, emit, use_color
from convcost.render.options import RenderOptions


@app.command("verify")
@domain_errors
def verify_command(model: ModelArg, input_shape: InputShape = None, fmt: VerifyFormat = "table",
                   width: Width = None, unsafe: Unsafe = False,
                   imports: Imports = None,
                   training: Annotated[bool, typer.Option(
                       "--training", help="Check the training MACs (forward, dx, dW) against "
                                          "the products of TensorFlow's gradient graph.")
                   ] = False) -> None:
    """Cross-check convcost with TensorFlow's graph profiler on the same model and input."""
    from convcost.render import verify as show

    columns = console_width(None, width)
    asked = model_request(model, input_shape, unsafe=unsafe, imports=imports)
    load_keras()
    from convcost.analysis.verify import verify
    from convcost.measure.fits import resolve_fitting

    if training:
        _verify_training(resolve_fitting(asked, purpose="verify --training",
                                         training=True).model, fmt, columns)
        return
    resolved = resolve_fitting(asked, purpose="verify")
    result = verify(resolved.model, input_shape=asked.file_shape)
    emit(show.render(result, fmt, RenderOptions(width=columns, color=use_color())), None)
    if not result.agree:
        stderr.print(f"[bold red]disagree:[/] {escape(result.summary())}", markup=True)
        raise typer.Exit(1)


def _verify_training(keras_model: Any, fmt: str, columns: int | None) -> None:
    from convcost.analysis.training import training_cost
    from convcost.analysis.verify_training import check_training, gradient_count
    from convcost.count.walker import analyze
    from convcost.render import verify_training as show

    check = check_training(keras_model.name, training_cost(analyze(keras_model)),
                           gradient_count(keras_model))
    emit(show.render(check, fmt, RenderOptions(width=columns, color=use_color())), None)
    if not check.agree:
        stderr.print("[bold red]disagree:[/] convcost's training MACs differ from the executed "
                      "gradient ops (or ops were hidden in loops).", markup=True)
        raise typer.Exit(1)
