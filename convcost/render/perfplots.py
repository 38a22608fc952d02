"""Plots of a :class:`~convcost.measure.profiling.LatencyReport`: roofline, MAC vs time shares.

Both are drawn with Matplotlib's Agg backend (no display needed) and written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convcost.analysis.roofline import GIGA
from convcost.count.report import KINDS
from convcost.files import atomic_path
from convcost.measure.profiling import LatencyReport

KIND_COLOURS = {"standard": "tab:blue", "depthwise": "tab:orange", "pointwise": "tab:green",
                "fully_connected": "tab:red", "other": "tab:gray"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roofline_plot(latency: LatencyReport, path: str | Path) -> Path:
    """Log-log roofline: the two roofs, and each timed layer at (FLOP/byte, achieved GFLOP/s).

    Args:
        latency: measured per-layer times with their traffic and device profile.
        path: the PNG file to write.
    """
    plt = _pyplot()
    device, batch, dtype = latency.device, latency.batch, latency.memory.dtype
    figure, axes = plt.subplots(figsize=(7.5, 5.0))
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
            axes.scatter(*zip(*mine), color=KIND_COLOURS[kind], label=kind, s=28, zorder=3)
    axes.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP / byte)",
             ylabel="achieved GFLOP/s",
             title=f"{latency.report.model}: roofline, batch {batch}, {dtype}")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return _save(plt, figure, path)


def share_plot(latency: LatencyReport, path: str | Path) -> Path:
    """Bar chart per kind: share of MACs next to share of measured time.

    Args:
        latency: measured per-layer times.
        path: the PNG file to write.
    """
    plt = _pyplot()
    kinds = [k for k in latency.kinds() if k.layers]
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    positions = range(len(kinds))
    axes.bar([p - 0.2 for p in positions], [100 * k.macs_share for k in kinds], width=0.4,
             label="share of MACs", color="tab:blue")
    axes.bar([p + 0.2 for p in positions], [100 * k.time_share for k in kinds], width=0.4,
             label="share of measured time", color="tab:orange")
    axes.set_xticks(list(positions), [k.kind for k in kinds])
    axes.set(ylabel="% of model total",
             title=f"{latency.report.model}: MACs vs time per kind, batch {latency.batch}")
    axes.legend()
    return _save(plt, figure, path)


def write_plots(latency: LatencyReport, folder: str | Path) -> list[Path]:
    """Write ``<model>_roofline.png`` and ``<model>_shares.png`` into ``folder``."""
    base = Path(folder).expanduser()
    name = latency.report.model
    return [roofline_plot(latency, base / f"{name}_roofline.png"),
            share_plot(latency, base / f"{name}_shares.png")]


def _save(plt: Any, figure: Any, path: str | Path) -> Path:
    target = Path(path).expanduser()
    try:
        figure.tight_layout()
        with atomic_path(target, make_parents=True) as temp:
            figure.savefig(temp, format="png", dpi=120)
    finally:
        plt.close(figure)
    return target
