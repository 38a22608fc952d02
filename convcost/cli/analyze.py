"""``convcost analyze`` and ``convcost compare``: cost tables of zoo models and model files.

Thin commands: parse and check the options (before TensorFlow is imported), obtain the model
(:mod:`convcost.models.loader`), analyze it (:mod:`convcost.count.walker`), render
(:mod:`convcost.render.analyze`)
and write to stdout or, atomically, to ``--output``. Layer signatures for ``compare`` are
computed here, where the Keras model is at hand.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Sequence
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


def layer_signatures(model: Any) -> dict[str, Any]:
    """Every leaf layer's :class:`~convcost.analysis.compare.LayerSignature`, by the walker's path.

    Nested functional/Sequential models are entered with ``outer/inner/`` prefixes, as the
    walker names rows; this reads ``model.layers``, it does not walk the graph again.
    """
    from convcost.analysis.compare import LayerSignature
    from convcost.count.keras_internals import inner_graph

    found: dict[str, LayerSignature] = {}

    def visit(container: Any, prefix: str) -> None:
        for layer in container.layers:
            if inner_graph(layer) is not None:
                visit(layer, prefix + layer.name + "/")
            else:
                found[prefix + layer.name] = LayerSignature(
                    type(layer).__name__, _config_key(layer), _ints(layer, "kernel_size"),
                    _int(layer, "filters"), _int(layer, "groups") or 1)

    visit(model, "")
    return found


def _config_key(layer: Any) -> str | None:
    try:
        config = dict(layer.get_config())
    except Exception:  # a custom layer without get_config: it never matches
        return None
    config.pop("name", None)
    return json.dumps(config, sort_keys=True, default=repr)


def _ints(layer: Any, attribute: str) -> tuple[int, ...] | None:
    value = getattr(layer, attribute, None)
    return tuple(int(v) for v in value) if isinstance(value, tuple | list) else None


def _int(layer: Any, attribute: str) -> int | None:
    value = getattr(layer, attribute, None)
    return int(value) if isinstance(value, int) else None


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
    reports, signatures = _analyze_all(sources)
    options = render.RenderOptions(width=console_width(output), color=use_color(output))
    emit(render.render_comparison(compare(reports, signatures), fmt, options), output)


def _analyze_all(sources: Sequence[Source]) -> tuple[list[Any], list[dict[str, Any]]]:
    reports, signatures = [], []
    for source in sources:
        model, report = analyze_source(source)
        reports.append(report)
        signatures.append(layer_signatures(model))
    return reports, signatures
