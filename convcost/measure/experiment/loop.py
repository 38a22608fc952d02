"""The training loop: build each model (zoo name or file), compile, fit with the timing
callbacks; under ``MirroredStrategy`` when the config says so."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras

from convcost.errors import ConvcostError
from convcost.measure.data import Prepared
from convcost.measure.experiment.calibrated import StepProfile, step_profile
from convcost.measure.experiment.callbacks import EpochTimer
from convcost.measure.experiment.config import TrainConfig
from convcost.measure.experiment.records import ModelRun
from convcost.measure.experiment.results import ResultsFolder
from convcost.measure.sources import build, check_names, label


def resolve_device(choice: str) -> str:
    """``"gpu:0"`` or ``"cpu:0"`` for auto/gpu/cpu; ``gpu`` without a GPU is an error."""
    from convcost.measure.machine import gpu_names

    gpus = gpu_names()
    if choice == "gpu" and not gpus:
        raise ConvcostError(f"--device gpu was asked for, but the {keras.backend.backend()} "
                            f"backend sees no GPU. Received: devices "
                            f"{keras.distribution.list_devices()}.")
    if choice in ("gpu", "auto") and gpus:
        return "gpu:0"
    return "cpu:0"


ProgressFactory = Callable[[str, int, int], Any]
"""Makes a progress callback for one model: ``factory(name, epochs, steps_per_epoch)``."""


def run_experiment(models: Sequence[str], data: Prepared, config: TrainConfig,
                   folder: ResultsFolder, *, progress: ProgressFactory | None = None,
                   callbacks: Sequence[Any] = ()) -> list[ModelRun]:
    """Train every model in turn with ``config``; result files are rewritten after each epoch.

    Args:
        models: zoo names or model files, e.g. ``["naive", "v1", "v2"]``; the first is the
            baseline.
        data: prepared MNIST arrays.
        config: the shared settings.
        folder: where epochs.csv / epochs.json go (rewritten atomically after every epoch).
        progress: makes a Keras callback that shows progress for one model, or ``None``.
        callbacks: extra Keras callbacks, run after the timer.
    """
    check_names(models)  # unknown names fail before any training
    device = resolve_device(config.device)
    calibrated = step_profile(config, device)
    folder.meta["step_profile"] = {"used": calibrated.profile is not None,
                                   "source": calibrated.why}
    for name in models:
        folder.add_run(train_model(name, data, config, device, folder, progress, callbacks,
                                   calibrated))
    return list(folder.runs)


def train_model(name: str, data: Prepared, config: TrainConfig, device: str,
                folder: ResultsFolder, progress: ProgressFactory | None,
                callbacks: Sequence[Any], calibrated: StepProfile | None = None) -> ModelRun:
    """Build, compile, fit and time one model; see :func:`run_experiment`."""
    from convcost.analysis.training import training_cost
    from convcost.count.walker import analyze

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    strategy = _strategy(config)
    shown = label(name)
    with strategy.scope() if strategy is not None else keras.device(device):
        model = build(name, input_shape=data.x_train.shape[1:], classes=data.y_train.shape[1],
                      alpha=config.alpha)
        report = analyze(model)
        predicted_step = calibrated.step_seconds(report) if calibrated is not None else None
        model.compile(optimizer=_optimizer(config), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        timer = EpochTimer(shown, data, config.batch_size, folder.add)
        steps = math.ceil(data.train_samples / config.batch_size)
        bar = [progress(shown, config.epochs, steps)] if progress is not None else []
        fit_start = time.perf_counter()
        model.fit(**fit_inputs(data, config), epochs=config.epochs, verbose=0,
                  callbacks=[timer, *bar, *callbacks])
        fit_end, fit_end_cpu = time.perf_counter(), time.process_time()
    folder.save_model(shown, model)
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    return ModelRun(shown, int(model.count_params()), report.macs, report.flops,
                    "mirrored" if strategy is not None else device, tuple(timer.rows),
                    timer.timing(fit_start, fit_end, fit_end_cpu),
                    training_flops=training_cost(report).flops,
                    trainable_params=sum(math.prod(s) for s in shapes),
                    trainable_tensors=len(shapes),
                    distribution=_measure_distribution(strategy, shapes),
                    predicted_step_s=predicted_step)


def _strategy(config: TrainConfig) -> Any:
    if config.distribute == "none":
        return None
    from convcost.measure.distribute import mirrored

    return mirrored()


def _measure_distribution(strategy: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any] | None:
    """What the strategy is, one measured gradient all-reduce, the memory-copy bandwidth."""
    if strategy is None:
        return None
    from convcost.measure.distribute import allreduce_seconds, copy_bandwidth, describe

    return describe(strategy) | {"measured_allreduce_s": allreduce_seconds(strategy, shapes),
                                 "copy_bandwidth": copy_bandwidth()}


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


