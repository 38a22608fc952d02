"""``analyze`` of a Keras model (a zoo name or a ``.keras``/``.h5`` file): the cost table,
with the memory, roofline and training columns when asked.

Check the options (before TensorFlow is imported), obtain the model through
:func:`convcost.models.loader.resolve` (a zoo model shape-only), count it, add the fields
asked for (:mod:`convcost.analysis`), render and write to stdout or, atomically, ``--output``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.cli.analyze.args import AnalyzeArgs
from convcost.cli.analyze.shared import counted, render_options, request_of
from convcost.cli.app import stderr
from convcost.cli.device import device_or_probe
from convcost.cli.output import emit
from convcost.errors import ConvcostError

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile, MemoryRooflineFields
    from convcost.analysis.training import TrainingFields
    from convcost.count.report import Report
    from convcost.render import RenderOptions

ACCEPTS = frozenset({"strict", "input_shape", "seq_len", "alpha", "classes", "no_top", "group_by",
                     "batch_size", "flops", "depth", "unsafe", "memory", "roofline", "dtype",
                     "peak_gflops", "bandwidth_gbs", "device_profile", "training", "optimizer",
                     "measure_memory", "causal", "moe"})
REFUSAL = "{flag} applies to a .tflite MODEL only"


def applies(args: AnalyzeArgs) -> bool:
    """The default mode: a Keras model."""
    return True


def run(args: AnalyzeArgs) -> None:
    """Count the model, add the fields asked for, render, write."""
    from convcost import render

    options = render_options(args)
    if args.fmt == "html":
        _check_html(args.output)
    device = device_or_probe(args.peak_gflops, args.bandwidth_gbs, args.device_profile) \
        if args.wants_device else None
    asked = request_of(args)
    if args.measure_memory and asked.file_shape is not None:
        raise ConvcostError(f"--measure-memory trains the model file as saved; it cannot "
                            f"re-shape it. Received: --input-shape {args.input_shape}.")
    keras_model, report = counted(asked, attention=args.attention, moe=args.moe,
                                  strict=args.strict)
    options = _with_fields(options, args, asked, keras_model, report, device)
    text = render.render(report, args.fmt, options)
    emit(text, args.output)
    if args.fmt == "html" and args.output is not None:
        stderr.print(f"wrote {args.output} ({len(text.encode()) / 1e6:.1f} MB, "
                     "self-contained): open it in a browser", markup=False)


def _with_fields(options: RenderOptions, args: AnalyzeArgs, asked: Any, model: Any,
                 report: Report, device: DeviceProfile | None) -> RenderOptions:
    if args.memory or device is not None:
        options = dataclasses.replace(options, columns=_columns(report, args, device))
    if args.training or args.measure_memory:
        fields = training_fields(model, report, args, asked)
        options = dataclasses.replace(options, training=fields)
    return options


def _check_html(output: Path | None) -> None:
    """Before the slow part: plotly is there, and the page does not go to a terminal."""
    from convcost.render.html import plotly_script

    plotly_script()
    if output is None and sys.stdout.isatty():
        raise ConvcostError("--format html writes a page of several MB; pass --output "
                            "FILE.html (or redirect stdout). Received: stdout is a terminal.")


def training_fields(model: Any, report: Report, args: AnalyzeArgs,
                    asked: Any) -> TrainingFields:
    """The training cost, the memory estimate with the optimizer's slots and, with
    ``--measure-memory``, TensorFlow's measured peak of steps at the batch (of the model
    ``asked`` names, built afresh in a child process)."""
    from convcost.analysis.optimizers import model_slots
    from convcost.analysis.training import TrainingFields, training_cost
    from convcost.analysis.training_memory import training_memory

    batch = args.batch_size or 1
    cost = training_cost(report)
    estimate = training_memory(cost, model_slots(args.optimizer, model), batch=batch,
                               dtype=args.dtype)
    if not args.measure_memory:
        return TrainingFields(cost, estimate)
    from convcost.measure.fits import check_fits
    from convcost.measure.memory_peak import measure_training_peak

    check_fits(report, purpose="--measure-memory", batch=batch, training=True)
    peak = measure_training_peak(asked.spec, batch=batch, optimizer=args.optimizer)
    return TrainingFields(cost, estimate, peak.rest_bytes, peak.peak_bytes)


def _columns(report: Report, args: AnalyzeArgs,
             device: DeviceProfile | None) -> MemoryRooflineFields:
    from convcost.analysis.memory import memory as traffic
    from convcost.analysis.roofline import MemoryRooflineFields

    return MemoryRooflineFields(traffic(report, dtype=args.dtype), device,
                                show_memory=args.memory)
