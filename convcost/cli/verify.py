"""``convcost verify``: convcost's counts next to TensorFlow's profiler, layer by layer.

Exit status 0 when every conv/dense layer agrees exactly (profiler FLOPs = 2 x MACs), 1 with a
one-line summary on stderr otherwise. TensorFlow is imported only when the command runs.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.options import (
    Imports,
    InputShape,
    ListFormat,
    ModelArg,
    Unsafe,
    Width,
    make_source,
)
from convcost.cli.output import console_width, emit, use_color


@app.command("verify")
@domain_errors
def verify_command(model: ModelArg, input_shape: InputShape = None, fmt: ListFormat = "table",
                   width: Width = None, unsafe: Unsafe = False,
                   imports: Imports = None) -> None:
    """Cross-check convcost with TensorFlow's graph profiler on the same model and input."""
    from convcost.render.verify import verify_json, verify_table

    columns = console_width(None, width)
    source = make_source(model, input_shape, unsafe=unsafe, imports=imports)
    load_keras()
    from convcost.analysis.verify import verify
    from convcost.models.loader import obtain

    result = verify(obtain(source.spec), input_shape=source.analyze_shape)
    emit(verify_json(result) if fmt == "json" else
         verify_table(result, columns, use_color()), None)
    if not result.agree:
        stderr.print(f"[bold red]disagree:[/] {escape(result.summary())}", markup=True)
        raise typer.Exit(1)
