"""``convcost predict``: predicted latency of models from the calibrated kernel predictors
(``convcost calibrate``), per row and in total; ``--check`` also measures them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from convcost.cli.analyze import analyze_source
from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Alpha,
    Batch,
    Classes,
    Imports,
    InputShape,
    ModelsArg,
    NoTop,
    Output,
    PredictRuntime,
    ProfileFile,
    Threads,
    Unsafe,
    Width,
    check_count,
    make_source,
)
from convcost.cli.output import check_output_dir, console_width, emit

ARTICLE_NETS = ["naive", "v1", "v2"]



@app.command("predict")
@domain_errors
def predict_command(
    models: ModelsArg = None,
    runtime: PredictRuntime = "litert",
    threads: Threads = 1,
    batch_size: Batch = 1,
    profile: ProfileFile = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Also measure each model with the 'bench --runtime' harness and show "
                        "the error.")] = False,
    rows: Annotated[bool | None, typer.Option(
        "--rows/--no-rows", help="Show every row (default: only for one model).",
        show_default=False)] = None,
    fmt: Annotated[Literal["table", "json", "csv", "markdown"], typer.Option(
        "--format", "-f", help="Output format.")] = "table",
    input_shape: InputShape = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    unsafe: Unsafe = False,
    imports: Imports = None,
    output: Output = None,
    width: Width = None,
) -> None:
    """Predicted latency of zoo nets or model files on this machine, per layer and in total,
    from the kernel predictors 'convcost calibrate' fitted; the first model is the baseline."""
    from convcost.measure.predicting import load_profile, predict_document

    check_count("--threads", threads)
    check_count("--batch-size", batch_size)
    check_output_dir(output)
    sources = [make_source(name, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                           unsafe=unsafe, imports=imports) for name in models or ARTICLE_NETS]
    latency_profile = load_profile(runtime, threads, batch_size, profile)
    if check and runtime == "tf":  # before TensorFlow runs anything
        load_keras()
        from convcost.measure.runtimes import set_tf_threads

        set_tf_threads(threads)
    built = [_model_and_report(source, real=check) for source in sources]
    data = predict_document([m for m, _ in built], [r for _, r in built], latency_profile,
                            check=check, profile_label=str(profile or "saved"))
    from convcost.render.predict import render

    emit(render(data, fmt, {"rows": rows, "width": console_width(output, width)}), output)


def _model_and_report(source: Any, *, real: bool) -> tuple[Any, Any]:
    """The model and its report; ``real``: with weights, to be run (``--check``)."""
    if not real:
        return analyze_source(source)
    load_keras()
    from convcost.count.walker import analyze
    from convcost.models.loader import obtain

    model = obtain(source.spec)
    return model, analyze(model, input_shape=source.shapes)
