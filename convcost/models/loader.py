"""The one way in for a model: what a user typed (a zoo name or a model file, with its options)
becomes a Keras model, or a one-line error.

:func:`request` checks the options and says how to obtain the model, without importing
TensorFlow (so a bad option fails in milliseconds); :func:`resolve` obtains it (shape-only
unless the model will run, behind an optional memory guard) as a :class:`Resolved`;
:func:`count` walks it at the requested shapes. The CLI's commands, the Python API, the
measuring commands and the formulas all come through here.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.errors import ConvcostError, one_line
from convcost.files import regular_file
from convcost.models import zoo

if TYPE_CHECKING:
    from convcost.count.report import Report

Shapes = tuple[int, ...] | dict[str, tuple[int, ...]]

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


@dataclass(frozen=True)
class Request:
    """A model asked for, its options checked: how to build it (``spec``) and the input
    shape(s) and sequence length to count it at (a zoo image model is rebuilt at its shape
    instead, so ``shapes`` is then ``None``)."""

    spec: ModelSpec
    shapes: Shapes | None = None
    seq_len: int | None = None
    text_default: bool = False  # seq_len is the zoo text model's own context length

    @property
    def is_file(self) -> bool:
        return self.spec.is_file

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def file_shape(self) -> tuple[int, ...] | None:
        """The one re-shaping ``--input-shape`` of a model file, if given."""
        return self.shapes if isinstance(self.shapes, tuple) else None


@dataclass(frozen=True)
class Resolved:
    """A model obtained, and what to count it at: ``count(resolved)`` walks it."""

    model: Any
    input_shape: Shapes | None
    seq_len: int | None
    notes: tuple[str, ...]
    request: Request

    @property
    def past_positions(self) -> bool:
        """Asked for more tokens than the model's learned positions."""
        longest = max_positions(self.model)
        return self.seq_len is not None and longest is not None and self.seq_len > longest


def request(source: str, *, input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None
            = None, seq_len: int | None = None, classes: int | None = None,
            alpha: float | None = None, include_top: bool = True, unsafe: bool = False,
            imports: Sequence[str] = ()) -> Request:
    """Check the options for ``source`` (a zoo name or a model file) and say how to obtain it.

    Imports no TensorFlow. Options that do not apply (``alpha`` for a file, ``seq_len`` for
    an image model, one shape for a model of several token inputs) are refused in one line.
    """
    from convcost import checks

    if seq_len is not None:
        checks.count("--seq-len", seq_len, shown=f"--seq-len {seq_len}")
    shapes = _shapes(input_shape)
    code = tuple(imports)
    if looks_like_path(source):
        check_exists(source)  # "not found" before TensorFlow loads
        _check_file_options(source, classes, alpha, include_top)
        return Request(ModelSpec(source, None, None, None, True, unsafe, code), shapes, seq_len)
    entry = zoo.entry(source)  # unknown names fail here, with close-name hints
    spec = ModelSpec(source, None, classes, alpha, include_top, unsafe, code)
    if entry.seq_len:
        return _text_request(entry, spec, shapes, seq_len)
    if seq_len is not None:
        raise ConvcostError(f"--seq-len applies to text models; {source!r} takes an image "
                            f"(--input-shape H,W,C). Received: --seq-len {seq_len}.")
    if isinstance(shapes, dict):
        return Request(spec, shapes)
    if shapes is not None and len(shapes) != 3:
        raise ConvcostError(f"--input-shape must have 3 sizes (H,W,C). Received: "
                            f"{','.join(map(str, shapes))!r}.")
    return Request(replace(spec, input_shape=shapes))


def resolve(source: str | Request, *, run: bool = False,
            guard: Callable[[Report], None] | None = None, **options: Any) -> Resolved:
    """Obtain the model ``source`` names (a :class:`Request`, or a name/path and the options
    of :func:`request`), after importing the user's code it asks for.

    Args:
        source: what to obtain.
        run: the model will run on data: build its weights (a zoo model is otherwise built
            shape-only: counting needs shapes, never values).
        guard: called with the model's counts before anything is allocated (a zoo model or a
            ``.keras`` file is counted from a shape-only build first, an ``.h5`` file after
            loading); it raises to refuse the run.

    A ``.keras`` file that will not run is rebuilt from its architecture, shape-only: its
    weights are never read, so a small file that declares billions of weights answers in
    seconds.
    """
    from convcost.count.scope import shape_only

    asked = source if isinstance(source, Request) else request(source, **options)
    import_code(asked.spec.imports)
    shapes_suffice = _rebuildable(asked.spec)
    if guard is not None and shapes_suffice:
        with shape_only():
            guard(count(_resolved(_build(asked.spec, weights=False), asked)))
    if run or not shapes_suffice:
        model = _build(asked.spec)
    else:
        with shape_only():
            model = _build(asked.spec, weights=False)
    resolved = _resolved(model, asked)
    if guard is not None and not shapes_suffice:  # an .h5 file: load, then count
        guard(count(resolved))
    return resolved


def count(resolved: Resolved, *, attention: str = "executed", moe: str = "routed") -> Report:
    """The walker's :class:`~convcost.count.report.Report` of ``resolved`` at its shapes, with
    the notes of how it was obtained first."""
    from convcost.count.walker import analyze

    report = analyze(resolved.model, input_shape=resolved.input_shape,
                     seq_len=resolved.seq_len, attention=attention, moe=moe)
    if not resolved.notes:
        return report
    return replace(report, notes=(*resolved.notes, *report.notes))


def _resolved(model: Any, asked: Request) -> Resolved:
    resolved = Resolved(model, asked.shapes, asked.seq_len, (), asked)
    notes = []
    if asked.text_default:
        notes.append(f"Sequence length {asked.seq_len}: the context length of {asked.source!r} "
                     f"(--seq-len L for another).")
    if resolved.past_positions:
        notes.append(f"{asked.source!r} has {max_positions(model):,} learned positions; at "
                     f"{asked.seq_len:,} tokens it would fail to run: counted as if its "
                     f"position table were longer (--strict refuses).")
    return replace(resolved, notes=tuple(notes))


def max_positions(model: Any) -> int | None:
    """The longest sequence a model with learned positions takes (its backbone's
    ``max_sequence_length``), or None (rotary positions, or not a text model: any length)."""
    for candidate in (model, getattr(model, "backbone", None)):
        longest = getattr(candidate, "max_sequence_length", None) if candidate else None
        if isinstance(longest, int) and longest > 0:
            return longest
    return None


def _shapes(given: Sequence[int] | Mapping[str, Sequence[int]] | None) -> Shapes | None:
    """The requested shape(s), checked as :func:`convcost.analyze` checks them."""
    from convcost.count.shapes import requested_shapes

    return requested_shapes(given)


def _check_file_options(source: str, classes: int | None, alpha: float | None,
                        include_top: bool) -> None:
    for option, value in (("--alpha", alpha), ("--classes", classes)):
        if value is not None:
            raise ConvcostError(f"{option} applies to zoo models only, not to a model file. "
                                f"Received: {option} {value} with {source!r}.")
    if not include_top:
        raise ConvcostError(f"--no-top applies to zoo models only. Received: {source!r}.")


def _text_request(entry: Any, spec: ModelSpec, shapes: Shapes | None,
                  seq_len: int | None) -> Request:
    """A zoo text model: the shapes and sequence length go to the count, not the build."""
    if isinstance(shapes, tuple):
        raise ConvcostError(f"{entry.name!r} is a text model with several token inputs; give "
                            f"--seq-len L, or --input-shape NAME=SHAPE per input. Received: "
                            f"--input-shape {','.join(str(d) for d in shapes)}.")
    return Request(spec, shapes, seq_len or entry.seq_len, text_default=seq_len is None)


def _rebuildable(spec: ModelSpec) -> bool:
    """Whether the model can be built without its weights: a zoo model, or a ``.keras`` file
    (its architecture is a JSON config; an ``.h5`` file is loaded whole)."""
    return not spec.is_file or spec.source.lower().endswith(".keras")


def _build(spec: ModelSpec, *, weights: bool = True) -> Any:
    """Build the zoo model, or load the file, that ``spec`` names; a ``.keras`` file without
    ``weights`` is rebuilt from its architecture alone (inside a shape-only scope, nothing
    is allocated, whatever size its config declares)."""
    if not spec.is_file:
        return zoo.build(spec.source, input_shape=spec.input_shape, classes=spec.classes,
                         alpha=spec.alpha, include_top=spec.include_top)
    if weights or not _rebuildable(spec):
        return load_model(spec.source, safe_mode=not spec.unsafe)
    return load_architecture(spec.source, safe_mode=not spec.unsafe)


def load_architecture(path: str | Path, *, safe_mode: bool = True) -> Any:
    """The model a ``.keras`` file describes, built from its ``config.json`` without reading
    its weights (what counting needs); failures are one-line ConvcostErrors as in
    :func:`load_model`."""
    import json

    file = _checked_file(Path(path))
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise _load_error(file, error) from None
    import keras

    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=safe_mode)
    except Exception as error:  # Keras raises many types for bad configs
        raise _load_error(file, error) from None
    return _keras_model(model, file)


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
    return _keras_model(model, file)


def _keras_model(model: Any, file: Path) -> Any:
    import keras

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
            reason = one_line(error, 200)
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
