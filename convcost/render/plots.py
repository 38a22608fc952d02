"""Training plots: convergence per epoch, and predicted vs measured speedup per model.

Drawn on a bare Matplotlib ``Figure`` (rendered by Agg; pyplot and its global backend are not
touched) and written atomically, so an interrupted run never leaves half a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.files import atomic_path

if TYPE_CHECKING:  # experiment imports this module lazily; no import cycle at run time
    from convcost.measure.experiment import EpochRow, ModelSummary


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
            (-width / 2, "predicted (MAC ratio)", [s.predicted_speedup for s in summaries]),
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


def _save(figure: Any, path: str | Path) -> Path:
    target = Path(path).expanduser()
    figure.tight_layout()
    with atomic_path(target, make_parents=True) as temp:
        figure.savefig(temp, format="png", dpi=110)
    return target
