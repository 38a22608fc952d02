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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcost.cli import analyze_llm as llm
from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.device import device_or_probe
from convcost.cli.options import (
    Alpha,
    AnalyzeFormat,
    BandwidthGbs,
    Causal,
    Classes,
    DeviceProfileFile,
    Dtype,
    GroupBy,
    Imports,
    InputShapes,
    ModelArg,
    Moe,
    NoTop,
    Output,
    PeakGflops,
    SeqLen,
    Source,
    Unsafe,
    Width,
    check_count,
    make_source,
)
from convcost.cli.output import check_output_dir, console_width, emit, use_color
from convcost.errors import ConvcostError, UnsupportedLayerError

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile, MemoryRooflineFields
    from convcost.analysis.training import TrainingFields
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
    width: Width = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 2 on an unsupported layer or a failed params check.")] = False,
    unsafe: Unsafe = False,
    imports: Imports = None,
    memory: Annotated[bool, typer.Option(
        "--memory", help="Bytes moved (inputs + outputs + weights), FLOP/byte, output and "
                         "peak activation memory.")] = False,
    roofline: Annotated[bool, typer.Option(
        "--roofline", help="Roofline bound per layer (compute/memory) and predicted time; "
                           "measures this machine once if no device profile is saved.")] = False,
    dtype: Dtype = "float32",
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    device_profile: DeviceProfileFile = None,
    symbolic: Annotated[bool, typer.Option(
        "--symbolic", help="Params, MACs and FLOPs of the model and of every layer as exact "
                           "formulas of the free input sizes (H, W or L), proven at held-back "
                           "sizes.")] = False,
    sweep: Annotated[str | None, typer.Option(
        help="Counts and per-kind shares across sizes, with the formula: size=96,128,... "
             "(H = W) or seq-len=128,256,...", show_default=False, metavar="AXIS=N,N,...")
    ] = None,
    plot: Annotated[Path | None, typer.Option(
        help="With --sweep: also draw the sweep as a PNG file.", show_default=False,
        metavar="FILE")] = None,
    training: Annotated[bool, typer.Option(
        "--training", help="Training cost per layer: input-gradient (dx) and weight-gradient "
                           "(dW) MACs, training MACs/FLOPs, and the memory of one step at "
                           "--batch-size.")] = False,
    optimizer: Annotated[str, typer.Option(
        help="Keras optimizer whose slots --training counts (adam, sgd, rmsprop, adamw, ...).",
        metavar="NAME")] = "adam",
    measure_memory: Annotated[bool, typer.Option(
        "--measure-memory", help="With --training: also run 4 training steps in a subprocess "
                                 "and read TensorFlow's allocator peak.")] = False,
    against: Annotated[str | None, typer.Option(
        help="With a .tflite MODEL: the Keras model it came from (a .keras file or a zoo "
             "name), compared kind by kind.", show_default=False, metavar="MODEL")] = None,
    causal: Causal = False,
    moe: Moe = "routed",
    decode: llm.Decode = False,
    context: llm.Context = None,
    generate: llm.Generate = None,
    weight_bits: llm.WeightBits = None,
    kv_bits: llm.KvBits = None,
    device_id: llm.Device = None,
    efficiency: llm.Efficiency = None,
) -> None:
    """Params, MACs and FLOPs of every layer of MODEL, checked against Keras' own count.

    MODEL may also be a .tflite file: one row per op, read without TensorFlow (--against
    compares it with its Keras model). --peak-gflops, --bandwidth-gbs and --device-profile
    imply --roofline; --measure-memory implies --training. --symbolic and --sweep derive the
    cost as exact polynomials of the input size (see 'Formulas of models' in the docs). Zoo
    models are built shape-only (no weights allocated), so a 70B LLM or a huge --alpha answers
    in seconds.
    """
    from convcost import render
    from convcost.models.loader import is_tflite

    check_count("--batch-size", batch_size)
    check_count("--depth", depth, minimum=0)
    options = render.RenderOptions(group_by, batch_size, flops, depth,
                                   console_width(output, width), use_color(output))
    check_output_dir(output)
    llm_options = llm.LlmOptions(decode, context, generate, weight_bits, kv_bits, device_id,
                                 efficiency)
    if llm_options.requested:  # LLM inference: convcost.cli.analyze_llm
        others = {"--memory": memory, "--roofline": roofline, "--sweep": sweep, "--plot": plot,
                  "--training": training, "--measure-memory": measure_memory,
                  "--against": against, "--peak-gflops": peak_gflops,
                  "--bandwidth-gbs": bandwidth_gbs, "--device-profile": device_profile,
                  "--moe": moe != "routed" or None}
        llm.analyze_llm(llm_options, make_source(model, input_shape, no_top=no_top,
                                                 unsafe=unsafe, imports=imports),
                        fmt=fmt, batch_size=batch_size, dtype=dtype, causal=causal,
                        symbolic=symbolic, render_options=options, output=output,
                        others=others)
        return
    if is_tflite(model):
        keras_only = {"--input-shape": input_shape, "--alpha": alpha, "--classes": classes,
                      "--no-top": no_top or None, "--unsafe": unsafe or None,
                      "--memory": memory or None, "--roofline": roofline or None,
                      "--peak-gflops": peak_gflops, "--bandwidth-gbs": bandwidth_gbs,
                      "--device-profile": device_profile, "--symbolic": symbolic or None,
                      "--sweep": sweep, "--plot": plot}
        analyze_tflite_file(model, against, fmt, options, output, strict, keras_only, imports)
        return
    if against is not None:
        raise ConvcostError(f"--against applies to a .tflite MODEL only. Received: --against "
                            f"{against!r} with {model!r}.")
    if fmt == "html":
        _check_html(output)
    if symbolic or sweep is not None or plot is not None:
        request = SymbolicRequest(fmt, options, strict, sweep, plot, output)
        check_symbolic(request, memory or roofline or peak_gflops is not None
                       or bandwidth_gbs is not None or device_profile is not None)
        symbolic_analysis(make_source(model, input_shape, classes=classes, alpha=alpha,
                                      no_top=no_top, unsafe=unsafe, imports=imports), request)
        return
    device = _device_for(roofline, peak_gflops, bandwidth_gbs, device_profile)
    source = make_source(model, input_shape, classes=classes, alpha=alpha, no_top=no_top,
                         unsafe=unsafe, seq_len=seq_len, imports=imports)
    if measure_memory and source.analyze_shape is not None:
        raise ConvcostError(f"--measure-memory trains the model file as saved; it cannot "
                            f"re-shape it. Received: --input-shape {input_shape}.")
    keras_model, report = analyze_source(source, attention="causal" if causal else "executed",
                                         moe=moe)
    if strict:
        strict_findings(report)
    if memory or device is not None:
        options = dataclasses.replace(options, columns=_fields(report, memory, device, dtype))
    if training or measure_memory:
        fields = training_fields(keras_model, report, batch=batch_size or 1, dtype=dtype,
                                 optimizer=optimizer, measure=source.spec if measure_memory
                                 else None)
        options = dataclasses.replace(options, training=fields)
    text = render.render(report, fmt, options)
    emit(text, output)
    if fmt == "html" and output is not None:
        stderr.print(f"wrote {output} ({len(text.encode()) / 1e6:.1f} MB, self-contained): open "
                     "it in a browser", markup=False)


def _check_html(output: Path | None) -> None:
    """Before the slow part: plotly is there, and the page does not go to a terminal."""
    from convcost.render.html import plotly_script

    plotly_script()
    if output is None and sys.stdout.isatty():
        raise ConvcostError("--format html writes a page of several MB; pass --output "
                            "FILE.html (or redirect stdout). Received: stdout is a terminal.")


def training_fields(model: Any, report: Report, *, batch: int, dtype: str, optimizer: str,
                    measure: Any = None) -> TrainingFields:
    """The training cost, the memory estimate with ``optimizer``'s slots and, given a model
    spec in ``measure``, TensorFlow's measured peak of steps at ``batch``."""
    from convcost.analysis.optimizers import model_slots
    from convcost.analysis.training import TrainingFields, training_cost
    from convcost.analysis.training_memory import training_memory

    cost = training_cost(report)
    estimate = training_memory(cost, model_slots(optimizer, model), batch=batch, dtype=dtype)
    if measure is None:
        return TrainingFields(cost, estimate)
    from convcost.measure.memory_peak import measure_training_peak

    peak = measure_training_peak(measure, batch=batch, optimizer=optimizer)
    return TrainingFields(cost, estimate, peak.rest_bytes, peak.peak_bytes)


def _device_for(roofline: bool, peak_gflops: float | None, bandwidth_gbs: float | None,
                profile_file: Path | None) -> DeviceProfile | None:
    """The device profile for --roofline (before the slow part; measured and saved once when
    there is none), or None."""
    if not (roofline or peak_gflops is not None or bandwidth_gbs is not None or profile_file):
        return None
    return device_or_probe(peak_gflops, bandwidth_gbs, profile_file)


def _fields(report: Report, memory: bool, device: DeviceProfile | None,
            dtype: str) -> MemoryRooflineFields:
    from convcost.analysis.memory import memory as traffic
    from convcost.analysis.roofline import MemoryRooflineFields

    return MemoryRooflineFields(traffic(report, dtype=dtype), device, show_memory=memory)


# --- --symbolic and --sweep -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SymbolicRequest:
    """What ``--symbolic`` / ``--sweep`` asked for, and where the output goes."""

    fmt: str
    options: Any  # convcost.render.RenderOptions
    strict: bool
    sweep: str | None
    plot: Path | None
    output: Path | None


def check_symbolic(request: SymbolicRequest, roofline: bool) -> None:
    """One-line errors for combinations that mean nothing, before anything is built."""
    from convcost.theory.sweep import parse

    if roofline:
        raise ConvcostError("--symbolic and --sweep do not combine with --memory or "
                            "--roofline. Received: both.")
    if request.plot is not None and request.sweep is None:
        raise ConvcostError(f"--plot draws a sweep; add --sweep size=... or seq-len=... "
                            f"Received: --plot {str(request.plot)!r} alone.")
    if request.sweep is not None:
        parse(request.sweep)
        options = request.options
        for option, value in (("--depth", options.depth), ("--batch-size", options.batch_size)):
            if value is not None:
                raise ConvcostError(f"--sweep shows whole-model totals; {option} does not "
                                    f"apply. Received: {option} {value}.")
        if options.group_by != "layer":
            raise ConvcostError(f"--sweep groups by kind already; --group-by does not apply. "
                                f"Received: --group-by {options.group_by}.")
    if request.plot is not None:
        try:
            check_output_dir(request.plot)
        except ConvcostError as error:
            raise ConvcostError(str(error).replace("--output", "--plot", 1)) from None


def family_of(source: Source) -> Any:
    """The model as a family over its free input sizes (convcost.analysis.scaling.Family)."""
    load_keras()
    from convcost.analysis import scaling
    from convcost.models.loader import import_code, obtain

    spec = source.spec
    if spec.is_file:
        length = (source.seq_len,) if source.seq_len else None
        return scaling.model_family(obtain(spec), input_shape_=source.analyze_shape or length)
    import_code(spec.imports)
    if source.seq_len is not None:  # a zoo text model: over its sequence length L
        return scaling.text_family(spec.source, seq_len=source.seq_len,
                                   include_top=spec.include_top)
    return scaling.zoo_family(spec.source, input_shape_=spec.input_shape, classes=spec.classes,
                              alpha=spec.alpha, include_top=spec.include_top)


def symbolic_analysis(source: Source, request: SymbolicRequest) -> None:
    """Derive the formulas (and run the sweep), render, write."""
    from convcost.render import plots
    from convcost.render.sweep import render_sweep
    from convcost.render.symbolic import render_symbolic
    from convcost.theory import model as whole
    from convcost.theory import sweep as sweeps

    family = family_of(source)
    if request.strict:
        strict_findings(family.report)
    swept = sweeps.parse(request.sweep) if request.sweep is not None else None
    reports = {}
    if swept is not None:  # each size first: a size the model does not take fails fast
        axis, values = swept
        reports = {v: _at(family, sweeps.sizes_of(axis, family.names, v), axis) for v in values}
    formula = whole.derive(family.sample, family.names, check=family.check,
                           model=family.report.model, base=family.report,
                           maximum=family.maximum)
    if swept is None:
        emit(render_symbolic(family.report, formula, request.fmt, request.options),
             request.output)
        return
    data = sweeps.sweep(formula, swept[0], reports)
    if request.plot is not None:
        plots.sweep_plot(data, request.plot)
    emit(render_sweep(data, request.fmt, request.options), request.output)


def _at(family: Any, sizes: dict[str, int], axis: str) -> Report:
    try:
        return family.check(sizes)
    except ConvcostError as error:
        value = next(iter(sizes.values()))
        reason = str(error).rstrip(".")
        raise ConvcostError(f"--sweep {axis}={value}: the model does not take this size: "
                            f"{reason}. Received: --sweep {axis}={value}.") from None


def analyze_tflite_file(model: str, against: str | None, fmt: str, options: Any,
                        output: Path | None, strict: bool, keras_only: dict[str, Any],
                        imports: list[str] | None = None) -> None:
    """``analyze`` of a .tflite file: count its ops without TensorFlow; with ``against``, load
    or build the Keras model and compare (exit 1 when they disagree, after the output)."""
    from convcost.analysis.tflite import check_against
    from convcost.count.tflite import analyze_tflite
    from convcost.render.tflite import render_tflite

    given = [option for option, value in keras_only.items() if value is not None]
    if given:
        raise ConvcostError(f"{given[0]} applies to Keras models, not to a .tflite file. "
                            f"Received: {given[0]} with {model!r}.")
    analysis = analyze_tflite(model)
    check = None
    if against is not None:
        _, keras_report = analyze_source(make_source(against, None, imports=imports))
        check = check_against(analysis, keras_report)
    report = analysis.report
    if strict and (report.unsupported or not report.params_match):
        problems = [f"no cost rule for {name} ({count} op{'s' if count > 1 else ''})"
                    for name, count in report.unsupported.items()]
        problems += [] if report.params_match else ["params differ from the stored buffers"]
        raise UnsupportedLayerError(f"--strict: {'; '.join(problems)}. Received: {model!r}.")
    emit(render_tflite(analysis, fmt, options, check), output)
    if check is not None and not check.ok:
        raise ConvcostError(f"The .tflite file and the Keras model disagree (see above: "
                            f"unexplained params {check.unexplained_params:,}, MACs equal: "
                            f"{check.macs_match}). Received: {model!r} against {against!r}.")
