"""``convcost train`` (train and time zoo nets on MNIST) and ``convcost bench`` (forward latency).

Neither imports TensorFlow at import time; model names and options are checked before it is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.app import app, domain_errors, fail, load_keras, stderr

ARTICLE_NETS = ["naive", "v1", "v2"]


@app.command("train")
@domain_errors
def train_command(
    models: Annotated[list[str] | None, typer.Argument(
        help="Zoo names; the first is the baseline of the speedups.",
        show_default="naive v1 v2")] = None,
    data: Annotated[Path | None, typer.Option(
        help="mnist.npz or a folder of the four IDX files (default: $CONVCOST_MNIST, else "
             "Keras' download).", show_default=False)] = None,
    preset: Annotated[str | None, typer.Option(
        help="'article': RMSprop lr 1e-3, batch 8, 10 epochs, all 60,000 images. Options "
             "given explicitly override it.", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: 3).",
                                               show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default: 128).",
                                                   show_default=False)] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, rmsprop or sgd (default: adam).",
                                                  show_default=False)] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Learning rate (default: 1e-3).",
                                                        show_default=False)] = None,
    subset: Annotated[int | None, typer.Option(help="Train on the first N images only.",
                                               show_default=False)] = None,
    test_subset: Annotated[int | None, typer.Option(help="Evaluate on the first N test images.",
                                                    show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: 0).",
                                             show_default=False)] = None,
    alpha: Annotated[float | None, typer.Option(help="Width multiplier of the nets.",
                                                show_default=False)] = None,
    pipeline: Annotated[str | None, typer.Option(
        help="arrays (Keras' own pipeline) or tfdata (tf.data, shuffled, prefetched) "
             "(default: arrays).",
        show_default=False)] = None,
    device: Annotated[str | None, typer.Option(
        help="auto (GPU if TensorFlow sees one), cpu or gpu (default: auto).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Results folder (default: results/train-<timestamp>).", show_default=False)] = None,
    peak: Annotated[bool, typer.Option(help="Measure the matmul peak after training.")] = True,
) -> None:
    """Train zoo nets on MNIST with the same settings; time every epoch; compare with the MACs.

    Writes epochs.csv/epochs.json after every epoch, then summary.json, summary.md,
    convergence.png and speed.png into the results folder.
    """
    from convcost.models import zoo

    names = models or ARTICLE_NETS
    for name in names:
        zoo.entry(name)
    load_keras()
    from convcost.measure.experiment import make_config

    config = make_config(preset, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                         learning_rate=learning_rate, subset=subset, test_subset=test_subset,
                         seed=seed, alpha=alpha, pipeline=pipeline, device=device)
    folder = out or Path("results") / f"train-{time.strftime('%Y%m%d-%H%M%S')}"
    _train(names, data, config, folder, peak)


def _train(names: list[str], data_path: Path | None, config: Any, out: Path,
           peak: bool) -> None:
    from convcost.measure import bench, data, experiment

    experiment.resolve_device(config.device)  # a missing GPU fails before anything is written
    prepared = data.prepare(data.load_mnist(data_path), subset=config.subset,
                            test_subset=config.test_subset)
    folder = experiment.ResultsFolder(out, experiment.run_meta(config, prepared,
                                                               bench.machine_info()))
    try:
        with _progress() as progress:
            experiment.run_experiment(names, prepared, config, folder, progress=progress)
    except KeyboardInterrupt:
        raise fail(f"Interrupted; the {len(folder.rows)} finished epoch(s) are in "
                   f"{folder.path / 'epochs.csv'}. Received: KeyboardInterrupt.", 130) from None
    peak_gflops = bench.peak_matmul().gflops if peak else None
    written = experiment.write_summary(folder, peak_gflops)
    _summary_table(json.loads((folder.path / "summary.json").read_text()))
    stderr.print("wrote " + ", ".join(str(path) for path in written))


def _summary_table(payload: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from convcost.render.analyze import human

    table = Table(title="convcost train (exact numbers: summary.json, summary.md)",
                  title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1),
                  pad_edge=False)
    for column in ("model", "params", "MACs", "epoch 1", "steady", "img/s", "GFLOP/s", "pred.",
                   "meas.", "acc"):
        table.add_column(column, justify="left" if column == "model" else "right",
                         no_wrap=True, overflow="fold")
    for m in payload["summary"]:
        steady = f"{m['steady_epoch_s']:.2f}" + ("*" if m["flagged"] else "")
        table.add_row(m["model"], human(m["params"]), human(m["macs"]),
                      f"{m['first_epoch_s']:.2f}", steady,
                      f"{m['throughput_samples_per_s']:,.0f}", f"{m['achieved_gflops']:.2f}",
                      f"{m['predicted_speedup']:.2f}", f"{m['measured_speedup']:.2f}",
                      f"{m['final_test_accuracy']:.3f}")
    console = Console(soft_wrap=True)
    console.print(table)
    console.print("epoch 1 / steady: seconds per epoch (first; median of the later ones). "
                  "pred. = MAC ratio, meas. = steady-epoch-time ratio (speedups), against "
                  f"{payload['summary'][0]['model']}. acc: test accuracy. "
                  "* one epoch only (includes warm-up).")


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr)


@app.command("bench")
@domain_errors
def bench_command(
    models: Annotated[list[str] | None, typer.Argument(
        help="Zoo names; the first is the baseline of the speedups.",
        show_default="naive v1 v2")] = None,
    batch_size: Annotated[int, typer.Option(help="Samples per forward call.")] = 64,
    repeats: Annotated[int, typer.Option(help="Timed calls per model.")] = 30,
    warmup: Annotated[int, typer.Option(help="Untimed calls first (the first traces).")] = 3,
    alpha: Annotated[float | None, typer.Option(help="Width multiplier of the nets.",
                                                show_default=False)] = None,
    peak_size: Annotated[int, typer.Option(help="n of the n x n float32 peak matmul.")] = 2048,
    peak_repeats: Annotated[int, typer.Option(help="Timed peak matmuls (median kept).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = (
        False),
) -> None:
    """Forward latency of zoo nets (compiled model(x, training=False)) next to their MACs.

    Also measures this machine's attainable GFLOP/s (median of a float32 matmul) and shows
    each model's achieved GFLOP/s as a share of it.
    """
    from convcost.measure import bench
    from convcost.models import zoo

    names = models or ARTICLE_NETS
    for name in names:
        zoo.entry(name)
    load_keras()
    rows = bench.bench_models(names, batch_size=batch_size, repeats=repeats, warmup=warmup,
                              alpha=alpha)
    peak = bench.peak_matmul(peak_size, peak_repeats)
    payload = {"machine": bench.machine_info(), "method": f"{bench.compiled_call()}; each call "
               "waits for its result",
               "peak": bench.peak_dict(peak),
               "models": [bench.bench_dict(row, rows[0], peak) for row in rows]}
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        _bench_table(payload)


def _bench_table(payload: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from convcost.render.analyze import human

    peak, models = payload["peak"], payload["models"]
    table = Table(title=f"forward latency, batch {models[0]['batch_size']}, ms per batch "
                        "(exact numbers: --json)", title_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 0, 0, 1), pad_edge=False)
    for column in ("model", "MACs", "med", "p10", "p90", "min", "img/s", "GFLOP/s", "%pk",
                   "pred", "meas"):
        table.add_column(column, justify="left" if column == "model" else "right",
                         no_wrap=True)
    for m in models:
        table.add_row(m["model"], human(m["macs"]),
                      *(f"{m[key] * 1e3:.2f}" for key in ("median_s", "p10_s", "p90_s", "min_s")),
                      f"{m['throughput_samples_per_s']:.0f}", f"{m['achieved_gflops']:.2f}",
                      f"{100 * m['share_of_peak']:.0f}", f"{m['predicted_speedup']:.2f}",
                      f"{m['measured_speedup']:.2f}")
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(f"{payload['method']}. med/p10/p90/min: latency percentiles. %pk: share of "
                  f"the peak, {peak['gflops']:.1f} GFLOP/s (float32 {peak['size']}x"
                  f"{peak['size']} matmul, median of {len(peak['seconds'])}; best run "
                  f"{peak['best_gflops']:.1f}). pred = MAC ratio, meas = median-latency ratio "
                  f"(speedups), against {models[0]['model']}.")
