"""Train zoo models on MNIST with the same settings and time them honestly, epoch by epoch.

What is measured, per model (all with ``time.perf_counter``):

- **epoch time** (``train_s``): from Keras' ``on_epoch_begin`` to ``on_epoch_end`` in a callback,
  i.e. every training step of the epoch and the input pipeline, and nothing else. The first
  epoch also pays tracing, graph building and warm-up; it is kept apart (``warmup``) and the
  summary uses the *median* of the later (steady-state) epochs. With one epoch only, that epoch
  is used and the summary flags it.
- **evaluation time** (``eval_s``): the same callback then runs ``model.evaluate`` on the test
  set (batch :data:`EVAL_BATCH`) and times it separately; it is not part of ``train_s``.
- **wall time around** ``model.fit`` (``fit_s``), split into ``setup_s`` (fit called ->
  ``on_train_begin``: data adapter, build, train function), the epochs, the evaluations,
  ``bookkeeping_s`` (epoch boundaries: result files, progress) and ``return_s``
  (``on_train_end`` -> fit returned), with the process CPU time spent in it (``return_cpu_s``:
  near 0 means the process sat idle) and, when it lasts over :data:`STALL_AFTER_S`, where the
  main thread sat (:class:`StallWatch`). Nothing is hidden: the gap is reported.

Predictions use :func:`convcost.analyze`: forward FLOPs per sample ``= 2·MACs + other FLOPs``,
and a training step is taken as about 3x the forward pass (forward, plus a backward pass of
about twice the forward), so training FLOPs per epoch ``= 3 · forward FLOPs · samples``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import keras

from convcost.analysis.roofline import GIGA
from convcost.errors import ConvcostError
from convcost.files import write_text
from convcost.measure.data import Prepared
from convcost.models import zoo

OPTIMIZERS = ("adam", "rmsprop", "sgd")
PIPELINES = ("arrays", "tfdata")
DEVICES = ("auto", "cpu", "gpu")
EVAL_BATCH = 1024  # test-set batch; inference results do not depend on it
STALL_AFTER_S = 0.5  # a longer stretch after on_train_end gets its main-thread stack sampled
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (about 2x forward)


@dataclass(frozen=True)
class TrainConfig:
    """One set of training settings, used for every model of a run.

    Args:
        epochs: passes over the training images.
        batch_size: training batch size.
        optimizer: one of :data:`OPTIMIZERS`.
        learning_rate: the optimizer's learning rate.
        subset: train on the first ``subset`` images only (``None``: all).
        test_subset: evaluate on the first ``test_subset`` test images (``None``: all).
        seed: seeds Python, NumPy and the backend before each model is built.
        alpha: width multiplier for the nets that take one (``None``: the model's default).
        pipeline: ``"arrays"`` (NumPy arrays handed to ``fit``; Keras builds its own tf.data
            pipeline: shuffled indices, batches gathered) or ``"tfdata"`` (``from_tensor_slices``,
            a full-size shuffle buffer, batch, prefetch). Measured on the 2-core CPU: the same
            epoch times within noise; iterating the pipeline alone (60,000 images, batch 128)
            takes 0.1 s with arrays and 0.3-0.6 s with tfdata, so arrays is the default.
        device: ``"auto"`` (a GPU when TensorFlow sees one), ``"cpu"`` or ``"gpu"``.
    """

    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    subset: int | None = None
    test_subset: int | None = None
    seed: int = 0
    alpha: float | None = None
    pipeline: str = "arrays"
    device: str = "auto"


PRESETS: dict[str, dict[str, Any]] = {
    # The article's notebooks: RMSprop(1e-3), categorical cross-entropy, batch 8, 10 epochs,
    # all 60,000 training images.
    "article": dict(optimizer="rmsprop", learning_rate=1e-3, batch_size=8, epochs=10,
                    subset=None),
}


def make_config(preset: str | None = None, **options: Any) -> TrainConfig:
    """Settings from defaults, then ``preset``, then the options given (``None`` = not given).

    Args:
        preset: a key of :data:`PRESETS`, or ``None``.
        options: :class:`TrainConfig` fields; explicit values override the preset.
    """
    if preset is not None and preset not in PRESETS:
        raise ConvcostError(f"Unknown preset; choose from {sorted(PRESETS)}. "
                            f"Received: {preset!r}.")
    unknown = set(options) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ConvcostError(f"Unknown training options. Received: {sorted(unknown)}.")
    given = {key: value for key, value in options.items() if value is not None}
    config = replace(TrainConfig(), **(PRESETS.get(preset or "", {}) | given))
    _check_config(config)
    return config


def _check_config(config: TrainConfig) -> None:
    for name in ("epochs", "batch_size"):
        if getattr(config, name) < 1:
            raise ConvcostError(f"{name} must be a positive integer. "
                                f"Received: {name}={getattr(config, name)}.")
    if not config.learning_rate > 0:
        raise ConvcostError(f"learning_rate must be positive. "
                            f"Received: learning_rate={config.learning_rate}.")
    for name, choices in (("optimizer", OPTIMIZERS), ("pipeline", PIPELINES),
                          ("device", DEVICES)):
        if getattr(config, name) not in choices:
            raise ConvcostError(f"{name} must be one of {', '.join(choices)}. "
                                f"Received: {name}={getattr(config, name)!r}.")


# --- measurements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochRow:
    """One epoch of one model: times in seconds, Keras' train metrics, the test evaluation."""

    model: str
    epoch: int  # 1-based
    warmup: bool  # the first epoch: includes tracing and warm-up
    samples: int
    steps: int
    batch_size: int
    train_s: float
    eval_s: float
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float


@dataclass(frozen=True)
class FitTiming:
    """Wall time around ``model.fit`` and where it went (see the module docstring)."""

    fit_s: float
    setup_s: float
    epochs_s: float
    eval_s: float
    bookkeeping_s: float
    return_s: float
    return_cpu_s: float  # process CPU time (all threads) during return_s: ~0 means idle
    return_stack: str = ""  # where the main thread sat, when return_s was long (see StallWatch)

    @property
    def gap_s(self) -> float:
        """Wall time around fit not spent in training epochs or test evaluation."""
        return self.fit_s - self.epochs_s - self.eval_s


@dataclass(frozen=True)
class ModelRun:
    """A trained model: its counts (from :func:`convcost.analyze`), epochs and fit timing."""

    model: str
    params: int  # keras count_params()
    macs: int  # per sample
    forward_flops: int  # per sample: 2 * MACs + other FLOPs
    device: str
    rows: tuple[EpochRow, ...]
    timing: FitTiming


@dataclass(frozen=True)
class ModelSummary:
    """Prediction next to measurement for one model; ratios are against the first model."""

    model: str
    params: int
    macs: int
    forward_flops: int
    samples: int
    epochs: int
    first_epoch_s: float
    steady_epoch_s: float
    steady_epochs: int  # how many epochs the median is over; 0: only the warm-up epoch
    predicted_speedup: float
    measured_speedup: float
    final_train_accuracy: float
    final_test_accuracy: float

    @property
    def flagged(self) -> bool:
        """True when only one epoch ran, so its time includes warm-up."""
        return self.steady_epochs == 0

    @property
    def train_flops_per_epoch(self) -> int:
        return training_flops(self.forward_flops, self.samples)

    @property
    def throughput(self) -> float:
        """Training samples per second in the steady state."""
        return self.samples / self.steady_epoch_s

    @property
    def achieved_gflops(self) -> float:
        return gflops_per_second(self.train_flops_per_epoch, self.steady_epoch_s)


def training_flops(forward_flops: int, samples: int) -> int:
    """FLOPs of one training epoch: ``3 · forward FLOPs per sample · samples`` (exact int)."""
    return TRAIN_FLOPS_PER_FORWARD * forward_flops * samples


def gflops_per_second(flops: int, seconds: float) -> float:
    """``flops / seconds`` in GFLOP/s."""
    return flops / seconds / GIGA


def steady_epoch(times: Sequence[float]) -> tuple[float, int]:
    """The median epoch time after the first, and how many epochs it is over.

    With one epoch only, that epoch's time and 0 (the caller flags it: it includes warm-up).
    """
    if not times:
        raise ConvcostError("No finished epoch to summarise. Received: 0 epochs.")
    if len(times) == 1:
        return times[0], 0
    return statistics.median(times[1:]), len(times) - 1


def summarize(runs: Sequence[ModelRun]) -> list[ModelSummary]:
    """One summary per run; predicted speedup = MAC ratio, measured = epoch-time ratio."""
    summaries = []
    for run in runs:
        seconds, steady = steady_epoch([row.train_s for row in run.rows])
        last = run.rows[-1]
        summaries.append(ModelSummary(
            model=run.model, params=run.params, macs=run.macs, forward_flops=run.forward_flops,
            samples=last.samples, epochs=len(run.rows), first_epoch_s=run.rows[0].train_s,
            steady_epoch_s=seconds, steady_epochs=steady, predicted_speedup=1.0,
            measured_speedup=1.0, final_train_accuracy=last.train_accuracy,
            final_test_accuracy=last.test_accuracy))
    if not summaries:
        return []
    base = summaries[0]
    return [replace(s, predicted_speedup=base.macs / s.macs if s.macs else math.nan,
                    measured_speedup=base.steady_epoch_s / s.steady_epoch_s)
            for s in summaries]


# --- callbacks -------------------------------------------------------------------------------


class StallWatch:
    """Samples the main thread's stack while ``fit`` has not returned after ``on_train_end``.

    FINDINGS.md saw ``fit`` return 12-15 s after its last step with the process idle. Started
    at ``on_train_end``, this thread sleeps :data:`STALL_AFTER_S`, then records the innermost
    frames of the main thread every 50 ms until :meth:`stop`; :meth:`stop` returns the most
    frequent stack ("" when fit returned in time). It costs nothing when there is no stall.
    """

    def __init__(self) -> None:
        self._main = threading.get_ident()
        self._done = threading.Event()
        self._stacks: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="stall-watch")
        self._thread.start()

    def _watch(self) -> None:
        if self._done.wait(STALL_AFTER_S):
            return
        while not self._done.wait(0.05):
            frame = sys._current_frames().get(self._main)
            if frame is not None:
                inner = traceback.extract_stack(frame)[-4:]
                self._stacks[" <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})"
                                         for f in reversed(inner))] += 1

    def stop(self) -> str:
        self._done.set()
        self._thread.join()
        if not self._stacks:
            return ""
        stack, count = self._stacks.most_common(1)[0]
        return f"{stack} [{count} of {sum(self._stacks.values())} samples]"


class EpochTimer(keras.callbacks.Callback):
    """Times each epoch (begin -> end), then evaluates on the test set, timed apart."""

    def __init__(self, name: str, data: Prepared, batch_size: int,
                 on_row: Callable[[EpochRow], None]) -> None:
        super().__init__()
        self.name = name
        self.data = data
        self.batch_size = batch_size
        self.on_row = on_row
        self.stamps: dict[str, float] = {}
        self.rows: list[EpochRow] = []
        self._epoch_start = 0.0
        self._watch: StallWatch | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stamps["train_begin"] = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train_s = time.perf_counter() - self._epoch_start
        start = time.perf_counter()
        test = self.model.evaluate(self.data.x_test, self.data.y_test, batch_size=EVAL_BATCH,
                                   verbose=0, return_dict=True)
        eval_s = time.perf_counter() - start
        logs = logs or {}
        row = EpochRow(self.name, epoch + 1, epoch == 0, self.data.train_samples,
                       math.ceil(self.data.train_samples / self.batch_size), self.batch_size,
                       train_s, eval_s, float(logs["loss"]), float(logs["accuracy"]),
                       float(test["loss"]), float(test["accuracy"]))
        self.rows.append(row)
        self.on_row(row)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.stamps["train_end"] = time.perf_counter()
        self.stamps["train_end_cpu"] = time.process_time()
        self._watch = StallWatch()

    def timing(self, fit_start: float, fit_end: float, fit_end_cpu: float) -> FitTiming:
        """Split the wall time around fit (see the module docstring); call right after fit.

        ``fit_end_cpu`` is a ``time.process_time()`` stamp.
        """
        stack = self._watch.stop() if self._watch is not None else ""
        epochs_s = sum(row.train_s for row in self.rows)
        eval_s = sum(row.eval_s for row in self.rows)
        begin = self.stamps.get("train_begin", fit_start)
        end = self.stamps.get("train_end", fit_end)
        return FitTiming(fit_end - fit_start, begin - fit_start, epochs_s, eval_s,
                         end - begin - epochs_s - eval_s, fit_end - end,
                         fit_end_cpu - self.stamps.get("train_end_cpu", fit_end_cpu), stack)


class ProgressBar(keras.callbacks.Callback):
    """A rich progress bar per epoch, advanced after each training batch."""

    async_safe = True  # only advances a counter: Keras may keep dispatching batches async

    def __init__(self, progress: Any, name: str, epochs: int, steps: int) -> None:
        super().__init__()
        self.progress = progress
        self.name = name
        self.epochs = epochs
        self.steps = steps
        self.task: Any = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.task = self.progress.add_task(f"{self.name} epoch {epoch + 1}/{self.epochs}",
                                           total=self.steps)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.progress.advance(self.task)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.progress.update(self.task, completed=self.steps)


# --- training --------------------------------------------------------------------------------


def resolve_device(choice: str) -> str:
    """``"gpu:0"`` or ``"cpu:0"`` for auto/gpu/cpu; ``gpu`` without a GPU is an error."""
    from convcost.measure.bench import gpu_names

    gpus = gpu_names()
    if choice == "gpu" and not gpus:
        raise ConvcostError(f"--device gpu was asked for, but the {keras.backend.backend()} "
                            f"backend sees no GPU. Received: devices "
                            f"{keras.distribution.list_devices()}.")
    if choice in ("gpu", "auto") and gpus:
        return "gpu:0"
    return "cpu:0"


def run_experiment(models: Sequence[str], data: Prepared, config: TrainConfig,
                   folder: ResultsFolder, *, progress: Any = None,
                   callbacks: Sequence[Any] = ()) -> list[ModelRun]:
    """Train every model in turn with ``config``; result files are rewritten after each epoch.

    Args:
        models: zoo names, e.g. ``["naive", "v1", "v2"]``; the first is the baseline.
        data: prepared MNIST arrays.
        config: the shared settings.
        folder: where epochs.csv / epochs.json go (rewritten atomically after every epoch).
        progress: a started ``rich.progress.Progress``, or ``None`` for no progress display.
        callbacks: extra Keras callbacks, run after the timer.
    """
    for name in models:
        zoo.entry(name)  # unknown names fail before any training
    device = resolve_device(config.device)
    for name in models:
        folder.add_run(train_model(name, data, config, device, folder, progress, callbacks))
    return list(folder.runs)


def train_model(name: str, data: Prepared, config: TrainConfig, device: str,
                folder: ResultsFolder, progress: Any, callbacks: Sequence[Any]) -> ModelRun:
    """Build, compile, fit and time one zoo model; see :func:`run_experiment`."""
    from convcost import analyze

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    with keras.device(device):
        model = zoo.build(name, input_shape=data.x_train.shape[1:], classes=data.y_train.shape[1],
                          alpha=config.alpha)
        report = analyze(model)
        model.compile(optimizer=_optimizer(config), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        timer = EpochTimer(name, data, config.batch_size, folder.add)
        steps = math.ceil(data.train_samples / config.batch_size)
        bar = [ProgressBar(progress, name, config.epochs, steps)] if progress is not None else []
        fit_start = time.perf_counter()
        model.fit(**fit_inputs(data, config), epochs=config.epochs, verbose=0,
                  callbacks=[timer, *bar, *callbacks])
        fit_end, fit_end_cpu = time.perf_counter(), time.process_time()
    return ModelRun(name, int(model.count_params()), report.macs, report.flops, device,
                    tuple(timer.rows), timer.timing(fit_start, fit_end, fit_end_cpu))


def _optimizer(config: TrainConfig) -> Any:
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    return classes[config.optimizer](learning_rate=config.learning_rate)


def fit_inputs(data: Prepared, config: TrainConfig) -> dict[str, Any]:
    """``fit`` arguments for the training data: a tf.data pipeline or the arrays themselves."""
    if config.pipeline == "arrays":
        return dict(x=data.x_train, y=data.y_train, batch_size=config.batch_size, shuffle=True)
    import tensorflow as tf  # tf.data is the point here

    dataset = tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
    dataset = dataset.shuffle(data.train_samples, seed=config.seed, reshuffle_each_iteration=True)
    # shuffle=False: the dataset shuffles itself (Keras warns when asked to shuffle a Dataset)
    return dict(x=dataset.batch(config.batch_size).prefetch(tf.data.AUTOTUNE), shuffle=False)


# --- result files ----------------------------------------------------------------------------

ROW_FIELDS = [f.name for f in fields(EpochRow)]


@dataclass
class ResultsFolder:
    """The result files of one run; every epoch rewrites epochs.csv and epochs.json atomically.

    Args:
        path: the folder (created).
        meta: settings, machine and data description, stored in every JSON file.
    """

    path: Path
    meta: dict[str, Any]
    rows: list[EpochRow] = field(default_factory=list)
    runs: list[ModelRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConvcostError(f"Cannot create the results folder: {error.strerror}. "
                                f"Received: {str(self.path)!r}.") from None

    def add(self, row: EpochRow) -> None:
        """Record a finished epoch and rewrite epochs.csv and epochs.json."""
        self.rows.append(row)
        write_text(self.path / "epochs.csv", rows_csv(self.rows), make_parents=True)
        self._write_epochs_json()

    def add_run(self, run: ModelRun) -> None:
        """Record a finished model (its fit timing) and rewrite epochs.json."""
        self.runs.append(run)
        self._write_epochs_json()

    def _write_epochs_json(self) -> None:
        self.write_json("epochs.json", {"epochs": [asdict(r) for r in self.rows],
                                        "fits": [fit_dict(run) for run in self.runs]})

    def write_json(self, name: str, payload: dict[str, Any]) -> Path:
        """Write ``payload`` (with the meta data) as ``name``, atomically."""
        target = self.path / name
        write_text(target, json.dumps(self.meta | payload, indent=2) + "\n", make_parents=True)
        return target


def rows_csv(rows: Sequence[EpochRow]) -> str:
    """The epoch rows as CSV, floats at full precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return buffer.getvalue()


def fit_dict(run: ModelRun) -> dict[str, Any]:
    """The fit timing of a run, with its derived gap."""
    return {"model": run.model, "device": run.device, **asdict(run.timing),
            "gap_s": run.timing.gap_s}


def summary_dict(summary: ModelSummary, peak_gflops: float | None = None) -> dict[str, Any]:
    """A summary with its derived numbers (FLOPs exact, rates as floats)."""
    derived = {"train_flops_per_epoch": summary.train_flops_per_epoch,
               "throughput_samples_per_s": summary.throughput,
               "achieved_gflops": summary.achieved_gflops, "flagged": summary.flagged,
               "share_of_peak": summary.achieved_gflops / peak_gflops if peak_gflops else None}
    return asdict(summary) | derived



# --- summary ---------------------------------------------------------------------------------


def run_meta(config: TrainConfig, data: Prepared, machine: dict[str, Any]) -> dict[str, Any]:
    """What every result file carries: settings, data and machine."""
    return {"config": asdict(config) | {"loss": "categorical_crossentropy",
                                        "eval_batch_size": EVAL_BATCH},
            "data": {"source": data.source, "train_samples": data.train_samples,
                     "test_samples": data.test_samples},
            "machine": machine}


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
