"""Turn what a user typed (a zoo name or a model file) into a Keras model, or a clear error."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError
from convcost.models import zoo

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class ModelSpec:
    """How to obtain a model: a zoo name or a path, and the options for building it."""

    source: str
    input_shape: tuple[int, ...] | None = None
    classes: int | None = None
    alpha: float | None = None
    include_top: bool = True
    unsafe: bool = False

    @property
    def is_file(self) -> bool:
        return looks_like_path(self.source)


def looks_like_path(source: str) -> bool:
    """A model suffix or a separator makes a path; then a zoo name wins over a same-named file."""
    if source.lower().endswith(MODEL_SUFFIXES) or os.sep in source:
        return True
    return source.strip().lower().replace("-", "_") not in zoo.ZOO and Path(source).exists()


def obtain(spec: ModelSpec) -> Any:
    """Build the zoo model, or load the file, that ``spec`` names."""
    if not spec.is_file:
        return zoo.build(spec.source, input_shape=spec.input_shape, classes=spec.classes,
                         alpha=spec.alpha, include_top=spec.include_top)
    for option, value in (("--alpha", spec.alpha), ("--classes", spec.classes)):
        if value is not None:
            raise ConvcostError(f"{option} applies to zoo models only, not to a model file. "
                                f"Received: {option} {value} with {spec.source!r}.")
    if not spec.include_top:
        raise ConvcostError(f"--no-top applies to zoo models only. Received: {spec.source!r}.")
    return load_model(spec.source, safe_mode=not spec.unsafe)


def load_model(path: str | Path, *, safe_mode: bool = True) -> Any:
    """Load a ``.keras`` or ``.h5`` model; every failure becomes a one-line ConvcostError.

    ``safe_mode`` (the default) refuses files that carry Python code (Lambda layers).
    """
    file = _checked_file(Path(path))
    import keras

    try:
        model = keras.saving.load_model(file, compile=False, safe_mode=safe_mode)
    except Exception as error:  # Keras raises many types for bad files
        raise _load_error(file, error) from None
    if not isinstance(model, keras.Model):
        raise ConvcostError(f"The file holds no Keras model. Received: {type(model).__name__} "
                            f"from {str(file)!r}.")
    return model


def _checked_file(file: Path) -> Path:
    if not file.exists():
        raise ConvcostError(f"Model file not found. Received: {str(file)!r}.")
    if file.is_dir():
        raise ConvcostError(f"Expected a model file (.keras or .h5), got a directory. "
                            f"Received: {str(file)!r}.")
    if file.suffix.lower() not in MODEL_SUFFIXES:
        raise ConvcostError(f"Unsupported model file type; use .keras or .h5. "
                            f"Received: {str(file)!r}.")
    return file


def _load_error(file: Path, error: Exception) -> ConvcostError:
    text = " ".join(str(error).split())
    if "safe_mode" in text or "unsafe" in text.lower():
        return ConvcostError(
            "The model file contains Python code (e.g. a Lambda layer), which safe mode refuses "
            f"to load; pass --unsafe only if you trust the file. Received: {str(file)!r}.")
    reason = text[:200] + ("..." if len(text) > 200 else "")
    return ConvcostError(f"Could not load the model file (corrupt, truncated or not a Keras "
                         f"model): {type(error).__name__}: {reason} Received: {str(file)!r}.")
