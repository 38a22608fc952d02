"""PNG plots: training (convergence, predicted vs measured speedup), speed-up per runtime, and
profile (roofline, MAC vs time shares per kind).

Drawn on a bare Matplotlib ``Figure`` (rendered by Agg; pyplot and its global backend are not
touched) and written atomically, so an interrupted run never leaves half a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.analysis.roofline import GIGA
from convcost.count.report import KINDS
from convcost.files import atomic_path

if TYPE_CHECKING:
    from convcost.measure.experiment import EpochRow, ModelSummary
    from convcost.measure.profiling import LatencyReport
    from convcost.theory.sweep import Sweep

KIND_COLOURS = {"standard": "tab:blue", "depthwise": "tab:orange", "pointwise": "tab:green",
                "fully_connected": "tab:red", "other": "tab:gray", "attention": "tab:purple",
                "recurrent": "tab:brown", "embedding": "tab:olive"}


def convergence_plot(rows: Sequence[EpochRow], path: str | Path) -> Path:
    """Loss and accuracy per epoch: one colour per model, solid train, dashed test.

    Args:
        rows: epoch rows of one or more models.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.0, 4.0))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    models = list(dict.fromkeys(row.model for row in rows))
    for index, model in enumerate(models):
        mine = [row for row in rows if row.model == model]
        epochs = [row.epoch for row in mine]
        colour = f"C{index % 10}"
        for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            axes.plot(epochs, [getattr(r, f"train_{metric}") for r in mine], "o-", color=colour,
                      label=f"{model} train")
            axes.plot(epochs, [getattr(r, f"test_{metric}") for r in mine], "s--", color=colour,
                      label=f"{model} test")
    for axes, label in ((loss_axes, "loss (categorical cross-entropy)"),
                        (accuracy_axes, "accuracy")):
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    accuracy_axes.legend(fontsize="small")
    figure.suptitle("MNIST convergence")
    return _save(figure, path)


def speed_plot(summaries: Sequence[ModelSummary], path: str | Path) -> Path:
    """Bars per model: predicted speedup (MAC ratio) and measured speedup (epoch-time ratio).

    Args:
        summaries: one per model; ratios are against the first.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(5.0, 1.6 * len(summaries) + 2), 4.0))
    axes = figure.subplots()
    positions = range(len(summaries))
    width = 0.38
    for offset, label, values in (
            (-width / 2, "predicted (training FLOPs ratio)" if all(
                s.training_flops for s in summaries) else "predicted (MAC ratio)",
             [s.predicted_speedup for s in summaries]),
            (width / 2, "measured (epoch time ratio)", [s.measured_speedup for s in summaries])):
        bars = axes.bar([p + offset for p in positions], values, width, label=label)
        axes.bar_label(bars, fmt="%.2fx", fontsize="small")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(list(positions), [_tick(s) for s in summaries])
    if any(s.flagged for s in summaries):
        axes.set_xlabel("* one epoch only: its time includes tracing and warm-up")
    axes.set_ylabel(f"speedup vs {summaries[0].model}" if summaries else "speedup")
    axes.legend(fontsize="small")
    axes.set_title("Training speed: predicted vs measured")
    return _save(figure, path)


def _tick(summary: ModelSummary) -> str:
    return f"{summary.model}*" if summary.flagged else summary.model


def runtime_speedup_plot(settings: Sequence[tuple[str, dict[str, float]]],
                         predicted: dict[str, float], path: str | Path) -> Path:
    """Measured speed-up of each model per setting (runtime, threads, batch), as bars, with the
    predicted MAC ratio of each model as a dashed line of the same colour.

    Args:
        settings: (label, {model: measured speed-up against the baseline}) in display order.
        predicted: {model: MAC ratio against the baseline}; the models drawn, in order.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    models = list(predicted)
    figure = Figure(figsize=(max(6.0, 1.1 * len(settings) + 2), 4.5))
    axes = figure.subplots()
    width = 0.8 / max(1, len(models))
    for index, model in enumerate(models):
        colour = f"C{index % 10}"
        offsets = [p - 0.4 + width * (index + 0.5) for p in range(len(settings))]
        bars = axes.bar(offsets, [values.get(model, 0.0) for _, values in settings], width,
                        color=colour, label=f"{model} measured")
        axes.bar_label(bars, fmt="%.1fx", fontsize="x-small")
        axes.axhline(predicted[model], color=colour, linestyle="--", linewidth=1.2,
                     label=f"{model} predicted {predicted[model]:.2f}x (MAC ratio)")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(list(range(len(settings))), [label for label, _ in settings],
                    fontsize="small", rotation=20, ha="right")
    axes.set_ylabel("speed-up vs the first model")
    axes.legend(fontsize="small")
    axes.set_title("Predicted (MAC ratio) vs measured speed-up, by runtime")
    return _save(figure, path)


def roofline_plot(latency: LatencyReport, path: str | Path) -> Path:
    """Log-log roofline: the two roofs, and each timed layer at (FLOP/byte, achieved GFLOP/s).

    Args:
        latency: measured per-layer times with their traffic and device profile.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    device, batch, dtype = latency.device, latency.batch, latency.memory.dtype
    figure = Figure(figsize=(7.5, 5.0))
    axes = figure.subplots()
    points = [(layer.traffic.intensity(batch, dtype), layer.gflops_per_s, layer.kind)
              for layer in latency.layers if layer.gflops_per_s and layer.flops]
    xs = [x for x, _, _ in points if x > 0] or [device.ridge]
    low, high = min(min(xs), device.ridge) / 4, max(max(xs), device.ridge) * 4
    peak = device.peak_flops / GIGA
    axes.plot([low, device.ridge], [device.bandwidth * low / GIGA, peak], color="black",
              label=f"memory roof {device.bandwidth / GIGA:.1f} GB/s")
    axes.plot([device.ridge, high], [peak, peak], color="black", linestyle="--",
              label=f"compute roof {peak:.1f} GFLOP/s")
    for kind in KINDS:
        mine = [(x, y) for x, y, k in points if k == kind and x > 0]
        if mine:
            axes.scatter([x for x, _ in mine], [y for _, y in mine],
                         color=KIND_COLOURS[kind], label=kind, s=28, zorder=3)
    axes.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP / byte)",
             ylabel="achieved GFLOP/s",
             title=f"{latency.report.model}: roofline, batch {batch}, {dtype}")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path, dpi=120)


def share_plot(latency: LatencyReport, path: str | Path) -> Path:
    """Bar chart per kind: share of MACs next to share of measured time.

    Args:
        latency: measured per-layer times.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    kinds = [k for k in latency.kinds() if k.layers]
    figure = Figure(figsize=(7.5, 4.5))
    axes = figure.subplots()
    positions = range(len(kinds))
    axes.bar([p - 0.2 for p in positions], [100 * k.macs_share for k in kinds], width=0.4,
             label="share of MACs", color="tab:blue")
    axes.bar([p + 0.2 for p in positions], [100 * k.time_share for k in kinds], width=0.4,
             label="share of measured time", color="tab:orange")
    axes.set_xticks(list(positions), [k.kind for k in kinds])
    axes.set(ylabel="% of model total",
             title=f"{latency.report.model}: MACs vs time per kind, batch {latency.batch}")
    axes.legend()
    return _save(figure, path, dpi=120)


def write_profile_plots(latency: LatencyReport, folder: str | Path) -> list[Path]:
    """Write ``<model>_roofline.png`` and ``<model>_shares.png`` into ``folder``."""
    base = Path(folder).expanduser()
    name = latency.report.model
    return [roofline_plot(latency, base / f"{name}_roofline.png"),
            share_plot(latency, base / f"{name}_shares.png")]


def sweep_plot(sweep: Sweep, path: str | Path) -> Path:
    """MACs across sizes (analyze's counts as points, the formula as a line) beside the share
    of MACs of each kind; the formula along the sweep is the caption.

    Args:
        sweep: the sweep (:func:`convcost.theory.sweep.sweep`).
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11.0, 4.6))
    counts, shares = figure.subplots(1, 2)
    values = [row.value for row in sweep.rows]
    low, high = min(values), max(values)
    grid = [low + (high - low) * i / 100 for i in range(101)] if high > low else [low]
    macs = sweep.along("macs")
    curve = [float(macs.subs(sweep.variable, v)) / 1e6 for v in grid]
    counts.plot(grid, curve, color="black", linewidth=1, label="formula")
    for on_domain, marker, label in ((True, "o", "analyze"),
                                     (False, "x", "analyze, off the domain")):
        rows = [row for row in sweep.rows if row.on_domain == on_domain]
        if rows:
            counts.plot([row.value for row in rows], [row.macs / 1e6 for row in rows], marker,
                        color="tab:blue" if on_domain else "tab:red", label=label)
    counts.set(xlabel=sweep.axis, ylabel="MACs (millions)", title=f"{sweep.model}: MACs")
    counts.grid(alpha=0.3)
    counts.legend(fontsize="small")
    _share_bars(shares, sweep, values)
    figure.suptitle(_caption_text(sweep), fontsize="small")
    return _save(figure, path)


def _share_bars(axes: Any, sweep: Sweep, values: Sequence[int]) -> None:
    bottom = [0.0] * len(values)
    positions = range(len(values))
    for kind in sweep.kinds:
        heights = [100 * next(g.macs_share for g in row.kinds if g.key == kind)
                   for row in sweep.rows]
        axes.bar(positions, heights, bottom=bottom, color=KIND_COLOURS[kind], label=kind)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axes.set_xticks(list(positions), [str(v) for v in values])
    axes.set(xlabel=sweep.axis, ylabel="% of MACs", title="share of MACs per kind")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _caption_text(sweep: Sweep) -> str:
    import sympy

    symbol = str(sweep.variable)
    where = "" if sweep.axis == "seq-len" else f"  (H = W = {symbol})"
    return (f"MACs({symbol}) = ${sympy.latex(sweep.along('macs'))}${where}; "
            f"{sweep.formula.domain.text}")


def llm_sweep_plot(data: dict[str, Any], path: str | Path) -> Path:
    """An LLM decode sweep (:meth:`convcost.analysis.llm.LlmSweep.to_dict`): time per output
    token and tokens/s; KV cache beside the room the weights leave (red: does not fit); for a
    context sweep, decode MACs per token.

    Args:
        data: the sweep as a dict.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    axis, points = data["axis"], data["points"]
    key = "context" if axis == "context" else "batch_size"
    xs = [point[key] for point in points]
    panels = 3 if axis == "context" else 2
    figure = Figure(figsize=(4.2 * panels, 4.0))
    axes = figure.subplots(1, panels)
    _time_panel(axes[0], xs, points, axis)
    _memory_panel(axes[1], xs, points, data, axis)
    if panels == 3:
        axes[2].plot(xs, [p["decode_macs_per_token"] / 1e9 for p in points], "o-")
        axes[2].set(xlabel=axis, ylabel="GMACs per token (one sequence)",
                    title="decode MACs per token")
        axes[2].grid(alpha=0.3)
    kind = "bounds" if data["bound"] else f"at efficiency {data['efficiency']}"
    figure.suptitle(f"{data['model']} on {data['device']['name']}: weights "
                    f"{data['weight_bits']}-bit, KV {data['kv_bits']}-bit, {data['dtype']} "
                    f"(roofline {kind})", fontsize="small")
    return _save(figure, path)


def _time_panel(axes: Any, xs: list[int], points: list[dict[str, Any]], axis: str) -> None:
    axes.plot(xs, [p["time_per_output_token_s"] * 1e3 for p in points], "o-", color="tab:blue")
    axes.set(xlabel=axis, title="time per output token and tokens/s")
    axes.set_ylabel("ms per output token", color="tab:blue")
    rate = axes.twinx()
    rate.plot(xs, [p["tokens_per_s"] for p in points], "s--", color="tab:orange")
    rate.set_ylabel("tokens/s", color="tab:orange")
    axes.grid(alpha=0.3)


def _memory_panel(axes: Any, xs: list[int], points: list[dict[str, Any]],
                  data: dict[str, Any], axis: str) -> None:
    axes.plot(xs, [p["kv_cache_bytes"] for p in points], "o-", color="tab:green",
              label="KV cache")
    room = data["device"]["memory_bytes"] - points[0]["weight_bytes"]
    axes.axhline(room, color="black", linewidth=1, label="device memory - weights")
    misses = [(x, p["kv_cache_bytes"]) for x, p in zip(xs, points) if not p["fits"]]
    if misses:
        axes.plot(*zip(*misses), "x", color="tab:red", markersize=10, label="does not fit")
    axes.set_yscale("log")
    axes.set(xlabel=axis, ylabel="bytes (log scale)", title="KV cache")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")


def _save(figure: Any, path: str | Path, dpi: int = 110) -> Path:
    target = Path(path).expanduser()
    figure.tight_layout()
    with atomic_path(target, make_parents=True) as temp:
        figure.savefig(temp, format="png", dpi=dpi)
    return target
