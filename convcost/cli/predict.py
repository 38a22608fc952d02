"""``convcost predict``: predicted latency of models from the calibrated kernel predictors
(``convcost calibrate``), per row and in total; ``--check`` also measures them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Alpha,
    BatchSize,
    Classes,
    Imports,
    InputShape,
    ModelsArg,
    NoTop,
    Output,
    PredictFormat,
    PredictRuntime,
    ProfileFile,
    Threads,
    Unsafe,
    Width,
    check_count,
    model_request,
)
from convcost.cli.output import check_output_dir, console_width, emit
from convcost.models.zoo import ARTICLE_NETS


@app.command("predict")
@domain_errors
def predict_command(
    models: ModelsArg = None,
    runtime: PredictRuntime = "litert",
    threads: Threads = 1,
    batch_size: BatchSize = 1,
    profile: ProfileFile = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Also measure each model with the 'bench --runtime' harness and show "
                        "the error.")] = False,
    rows: Annotated[bool | None, typer.Option(
        "--rows/--no-rows", help="Show every row (default: only for one model).",
        show_default=False)] = None,
    fmt: PredictFormat = "table",
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
    from convcost.render.predict import render

    check_count("--threads", threads)
    check_count("--batch-size", batch_size)
    check_output_dir(output)
    asked = [model_request(name, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                           unsafe=unsafe, imports=imports) for name in models or ARTICLE_NETS]
    latency_profile = load_profile(runtime, threads, batch_size, profile)
    _prepare(runtime, threads, check)
    built = [_model_and_report(one, run=check, batch=batch_size) for one in asked]
    data = predict_document([m for m, _ in built], [r for _, r in built], latency_profile,
                            check=check, profile_label=str(profile or "saved"))
    emit(render(data, fmt, {"rows": rows, "width": console_width(output, width)}), output)


def _prepare(runtime: str, threads: int, check: bool) -> None:
    """Import Keras; TensorFlow's threads are set before it runs anything (``--check``)."""
    load_keras()
    if check:
        from convcost.measure.runtimes import TF_THREADED, set_tf_threads

        if runtime in TF_THREADED:
            set_tf_threads(threads)


def _model_and_report(asked: Any, *, run: bool, batch: int) -> tuple[Any, Any]:
    """The model and its report; ``run``: with weights, to be timed (``--check``), once the
    run is known to fit in memory."""
    from convcost.measure.fits import resolve_fitting
    from convcost.models import loader

    if run:
        resolved = resolve_fitting(asked, purpose="predict --check", batch=batch)
    else:
        resolved = loader.resolve(asked)
    return resolved.model, loader.count(resolved)
