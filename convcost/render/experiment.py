"""Render ``convcost train``'s results: the summary of a run of experiments as a compact table,
Markdown (``summary.md``) or JSON (``summary.json``). The CLI writes the files."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from convcost.analysis.roofline import GIGA
from convcost.render.options import RenderOptions
from convcost.render.tables import Cell, Grid, check_choice, narrow_table, print_to_string
from convcost.render.units import human

if TYPE_CHECKING:
    from convcost.measure.experiment import ModelRun, ModelSummary

FORMATS = ("table", "markdown", "json")


@dataclass(frozen=True)
class ExperimentSummary:
    """What a run of ``convcost train`` summarizes: one summary and one run per model, the
    run's meta data (machine, config, data) and this machine's peak GFLOP/s (or None)."""

    summaries: Sequence[ModelSummary]
    runs: Sequence[ModelRun]
    meta: dict[str, Any]
    peak_gflops: float | None = None


def render(data: ExperimentSummary, fmt: str, opts: RenderOptions | None = None) -> str:
    """The summary as ``fmt`` (one of :data:`FORMATS`); json is ``summary.json``."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(data.meta | experiment_dict(data), indent=2) + "\n"
    if fmt == "markdown":
        return summary_markdown(data.summaries, data.runs, data.meta, data.peak_gflops)
    return summary_table(data.summaries, width=options.width, color=options.color)


def experiment_dict(data: ExperimentSummary) -> dict[str, Any]:
    """``summary.json`` less the meta data: summaries, fits, the peak, any distribution."""
    from convcost.measure.experiment import distribution_dict, fit_dict, summary_dict

    payload: dict[str, Any] = {
        "summary": [summary_dict(s, data.peak_gflops) for s in data.summaries],
        "fits": [fit_dict(run) for run in data.runs], "peak_gflops": data.peak_gflops}
    distributed = [d for run, s in zip(data.runs, data.summaries)
                   if (d := distribution_dict(run, s, data.peak_gflops)) is not None]
    if distributed:
        payload["distribution"] = distributed
    return payload


def summary_markdown(summaries: Sequence[ModelSummary], runs: Sequence[ModelRun],
                     meta: dict[str, Any], peak_gflops: float | None) -> str:
    """The summary as Markdown: settings, machine, the table, the fit timing, what is measured."""
    from convcost.measure.experiment import distribution_dict

    lines = ["# convcost train: summary", "", *_setting_lines(meta), "",
             "| model | params | MACs/sample | train GFLOP/epoch | first epoch s | steady epoch s "
             "| samples/s | GFLOP/s | share of peak | predicted speedup | measured speedup "
             "| train acc | test acc |", "|" + " --- |" * 2 + " ---: |" * 11]
    for s in summaries:
        share = f"{s.achieved_gflops / peak_gflops:.1%}" if peak_gflops else "n/a"
        steady = f"{s.steady_epoch_s:.2f}" + (" *" if s.flagged else "")
        lines.append(
            f"| {s.model} | {s.params:,} | {s.macs:,} | {s.train_flops_per_epoch / GIGA:,.1f} "
            f"| {s.first_epoch_s:.2f} | {steady} | {s.throughput:,.0f} | "
            f"{s.achieved_gflops:.2f} | {share} | {s.predicted_speedup:.2f}x | "
            f"{s.measured_speedup:.2f}x | {s.final_train_accuracy:.4f} | "
            f"{s.final_test_accuracy:.4f} |")
    lines += ["", *_notes(summaries, peak_gflops), "", *_prediction_lines(summaries, peak_gflops)]
    for run, s in zip(runs, summaries):
        lines += _distribution_lines(distribution_dict(run, s, peak_gflops))
    lines += ["", *_fit_lines(runs)]
    return "\n".join(lines) + "\n"


def _prediction_lines(summaries: Sequence[ModelSummary], peak: float | None) -> list[str]:
    """Predicted vs measured steady epoch time: per-layer training FLOPs vs the old 3x."""
    if not summaries:
        return []
    base = summaries[0].model
    lines = [f"Predicted vs measured steady epoch time (seconds; predictions at {base}'s "
             f"measured GFLOP/s" + (", and at the matmul peak" if peak else "") + "):", "",
             "| model | training FLOPs/sample | 3 x forward FLOPs | measured | predicted "
             "(per layer) | predicted (3x) | at peak (lower bound) | predicted speedup "
             "(training FLOPs) | (MACs) | measured speedup |", "| --- |" + " ---: |" * 9]
    for s in summaries:
        at_peak = f"{s.train_flops_per_epoch / (peak * GIGA):.2f}" if peak else "n/a"
        lines.append(f"| {s.model} | {s.training_flops:,} | {3 * s.forward_flops:,} | "
                     f"{s.steady_epoch_s:.2f} | {s.predicted_epoch_s:.2f} | "
                     f"{s.predicted_epoch_s_3x:.2f} | {at_peak} | {s.predicted_speedup:.2f}x | "
                     f"{s.predicted_speedup_macs:.2f}x | {s.measured_speedup:.2f}x |")
    return lines + _calibrated_lines(summaries)


def _calibrated_lines(summaries: Sequence[ModelSummary]) -> list[str]:
    """Epochs predicted before training from the calibrated tf-train steps, when there were."""
    if not any(math.isfinite(s.calibrated_epoch_s) for s in summaries):
        return []
    lines = ["", "Predicted before training from the calibrated training step "
                 "(convcost calibrate --runtime tf-train; steps x predicted step):", "",
             "| model | steps | predicted step (ms) | predicted epoch (s) | measured (s) | error |",
             "| --- |" + " ---: |" * 5]
    for s in summaries:
        if math.isfinite(s.calibrated_epoch_s):
            lines.append(f"| {s.model} | {s.steps:,} | {s.calibrated_epoch_s / s.steps * 1e3:.2f} "
                         f"| {s.calibrated_epoch_s:.2f} | {s.steady_epoch_s:.2f} | "
                         f"{s.calibrated_epoch_s / s.steady_epoch_s - 1:+.1%} |")
    return lines


def _distribution_lines(d: dict[str, Any] | None) -> list[str]:
    """A --distribute run: strategy, predicted (compute + all-reduce) vs measured step."""
    if d is None:
        return []
    lines = ["", f"Data-parallel: {d['model']} under {d['strategy']} over {d['replicas']} "
                 f"devices ({', '.join(d['devices'])}; {d['cross_device_ops']} "
                 f"{d['implementation'] or ''}).", "",
             f"- Gradient all-reduce per step: {d['allreduce_bytes']:,} bytes ({d['tensors']} "
             f"tensors); ring: {d['ring_bytes_per_device']:,.0f} bytes sent per device; "
             f"predicted {d['predicted_allreduce_s'] * 1e3:.3f} ms ({d['latency_s'] * 1e6:.0f} "
             f"µs per tensor and ring step + copy bandwidth {d['copy_bandwidth'] / GIGA:.2f} "
             f"GB/s), measured {d['measured_allreduce_s'] * 1e3:.3f} ms."]
    if "predicted_step_s" in d:
        share = "the replicas share the same cores" if d["devices_share_compute"] else \
            "split among the replicas"
        lines.append(f"- Step: measured {d['measured_step_s'] * 1e3:.1f} ms; predicted "
                     f"{d['predicted_step_s'] * 1e3:.1f} ms = compute at the peak "
                     f"{d['predicted_compute_s'] * 1e3:.1f} ms ({share}) + all-reduce "
                     f"{d['predicted_allreduce_s'] * 1e3:.3f} ms.")
        lines += ["", "Predicted scaling on separate devices of this peak (same global batch):",
                  "", "| devices | compute ms | all-reduce ms | step ms | speed-up | efficiency |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {p['replicas']} | {p['compute_s'] * 1e3:.2f} | "
                  f"{p['allreduce_s'] * 1e3:.3f} | {p['step_s'] * 1e3:.2f} | "
                  f"{p['speedup']:.2f}x | {p['efficiency']:.0%} |" for p in d["scaling"]]
    return lines


def _setting_lines(meta: dict[str, Any]) -> list[str]:
    machine, config, data = meta["machine"], meta["config"], meta["data"]
    return [
        f"- Machine: {machine['cpu']}, {machine['usable_cpus']} of {machine['cpu_count']} CPUs "
        f"usable; GPUs: {', '.join(machine['gpus']) or 'none'}.",
        f"- Software: TensorFlow {machine['tensorflow'] or '(not installed)'}, Keras "
        f"{machine['keras']} (backend {machine['backend']}), Python {machine['python']}"
        + (f"; TF threads inter/intra = {machine['inter_op_threads']}/"
           f"{machine['intra_op_threads']} (0 = TensorFlow's choice)."
           if machine["inter_op_threads"] is not None else "."),
        f"- Data: {data['source']}; {data['train_samples']:,} training and "
        f"{data['test_samples']:,} test images.",
        f"- Settings: {config['epochs']} epochs, batch {config['batch_size']}, "
        f"{config['optimizer']} (lr {config['learning_rate']}), {config['loss']}, pipeline "
        f"{config['pipeline']}, seed {config['seed']}, device {config['device']}.",
        *(["- Epochs predicted before training: "
           + (f"from {steps['source']}." if steps["used"] else f"no ({steps['source']}).")]
          if (steps := meta.get("step_profile")) else []),
    ]


def _notes(summaries: Sequence[ModelSummary], peak_gflops: float | None) -> list[str]:
    notes = [
        "Epoch time = Keras on_epoch_begin to on_epoch_end (training steps and input pipeline "
        "only); the test evaluation is timed apart. Steady epoch = median of epochs 2..N.",
        "Training FLOPs per epoch = training FLOPs per sample x samples, counted per layer "
        "(forward + input gradients + weight gradients; none for the first layer's input or "
        "frozen layers: convcost analyze --training). Predicted speedup = training-FLOPs "
        "ratio, measured = steady-epoch-time ratio, both against the first model.",
    ]
    if peak_gflops:
        notes.append(f"Peak: {peak_gflops:.1f} GFLOP/s (median float32 matmul, see summary.json).")
    if any(s.flagged for s in summaries):
        notes.append("* Only one epoch ran: its time includes tracing and warm-up.")
    return [f"- {note}" for note in notes]


def _fit_lines(runs: Sequence[ModelRun]) -> list[str]:
    from convcost.measure.experiment import STALL_AFTER_S

    lines = ["Wall time around model.fit (seconds):", "",
             "| model | fit | setup | epochs | evaluation | bookkeeping | after on_train_end "
             "| CPU s in it | gap (fit - epochs - evaluation) |", "| --- |" + " ---: |" * 8]
    for run in runs:
        t = run.timing
        lines.append(f"| {run.model} | {t.fit_s:.2f} | {t.setup_s:.2f} | {t.epochs_s:.2f} | "
                     f"{t.eval_s:.2f} | {t.bookkeeping_s:.2f} | {t.return_s:.2f} | "
                     f"{t.return_cpu_s:.2f} | {t.gap_s:.2f} |")
    stalls = [run for run in runs if run.timing.return_stack]
    if stalls:
        lines += ["", f"Where the main thread sat after on_train_end (over {STALL_AFTER_S} s):"]
        lines += [f"- {run.model}: `{run.timing.return_stack}`" for run in stalls]
    return lines


def summary_table(summaries: Sequence[ModelSummary], *, width: int | None,
                  color: bool = False) -> str:
    """The run summary as a compact table (exact numbers are in summary.json and summary.md).

    ``width=None`` is the natural width; a narrower one wraps model names, never numbers.
    """
    calibrated = any(math.isfinite(s.calibrated_epoch_s) for s in summaries)
    headers = ["model", "params", "MACs", "epoch 1", "steady", *(["predicted"] * calibrated),
               "img/s", "GFLOP/s", "pred.", "meas.", "acc"]
    body: list[list[Cell]] = []
    for s in summaries:
        steady = f"{s.steady_epoch_s:.2f}" + ("*" if s.flagged else "")
        before = [f"{s.calibrated_epoch_s:.2f}" if math.isfinite(s.calibrated_epoch_s) else "-"]
        body.append([s.model, human(s.params), human(s.macs), f"{s.first_epoch_s:.2f}",
                     steady, *(before * calibrated), f"{s.throughput:,.0f}",
                     f"{s.achieved_gflops:.2f}", f"{s.predicted_speedup:.2f}",
                     f"{s.measured_speedup:.2f}", f"{s.final_test_accuracy:.3f}"])
    grid = Grid(headers, [h != "model" for h in headers], body, [], wrap=(0,))
    table = narrow_table(grid, width, "convcost train (exact numbers: summary.json, "
                                      "summary.md)")
    note = ("epoch 1 / steady: seconds per epoch (first; median of the later ones). pred. = "
            "training-FLOPs ratio, meas. = steady-epoch-time ratio (speedups), against "
            f"{summaries[0].model if summaries else '-'}. acc: test accuracy. * one epoch only "
            "(includes warm-up)." + (" predicted: epoch seconds from the calibrated training "
                                     "step (calibrate --runtime tf-train), before training."
                                     if calibrated else ""))
    return print_to_string(table, Text(note), width=width, color=color)
