"""What ``train`` and ``bench`` accept as a model: a zoo name or a ``.keras``/``.h5`` file.

A file is loaded with :func:`convcost.models.loader.load_model` (safe mode, not compiled) and
trained from its saved weights; a zoo model is built fresh. For MNIST training a model must
take 28 x 28 x 1 images and give 10 classes: anything else is refused, in one line, before
any training starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError
from convcost.models import zoo
from convcost.models.loader import ModelSpec, looks_like_path, obtain

MNIST_INPUT = (28, 28, 1)
MNIST_CLASSES = 10


def check_names(names: Sequence[str]) -> None:
    """Fail on an unknown zoo name or a missing/wrong model file (no TensorFlow needed)."""
    for name in names:
        if not looks_like_path(name):
            zoo.entry(name)
            continue
        path = Path(name)
        if not path.is_file():
            raise ConvcostError(f"Model file not found. Received: {name!r}.")


def label(name: str) -> str:
    """How results name a model: the zoo name, or a file's name without its folder."""
    return Path(name).name if looks_like_path(name) else name


def build(name: str, *, alpha: float | None = None,
          input_shape: Sequence[int] | None = None, classes: int | None = None,
          purpose: str | None = None, batch: int = 1, training: bool = False) -> Any:
    """The zoo model ``name`` (built with the options) or the model file ``name`` (loaded).

    With ``purpose`` (``"bench"``, ``"train"``), the run it is for (``batch`` samples, a
    training step if ``training``) is first checked to fit in memory
    (:func:`convcost.measure.fits.obtain_fitting`)."""
    if looks_like_path(name):
        if alpha is not None:
            raise ConvcostError(f"--alpha applies to zoo models only, not to a model file. "
                                f"Received: --alpha {alpha} with {name!r}.")
        spec = ModelSpec(name)
    else:
        shape = tuple(int(d) for d in input_shape) if input_shape is not None else None
        spec = ModelSpec(name, shape, classes, alpha)
    if purpose is None:
        return obtain(spec)
    from convcost.measure.fits import obtain_fitting

    return obtain_fitting(spec, purpose=purpose, batch=batch, training=training)


def check_fits_for_training(names: Sequence[str], *, alpha: float | None, batch: int) -> None:
    """Check, before anything trains, that each zoo model's training step fits in memory at
    ``batch`` (built shape-only at MNIST's shape; files are checked by :func:`build`)."""
    from convcost.measure.fits import check_spec

    for name in names:
        if not looks_like_path(name):
            check_spec(ModelSpec(name, MNIST_INPUT, MNIST_CLASSES, alpha), purpose="train",
                       batch=batch, training=True)


def check_mnist(model: Any, name: str) -> None:
    """Refuse a model that does not take 28x28x1 images or does not give 10 classes."""
    inputs = [tuple(int(d) if d is not None else None for d in x.shape[1:])
              for x in model.inputs]
    outputs = [tuple(x.shape[1:]) for x in model.outputs]
    if inputs != [MNIST_INPUT] or outputs != [(MNIST_CLASSES,)]:
        raise ConvcostError(
            f"A model trained on MNIST must take one 28x28x1 input and give 10 classes. "
            f"Received: {label(name)!r} with inputs {_shapes(inputs)} and outputs "
            f"{_shapes(outputs)}.")


def check_files_for_mnist(names: Sequence[str]) -> None:
    """Load every model file among ``names`` and check it fits MNIST (before training)."""
    for name in names:
        if looks_like_path(name):
            check_mnist(build(name), name)


def _shapes(shapes: list[tuple]) -> str:
    return ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in shapes) or "none"
