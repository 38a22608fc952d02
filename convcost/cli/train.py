"""``convcost train``: train zoo nets or model files on MNIST with the same settings, time
every epoch, predict each from its per-layer training FLOPs.

Model names and options are checked before TensorFlow is imported; model files are loaded and
checked (28x28x1 in, 10 classes out) before any training. One line on stderr says where MNIST
was read from.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from convcost.cli.app import app, domain_errors, fail, load_keras, stderr
from convcost.cli.options import Alpha, Imports, ModelsArg, Width
from convcost.cli.output import console_width, emit, use_color
from convcost.models.zoo import ARTICLE_NETS
from convcost.render import experiment as show
from convcost.render.experiment import ExperimentSummary
from convcost.render.options import RenderOptions

if TYPE_CHECKING:
    from convcost.measure.experiment import TrainConfig


Count = Annotated[int | None, typer.Option(show_default=False, metavar="N")]


@app.command("train")
@domain_errors
def train_command(
    models: ModelsArg = None,
    data: Annotated[Path | None, typer.Option(
        help="mnist.npz or a folder of the four IDX files (default: $CONVCOST_MNIST, else "
             "Keras' download).", show_default=False, metavar="PATH")] = None,
    preset: Annotated[Literal["article"] | None, typer.Option(
        help="'article': RMSprop lr 1e-3, batch 8, 10 epochs, all 60,000 images. Options "
             "given explicitly override it.", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: 3).", show_default=False,
                                               metavar="N")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default: 128).",
                                                   show_default=False, metavar="N")] = None,
    optimizer: Annotated[Literal["adam", "rmsprop", "sgd"] | None, typer.Option(
        help="Optimizer (default: adam).", show_default=False)] = None,
    learning_rate: Annotated[float | None, typer.Option(
        help="Learning rate (default: 1e-3).", show_default=False, metavar="FLOAT")] = None,
    subset: Annotated[int | None, typer.Option(help="Train on the first N images only.",
                                               show_default=False, metavar="N")] = None,
    test_subset: Annotated[int | None, typer.Option(
        help="Evaluate on the first N test images.", show_default=False, metavar="N")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: 0).",
                                             show_default=False, metavar="N")] = None,
    alpha: Alpha = None,
    pipeline: Annotated[Literal["arrays", "tfdata"] | None, typer.Option(
        help="arrays (Keras' own pipeline) or tfdata (tf.data, shuffled, prefetched) "
             "(default: arrays).", show_default=False)] = None,
    device: Annotated[Literal["auto", "cpu", "gpu"] | None, typer.Option(
        help="auto (GPU if TensorFlow sees one), cpu or gpu (default: auto).",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Results folder (default: results/train-<timestamp>).", show_default=False,
        metavar="DIR")] = None,
    peak: Annotated[bool, typer.Option(help="Measure the matmul peak after training.")] = True,
    width: Width = None,
    distribute: Annotated[Literal["none", "mirrored"] | None, typer.Option(
        help="mirrored: tf.distribute.MirroredStrategy over every GPU, else every logical CPU "
             "device; --batch-size is the global batch (default: none).",
        show_default=False)] = None,
    cpu_devices: Annotated[int | None, typer.Option(
        help="Split the CPU into N logical devices first (for --distribute on one CPU).",
        show_default=False, metavar="N")] = None,
    imports: Imports = None,
) -> None:
    """Train zoo nets or model files on MNIST with the same settings; time every epoch;
    compare with their training FLOPs.

    Writes epochs.csv/epochs.json after every epoch, then summary.json, summary.md,
    convergence.png and speed.png into the results folder, and each trained model as
    models/NAME.keras (for 'convcost bench ... --runtime litert-int8').
    """
    from convcost.measure.sources import check_names

    columns = console_width(None, width)
    names = models or list(ARTICLE_NETS)
    check_names(names)
    load_keras()
    from convcost.measure.experiment import make_config
    from convcost.models.loader import import_code

    import_code(tuple(imports or ()))

    config = make_config(preset, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                         learning_rate=learning_rate, subset=subset, test_subset=test_subset,
                         seed=seed, alpha=alpha, pipeline=pipeline, device=device,
                         distribute=distribute, cpu_devices=cpu_devices)
    if config.cpu_devices is not None:
        from convcost.measure.distribute import split_cpu

        split_cpu(config.cpu_devices)  # before TensorFlow runs anything
    folder = out or Path("results") / f"train-{time.strftime('%Y%m%d-%H%M%S')}"
    _train(names, data, config, folder, peak, columns)


def _train(names: list[str], data_path: Path | None, config: TrainConfig, out: Path,
           peak: bool, width: int | None) -> None:
    from convcost.measure import data, experiment
    from convcost.measure.machine import machine_info
    from convcost.measure.probe import peak_matmul
    from convcost.measure.sources import check_before_training

    experiment.resolve_device(config.device)  # a missing GPU fails before anything is written
    check_before_training(names, alpha=config.alpha, batch=config.batch_size)
    mnist = data.load_mnist(data_path)
    stderr.print(data.describe_source(data_path, mnist), highlight=False, markup=False)
    prepared = data.prepare(mnist, subset=config.subset, test_subset=config.test_subset)
    folder = experiment.ResultsFolder(out, experiment.run_meta(config, prepared,
                                                               machine_info()))
    try:
        with _progress() as progress:
            experiment.run_experiment(names, prepared, config, folder,
                                      progress=_progress_bars(progress))
    except KeyboardInterrupt:
        raise fail(f"Interrupted; the {len(folder.rows)} finished epoch(s) are in "
                   f"{folder.path / 'epochs.csv'}. Received: KeyboardInterrupt.", 130) from None
    peak_gflops = peak_matmul().gflops if peak else None
    summary = ExperimentSummary(experiment.summarize(folder.runs), folder.runs, folder.meta,
                                peak_gflops)
    written = write_summary(folder, summary)
    written += sorted((folder.path / "models").glob("*.keras"))  # saved by each run
    emit(show.render(summary, "table", RenderOptions(width=width, color=use_color())), None)
    stderr.print("wrote " + ", ".join(str(path) for path in written))


def write_summary(folder: Any, summary: ExperimentSummary) -> list[Path]:
    """summary.json, summary.md, convergence.png and speed.png of ``summary`` in ``folder``
    (a :class:`convcost.measure.experiment.ResultsFolder`), each written atomically."""
    from convcost.render import plots

    json_path, markdown_path = folder.path / "summary.json", folder.path / "summary.md"
    emit(show.render(summary, "json"), json_path, make_parents=True)
    emit(show.render(summary, "markdown"), markdown_path, make_parents=True)
    return [json_path, markdown_path,
            plots.convergence_plot(folder.rows, folder.path / "convergence.png"),
            plots.speed_plot(summary.summaries, folder.path / "speed.png")]


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr)


def _progress_bars(progress: Any) -> Any:
    """A factory of Keras callbacks that advance a rich progress bar, one per epoch."""
    import keras

    class ProgressBar(keras.callbacks.Callback):
        async_safe = True  # only advances a counter: Keras may keep dispatching batches async

        def __init__(self, name: str, epochs: int, steps: int) -> None:
            super().__init__()
            self.name, self.epochs, self.steps = name, epochs, steps
            self.task: Any = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.task = progress.add_task(f"{self.name} epoch {epoch + 1}/{self.epochs}",
                                          total=self.steps)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            progress.advance(self.task)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            progress.update(self.task, completed=self.steps)

    return ProgressBar
