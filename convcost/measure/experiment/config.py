"""Training settings shared by every model of a run, and the article's preset."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from convcost import checks
from convcost.errors import ConvcostError
from convcost.measure.machine import check_threads

OPTIMIZERS = ("adam", "rmsprop", "sgd")
PIPELINES = ("arrays", "tfdata")
DEVICES = ("auto", "cpu", "gpu")
DISTRIBUTIONS = ("none", "mirrored")
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
        distribute: ``"none"`` or ``"mirrored"`` (``tf.distribute.MirroredStrategy`` over every
            visible GPU, else every logical CPU device; ``batch_size`` is the global batch).
        cpu_devices: split the CPU into this many logical devices first (``None``: as is).
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
    distribute: str = "none"
    cpu_devices: int | None = None


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
    for name in ("epochs", "batch_size", "cpu_devices"):
        value = getattr(config, name)
        if value is not None:
            checks.count(name, value, shown=f"{name}={value}")
    if config.cpu_devices is not None:
        check_threads("cpu_devices", config.cpu_devices, shown=f"cpu_devices={config.cpu_devices}")
    checks.positive("learning_rate", config.learning_rate,
                    shown=f"learning_rate={config.learning_rate}")
    if config.alpha is not None:
        checks.positive("alpha", config.alpha, shown=f"alpha={config.alpha}")
    for name, choices in (("optimizer", OPTIMIZERS), ("pipeline", PIPELINES),
                          ("device", DEVICES), ("distribute", DISTRIBUTIONS)):
        if getattr(config, name) not in choices:
            raise ConvcostError(f"{name} must be one of {', '.join(choices)}. "
                                f"Received: {name}={getattr(config, name)!r}.")


