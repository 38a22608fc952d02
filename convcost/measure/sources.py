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
from convcost.models import loader, zoo
from convcost.models.loader import looks_like_path

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
    """The zoo model ``name`` (built with the options, weights and all) or the model file
    ``name`` (loaded), through :func:`convcost.models.loader.resolve`.

    With ``purpose`` (``"bench"``, ``"train"``), the run it is for (``batch`` samples, a
    training step if ``training``) is first checked to fit in memory
    (:func:`convcost.measure.fits.resolve_fitting`). A file is taken as saved: its input shape
    and classes are checked by the caller (:func:`check_mnist`), not rebuilt."""
    is_file = looks_like_path(name)
    asked = loader.request(name, alpha=alpha, input_shape=None if is_file else input_shape,
                           classes=None if is_file else classes)
    if purpose is None:
        return loader.resolve(asked, run=True).model
    from convcost.measure.fits import resolve_fitting

    return resolve_fitting(asked, purpose=purpose, batch=batch, training=training).model


def check_before_training(names: Sequence[str], *, alpha: float | None, batch: int) -> None:
    """Before anything trains, with one shape-only build of each model: a model file takes
    MNIST (:func:`check_mnist`), and each model's training step at ``batch`` fits in memory (a
    zoo model built at MNIST's shape; a ``.keras`` file from its architecture, before its
    weights are read)."""
    from convcost.measure.fits import check_fits, check_request

    for name in names:
        if not looks_like_path(name):
            asked = loader.request(name, input_shape=MNIST_INPUT, classes=MNIST_CLASSES,
                                   alpha=alpha)
            check_request(asked, purpose="train", batch=batch, training=True)
            continue
        resolved = loader.resolve(name)  # shapes only: nothing allocated
        check_mnist(resolved.model, name)
        check_fits(loader.count(resolved), purpose="train", batch=batch, training=True)


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


def _shapes(shapes: list[tuple]) -> str:
    return ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in shapes) or "none"
