"""Turn what a user typed (a zoo name or a model file) into a Keras model, or a clear error."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError
from convcost.files import regular_file
from convcost.models import zoo

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
TFLITE_SUFFIX = ".tflite"


@dataclass(frozen=True)
class ModelSpec:
    """How to obtain a model: a zoo name or a path, and the options for building it."""

    source: str
    input_shape: tuple[int, ...] | None = None
    classes: int | None = None
    alpha: float | None = None
    include_top: bool = True
    unsafe: bool = False
    imports: tuple[str, ...] = ()

    @property
    def is_file(self) -> bool:
        return looks_like_path(self.source)


def looks_like_path(source: str) -> bool:
    """A model suffix or a separator makes a path; then a zoo name wins over a same-named file."""
    if source.lower().endswith((*MODEL_SUFFIXES, TFLITE_SUFFIX)) or os.sep in source:
        return True
    return source.strip().lower().replace("-", "_") not in zoo.ZOO and Path(source).exists()


def is_tflite(source: str) -> bool:
    """Whether ``source`` names a TFLite flatbuffer (``.tflite``), read by convcost.count.tflite."""
    return source.strip().lower().endswith(TFLITE_SUFFIX)


def obtain(spec: ModelSpec) -> Any:
    """Build the zoo model, or load the file, that ``spec`` names (after importing the user's
    code in ``spec.imports``)."""
    import_code(spec.imports)
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


def check_exists(source: str | Path) -> None:
    """A one-line error when the model file ``source`` names does not exist; cheap and free of
    TensorFlow, so commands say "not found" before the slow import."""
    if not Path(source).expanduser().exists():
        what = "TFLite file" if is_tflite(str(source)) else "Model file"
        raise ConvcostError(f"{what} not found. Received: {str(source)!r}.")


def _checked_file(file: Path) -> Path:
    check_exists(file)
    if file.is_dir():
        raise ConvcostError(f"Expected a model file (.keras or .h5), got a directory. "
                            f"Received: {str(file)!r}.")
    if file.suffix.lower() == TFLITE_SUFFIX:
        raise ConvcostError(f"A .tflite file is not a Keras model: 'convcost analyze' reads it; "
                            f"here give the .keras file it came from. Received: {str(file)!r}.")
    if file.suffix.lower() not in MODEL_SUFFIXES:
        raise ConvcostError(f"Unsupported model file type; use .keras or .h5. "
                            f"Received: {str(file)!r}.")
    regular_file(file, what="model file")  # a FIFO would hang, /dev/zero never ends
    if file.suffix.lower() == ".keras" and not zipfile.is_zipfile(file):
        raise ConvcostError(f"Not a .keras archive (a .keras file is a zip; this one is "
                            f"corrupt, truncated or something else). Received: {str(file)!r}, "
                            f"{file.stat().st_size:,} bytes.")
    return file


def import_code(sources: Sequence[str]) -> None:
    """Import the user's modules or ``.py`` files, which may register custom layers (with
    ``@keras.saving.register_keras_serializable``) and cost rules (``register_rule``).

    Only what the user names is imported (the CLI's ``--import``): a module name is found from
    the current folder first, then ``sys.path``; a path to a ``.py`` file is run as a module.
    """
    for source in sources:
        if source in _IMPORTED:
            continue
        try:
            if source.endswith(".py") or os.sep in source:
                _import_file(Path(source))
            else:
                if "" not in sys.path and os.getcwd() not in sys.path:
                    sys.path.insert(0, os.getcwd())
                importlib.import_module(source)
        except (ConvcostError, KeyboardInterrupt):  # Ctrl-C is the user's: exit 130
            raise
        except BaseException as error:  # user code: anything can go wrong, SystemExit too
            reason = " ".join(str(error).split())[:200]
            raise ConvcostError(f"Could not import the user code: {type(error).__name__}: "
                                f"{reason} Received: --import {source!r}.") from None
        _IMPORTED.append(source)


_IMPORTED: list[str] = []  # what import_code imported in this process, in order


def imported_code() -> tuple[str, ...]:
    """The user code imported so far (a child process imports the same before loading)."""
    return tuple(_IMPORTED)


def _import_file(path: Path) -> None:
    if not path.exists():
        raise ConvcostError(f"The file to import does not exist. Received: --import "
                            f"{str(path)!r}.")
    regular_file(path, what="file to import")
    spec = importlib.util.spec_from_file_location(f"convcost_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConvcostError(f"Not a Python file that can be imported. Received: --import "
                            f"{str(path)!r}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)


def _load_error(file: Path, error: Exception) -> ConvcostError:
    text = " ".join(str(error).split())
    missing = re.search(r"Could not locate class '([^']+)'", text)
    if missing:
        module = re.search(r"Full object config: \{'module': '([^']+)'", text)
        where = f" (module {module.group(1)!r})" if module else ""
        return ConvcostError(
            f"The model uses a class convcost cannot find: {missing.group(1)!r}{where}; pass "
            f"--import MODULE_OR_FILE with the code that defines it (and registers it with "
            f"keras.saving.register_keras_serializable). Received: {str(file)!r}.")
    if "safe_mode" in text or "unsafe" in text.lower():
        return ConvcostError(
            "The model file contains Python code (e.g. a Lambda layer), which safe mode refuses "
            f"to load; pass --unsafe only if you trust the file. Received: {str(file)!r}.")
    reason = text[:200] + ("..." if len(text) > 200 else "")
    return ConvcostError(f"Could not load the model file (corrupt, truncated or not a Keras "
                         f"model): {type(error).__name__}: {reason} Received: {str(file)!r}.")
