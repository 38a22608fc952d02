"""``convcost analyze``: the cost table of a zoo model or a model file.

A thin command: check the options (before TensorFlow is imported), obtain the model
(:mod:`convcost.models.loader`; a zoo model shape-only, without allocating its weights), count
it (:mod:`convcost.count.walker`), add the memory and roofline fields when asked
(:mod:`convcost.analysis`), render (:mod:`convcost.render`) and write to stdout or,
atomically, to ``--output``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, load_keras
from convcost.cli.options import (
    Alpha,
    AnalyzeFormat,
    BandwidthGbs,
    Causal,
    Classes,
    DeviceProfileFile,
    Dtype,
    GroupBy,
    InputShapes,
    ModelArg,
    Moe,
    NoTop,
    Output,
    PeakGflops,
    SeqLen,
    Source,
    Unsafe,
    check_count,
    make_source,
)
from convcost.cli.output import check_output_dir, console_width, emit, use_color
from convcost.errors import UnsupportedLayerError

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile, MemoryRooflineFields
    from convcost.count.report import Report


def analyze_source(source: Source, *, attention: str = "executed",
                   moe: str = "routed") -> tuple[Any, Report]:
    """Obtain the model and analyze it: ``(keras model, Report)``. A zoo model is built
    shape-only (no weights allocated): counting needs shapes, never values."""
    load_keras()
    from convcost.count.scope import shape_only
    from convcost.count.walker import analyze
    from convcost.models.loader import obtain

    with contextlib.nullcontext() if source.spec.is_file else shape_only():
        model = obtain(source.spec)
    report = analyze(model, input_shape=source.shapes, seq_len=source.seq_len,
                     attention=attention, moe=moe)
    if source.text_default:
        note = (f"Sequence length {source.seq_len}: the context length of "
                f"{source.spec.source!r} (--seq-len L for another).")
        report = dataclasses.replace(report, notes=(note, *report.notes))
    return model, report


def strict_findings(report: Report) -> None:
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


@app.command("analyze")
@domain_errors
def analyze_command(
    model: ModelArg,
    input_shape: InputShapes = None,
    seq_len: SeqLen = None,
    alpha: Alpha = None,
    classes: Classes = None,
    no_top: NoTop = False,
    fmt: AnalyzeFormat = "table",
    group_by: GroupBy = "layer",
    batch_size: Annotated[int | None, typer.Option(
        help="Also give totals per batch of N samples.", show_default=False, metavar="N")
    ] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Show FLOPs beside MACs.")] = False,
    depth: Annotated[int | None, typer.Option(
        help="Fold rows of nested models deeper than N into one row.", show_default=False,
        metavar="N")] = None,
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
    dtype: Dtype = "float32",
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    device_profile: DeviceProfileFile = None,
    causal: Causal = False,
    moe: Moe = "routed",
) -> None:
    """Params, MACs and FLOPs of every layer of MODEL, checked against Keras' own count.

    --peak-gflops, --bandwidth-gbs and --device-profile imply --roofline. Zoo models are built
    shape-only (no weights allocated), so a 70B LLM or a huge --alpha answers in seconds.
    """
    from convcost import render

    check_count("--batch-size", batch_size)
    check_count("--depth", depth, minimum=0)
    options = render.RenderOptions(group_by, batch_size, flops, depth,
                                   console_width(output), use_color(output))
    check_output_dir(output)
    device = _device_for(roofline, peak_gflops, bandwidth_gbs, device_profile)
    source = make_source(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                         unsafe=unsafe, seq_len=seq_len)
    _, report = analyze_source(source, attention="causal" if causal else "executed", moe=moe)
    if strict:
        strict_findings(report)
    if memory or device is not None:
        options = dataclasses.replace(options, columns=_fields(report, memory, device, dtype))
    emit(render.render(report, fmt, options), output)


def _device_for(roofline: bool, peak_gflops: float | None, bandwidth_gbs: float | None,
                profile_file: Path | None) -> DeviceProfile | None:
    """The device profile for --roofline (resolved before the slow part), or None."""
    from convcost.analysis import devices

    if not (roofline or peak_gflops is not None or bandwidth_gbs is not None or profile_file):
        return None
    return devices.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                           profile_file=profile_file)


def _fields(report: Report, memory: bool, device: DeviceProfile | None,
            dtype: str) -> MemoryRooflineFields:
    from convcost.analysis.memory import memory as traffic
    from convcost.analysis.roofline import MemoryRooflineFields

    return MemoryRooflineFields(traffic(report, dtype=dtype), device, show_memory=memory)
