"""``convcost analyze`` and ``convcost compare``: cost tables of zoo models and model files.

Thin commands: parse and check the options (before TensorFlow is imported), obtain the model
(:mod:`convcost.models.loader`), analyze it (:mod:`convcost.count.walker`), render
(:mod:`convcost.render.analyze`)
and write to stdout or, atomically, to ``--output``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Alpha,
    Classes,
    InputShape,
    ModelArg,
    NoTop,
    Output,
    Source,
    Unsafe,
    check_positive,
    make_source,
)
from convcost.errors import ConvcostError, UnsupportedLayerError
from convcost.files import write_text


def check_output_dir(output: Path | None) -> None:
    """Fail early (before the slow part) when ``output`` cannot be written."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise ConvcostError(f"--output is a directory, not a file. Received: {str(output)!r}.")
    if not parent.is_dir():
        raise ConvcostError(f"--output's directory does not exist. Received: {str(output)!r}.")
    if not os.access(parent, os.W_OK):
        raise ConvcostError(f"--output's directory is not writable. Received: {str(output)!r}.")


# --- models, signatures ----------------------------------------------------------------------


def analyze_source(source: Source) -> tuple[Any, Any]:
    """Obtain the model and analyze it: ``(keras model, Report)``."""
    load_keras()
    from convcost.count.walker import analyze
    from convcost.models.loader import obtain

    model = obtain(source.spec)
    return model, analyze(model, input_shape=source.analyze_shape)


# --- output ----------------------------------------------------------------------------------


def emit(text: str, output: Path | None) -> None:
    """Write the rendered text to ``output`` or to stdout (plain, no rich)."""
    if output is not None:
        write_text(output, text, what="output file")
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def console_width(output: Path | None) -> int:
    """$COLUMNS, else the terminal's width when stdout is one, else 100."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if output is None and sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return 100


def use_color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def strict_findings(report: Any) -> None:
    """Raise :class:`UnsupportedLayerError` (exit 2) on unsupported layers or a failed check."""
    problems = []
    if report.unsupported:
        problems.append("no cost rule for " + ", ".join(
            f"{name} ({count} call{'s' if count > 1 else ''})"
            for name, count in report.unsupported.items()))
    if not report.params_match:
        layers = ", ".join(x.path for x in report.mismatched_layers) or "not found per layer"
        problems.append(f"params check failed: counted {report.params:,} vs count_params() "
                        f"{report.keras_count_params:,} (layers: {layers})")
    if problems:
        raise UnsupportedLayerError(f"--strict: {'; '.join(problems)}. Received: model "
                                    f"{report.model!r}.")


# --- commands --------------------------------------------------------------------------------


@app.command("analyze")
@domain_errors
def analyze_command(
    model: ModelArg,
    input_shape: InputShape = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="table, json, csv or markdown.")] = "table",
    group_by: Annotated[str, typer.Option(
        "--group-by", help="layer, kind (standard/depthwise/pointwise/fully_connected/other) "
                           "or type (Keras class).")] = "layer",
    batch_size: Annotated[int | None, typer.Option(
        help="Also give totals per batch of N samples.", show_default=False)] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Show FLOPs beside MACs.")] = False,
    depth: Annotated[int | None, typer.Option(
        help="Fold rows of nested models deeper than N into one row.", show_default=False)
    ] = None,
    output: Output = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 2 on an unsupported layer or a failed params check.")] = False,
    unsafe: Unsafe = False,
    memory: Annotated[bool, typer.Option(
        "--memory", help="Bytes moved (inputs + outputs + weights), FLOP/byte, output and "
                         "peak activation memory.")] = False,
    roofline: Annotated[bool, typer.Option(
        "--roofline", help="Roofline bound per layer (compute/memory) and predicted time; "
                           "needs a device profile.")] = False,
    dtype: Annotated[str, typer.Option(help="float32, float16 or bfloat16 (bytes per "
                                            "element).")] = "float32",
    peak_gflops: Annotated[float | None, typer.Option(
        help="Device peak GFLOP/s (implies --roofline).", show_default=False)] = None,
    bandwidth_gbs: Annotated[float | None, typer.Option(
        help="Device bandwidth GB/s (implies --roofline).", show_default=False)] = None,
    device_profile: Annotated[Path | None, typer.Option(
        help="Device profile JSON from 'convcost probe' (implies --roofline; default: the "
             "saved one).", show_default=False)] = None,
) -> None:
    """Params, MACs and FLOPs of every layer of MODEL, checked against Keras' own count."""
    from convcost.render import analyze as render

    options = render.RenderOptions(group_by, batch_size, flops, depth,
                                   console_width(output), use_color(output))
    _check_analyze_options(fmt, options)
    check_output_dir(output)
    device = _device_for(roofline, peak_gflops, bandwidth_gbs, device_profile, dtype)
    source = make_source(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                         unsafe=unsafe)
    _, report = analyze_source(source)
    if strict:
        strict_findings(report)
    if memory or device is not None:
        options = dataclasses.replace(options, columns=_columns(report, memory, device, dtype))
    emit(render.render(report, fmt, options), output)


def _device_for(roofline: bool, peak_gflops: float | None, bandwidth_gbs: float | None,
                profile_file: Path | None, dtype: str) -> Any:
    """Check --dtype and resolve the device profile (before the slow part); None: no roofline."""
    from convcost.analysis import roofline as rl
    from convcost.analysis.memory import dtype_bytes

    dtype_bytes(dtype)
    if not (roofline or peak_gflops is not None or bandwidth_gbs is not None or profile_file):
        return None
    return rl.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                      profile_file=profile_file)


def _columns(report: Any, memory: bool, device: Any, dtype: str) -> Any:
    from convcost.analysis.memory import memory as traffic
    from convcost.analysis.roofline import AnalyzeColumns

    return AnalyzeColumns(traffic(report, dtype=dtype), device, show_memory=memory)


def _check_analyze_options(fmt: str, options: Any) -> None:
    from convcost.render import analyze as render

    render.check_choice("format", fmt, render.FORMATS)
    render.check_choice("--group-by", options.group_by, render.GROUPINGS)
    check_positive("--batch-size", options.batch_size)
    check_positive("--depth", options.depth, minimum=0)


@app.command("compare")
@domain_errors
def compare_command(
    models: Annotated[list[str], typer.Argument(
        help="Two or more zoo names or model files; the first is the baseline.",
        show_default=False)],
    input_shape: InputShape = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="table, json or markdown.")] = "table",
    output: Output = None,
    unsafe: Unsafe = False,
) -> None:
    """Compare models side by side, and the part that differs against 1/N + 1/D_K²."""
    from convcost.analysis.compare import compare
    from convcost.render import analyze as render

    render.check_choice("format for compare", fmt, render.COMPARE_FORMATS)
    if len(models) < 2:
        raise ConvcostError(f"compare needs at least two models. Received: {models}.")
    check_output_dir(output)
    sources = [make_source(m, input_shape, classes=classes, no_top=no_top, unsafe=unsafe)
               for m in models]
    reports = [analyze_source(source)[1] for source in sources]
    options = render.RenderOptions(width=console_width(output), color=use_color(output))
    emit(render.render_comparison(compare(reports), fmt, options), output)
