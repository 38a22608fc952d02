"""``convcost compare``: models side by side, and the part that differs against 1/N + 1/D_K²."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    BatchSize,
    Classes,
    CompareFormat,
    Imports,
    InputShape,
    NoTop,
    Output,
    PredictRuntime,
    ProfileFile,
    Threads,
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
    predict: Annotated[bool, typer.Option(
        "--predict", help="Also the predicted latency and speed-up of each model on this "
                          "machine (from 'convcost calibrate'; see 'convcost predict').")] = False,
    runtime: PredictRuntime = "litert",
    threads: Threads = 1,
    batch_size: BatchSize = 1,
    profile: ProfileFile = None,
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
    text = show.render(compare(reports), fmt, options)
    if predict:
        text = _with_prediction(text, fmt, reports, (runtime, threads, batch_size), profile)
    emit(text, output)


def _with_prediction(text: str, fmt: str, reports: list[Any], setting: tuple[str, int, int],
                     profile: Path | None) -> str:
    """The comparison with each model's predicted latency: a "predicted" object in JSON, a
    table of predicted ms and speed-up next to the MAC ratio otherwise."""
    import json

    from convcost.measure.predicting import load_profile, predict_document
    from convcost.render.predict import render as render_predict

    data = predict_document([], reports, load_profile(*setting, profile),
                            profile_label=str(profile or "saved"))
    if fmt == "json":
        return json.dumps({**json.loads(text), "predicted": data}, indent=2) + "\n"
    return text + "\n" + render_predict(data, "markdown" if fmt == "markdown" else "table",
                                         {"rows": False})
