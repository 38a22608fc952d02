"""Render training and benchmark results: the run summary (Markdown, table, files) and the
forward-latency table and JSON of ``bench``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.text import Text

from convcost.analysis.roofline import GIGA
from convcost.files import write_text
from convcost.measure.bench import BenchRow
from convcost.measure.experiment import (
    STALL_AFTER_S,
    ModelRun,
    ModelSummary,
    ResultsFolder,
    fit_dict,
    summarize,
    summary_dict,
)
from convcost.measure.probe import Peak
from convcost.render.tables import Cell, Grid, fitted_table, print_to_string
from convcost.render.units import human


def write_summary(folder: ResultsFolder, peak_gflops: float | None = None) -> list[Path]:
    """summary.json, summary.md, convergence.png and speed.png for the runs in ``folder``.

    Args:
        folder: a results folder holding finished runs.
        peak_gflops: this machine's attainable GFLOP/s (a matmul), or ``None``.
    """
    from convcost.render import plots

    summaries = summarize(folder.runs)
    payload = {"summary": [summary_dict(s, peak_gflops) for s in summaries],
               "fits": [fit_dict(run) for run in folder.runs], "peak_gflops": peak_gflops}
    markdown = summary_markdown(summaries, folder.runs, folder.meta, peak_gflops)
    write_text(folder.path / "summary.md", markdown, make_parents=True)
    return [folder.write_json("summary.json", payload), folder.path / "summary.md",
            plots.convergence_plot(folder.rows, folder.path / "convergence.png"),
            plots.speed_plot(summaries, folder.path / "speed.png")]


def summary_markdown(summaries: Sequence[ModelSummary], runs: Sequence[ModelRun],
                     meta: dict[str, Any], peak_gflops: float | None) -> str:
    """The summary as Markdown: settings, machine, the table, the fit timing, what is measured."""
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
    lines += ["", *_notes(summaries, peak_gflops), "", *_fit_lines(runs)]
    return "\n".join(lines) + "\n"


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
    ]


def _notes(summaries: Sequence[ModelSummary], peak_gflops: float | None) -> list[str]:
    notes = [
        "Epoch time = Keras on_epoch_begin to on_epoch_end (training steps and input pipeline "
        "only); the test evaluation is timed apart. Steady epoch = median of epochs 2..N.",
        "Training FLOPs per epoch = 3 x (2 x MACs + other FLOPs) per sample x samples "
        "(backward taken as 2x forward). Predicted speedup = MAC ratio, measured = "
        "steady-epoch-time ratio, both against the first model.",
    ]
    if peak_gflops:
        notes.append(f"Peak: {peak_gflops:.1f} GFLOP/s (median float32 matmul, see summary.json).")
    if any(s.flagged for s in summaries):
        notes.append("* Only one epoch ran: its time includes tracing and warm-up.")
    return [f"- {note}" for note in notes]


def _fit_lines(runs: Sequence[ModelRun]) -> list[str]:
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


_NARROW = {"box": box.SIMPLE_HEAD, "padding": (0, 0, 0, 1), "pad_edge": False}


def _narrow_table(grid: Grid, width: int | None, title: str) -> Any:
    """A table with one space between columns; the model column wraps when too narrow."""
    return fitted_table([grid], width, title=title, title_justify="left", **_NARROW)


def summary_table(summaries: Sequence[ModelSummary], *, width: int | None,
                  color: bool = False) -> str:
    """The run summary as a compact table (exact numbers are in summary.json and summary.md).

    ``width=None`` is the natural width; a narrower one wraps model names, never numbers.
    """
    headers = ["model", "params", "MACs", "epoch 1", "steady", "img/s", "GFLOP/s", "pred.",
               "meas.", "acc"]
    body: list[list[Cell]] = []
    for s in summaries:
        steady = f"{s.steady_epoch_s:.2f}" + ("*" if s.flagged else "")
        body.append([s.model, human(s.params), human(s.macs), f"{s.first_epoch_s:.2f}",
                     steady, f"{s.throughput:,.0f}", f"{s.achieved_gflops:.2f}",
                     f"{s.predicted_speedup:.2f}", f"{s.measured_speedup:.2f}",
                     f"{s.final_test_accuracy:.3f}"])
    grid = Grid(headers, [h != "model" for h in headers], body, [], wrap=(0,))
    table = _narrow_table(grid, width, "convcost train (exact numbers: summary.json, "
                                       "summary.md)")
    note = ("epoch 1 / steady: seconds per epoch (first; median of the later ones). pred. = MAC "
            "ratio, meas. = steady-epoch-time ratio (speedups), against "
            f"{summaries[0].model if summaries else '-'}. acc: test accuracy. * one epoch only "
            "(includes warm-up).")
    return print_to_string(table, Text(note), width=width, color=color)


def bench_dict(row: BenchRow, base: BenchRow, peak: Peak | None) -> dict[str, Any]:
    """A bench row with derived numbers; speedups are against ``base`` (the first model)."""
    return {"model": row.model, "params": row.params, "macs": row.macs,
            "forward_flops": row.forward_flops, "batch_size": row.batch_size,
            **row.timings.as_dict(), "throughput_samples_per_s": row.throughput,
            "achieved_gflops": row.achieved_gflops,
            "share_of_peak": row.achieved_gflops / peak.gflops if peak else None,
            "predicted_speedup": base.macs / row.macs,
            "measured_speedup": base.timings.median / row.timings.median}


def peak_dict(peak: Peak) -> dict[str, Any]:
    """The peak measurement with its derived rate."""
    return {"size": peak.size, "flops": peak.flops, "gflops": peak.gflops,
            "best_gflops": peak.best_gflops, **peak.timings.as_dict()}


def bench_document(rows: Sequence[BenchRow], peak: Peak, machine: dict[str, Any],
                   method: str) -> dict[str, Any]:
    """The JSON document of ``convcost bench``: machine, method, peak, one entry per model."""
    return {"machine": machine, "method": f"{method}; each call waits for its result",
            "peak": peak_dict(peak), "models": [bench_dict(row, rows[0], peak) for row in rows]}


def bench_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def bench_table(document: dict[str, Any], *, width: int | None, color: bool = False) -> str:
    """Latency percentiles, throughput, GFLOP/s and speedups, one line per model.

    ``width=None`` is the natural width; a narrower one wraps model names, never numbers.
    """
    peak, models = document["peak"], document["models"]
    headers = ["model", "MACs", "med", "p10", "p90", "min", "img/s", "GFLOP/s", "%pk", "pred",
               "meas"]
    body = [
        [m["model"], human(m["macs"]),
         *(f"{m[key] * 1e3:.2f}" for key in ("median_s", "p10_s", "p90_s", "min_s")),
         f"{m['throughput_samples_per_s']:.0f}", f"{m['achieved_gflops']:.2f}",
         f"{100 * m['share_of_peak']:.0f}", f"{m['predicted_speedup']:.2f}",
         f"{m['measured_speedup']:.2f}"] for m in models]
    grid = Grid(headers, [h != "model" for h in headers], body, [], wrap=(0,))
    table = _narrow_table(grid, width, f"forward latency, batch {models[0]['batch_size']}, ms "
                                       "per batch (exact numbers: --format json)")
    note = (f"{document['method']}. med/p10/p90/min: latency percentiles. %pk: share of the "
            f"peak, {peak['gflops']:.1f} GFLOP/s (float32 {peak['size']}x{peak['size']} "
            f"matmul, median of {len(peak['seconds'])}; best run {peak['best_gflops']:.1f}). "
            f"pred = MAC ratio, meas = median-latency ratio (speedups), against "
            f"{models[0]['model']}.")
    return print_to_string(table, Text(note), width=width, color=color)
