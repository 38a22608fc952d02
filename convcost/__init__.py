"""convcost: what does this network cost, and why is it (not) fast?

The public API: :func:`analyze` (a :class:`Report` of every layer call), :func:`shape_only`
(build models without allocating weights), :func:`analyze_symbolic` (whole-model formulas),
:func:`register_rule` (cost rules for your own layers), the report data types, ``CostCallback``
(a Keras callback that logs training FLOPs, GFLOP/s and MFU per epoch; loaded on first use), and
the sub-packages, reached as attributes (``convcost.render.render(report, "json")``):
:mod:`~convcost.count`, :mod:`~convcost.theory`, :mod:`~convcost.models`,
:mod:`~convcost.analysis`, :mod:`~convcost.measure`, :mod:`~convcost.render`. Importing the
package is cheap: TensorFlow/Keras load only when a model is analysed or built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from convcost.count.formulas import Cost
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError
from convcost.quiet import import_keras

if TYPE_CHECKING:
    from convcost.count.rules import Call
    from convcost.measure.callback import CostCallback
    from convcost.theory.model import ModelFormula

__version__ = "0.2.0"

__all__ = [
    "ConvcostError",
    "Cost",
    "CostCallback",
    "LayerCost",
    "Piece",
    "Report",
    "__version__",
    "analyze",
    "analyze_symbolic",
    "predict",
    "register_rule",
    "shape_only",
    "summary",
]

_SUBPACKAGES = ("analysis", "cli", "count", "measure", "models", "render", "theory")


def analyze(model: Any, *, input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
            seq_len: int | None = None, name: str | None = None, attention: str = "executed",
            moe: str = "routed") -> Report:
    """Params, MACs and other FLOPs of every layer call of a Keras model, per sample.

    ``model`` is a Keras model, a zoo name (``"v1"``, ``"llama2_7b"``; built shape-only, and a
    text model at its context length unless ``seq_len`` says otherwise) or a model file.
    ``input_shape`` is one sample's shape, or ``{input name: shape}`` for a model with several
    inputs; ``seq_len`` sets every token input. ``attention``: ``"executed"`` or
    ``"causal"``; ``moe``: ``"routed"`` or ``"executed"``. See
    :func:`convcost.count.walker.analyze`.
    """
    import_keras()
    from convcost.count.walker import analyze as walk
    from convcost.models import loader

    if isinstance(model, str):
        resolved = loader.resolve(model, input_shape=input_shape, seq_len=seq_len)
        report = loader.count(resolved, attention=attention, moe=moe)
        return report if name is None else _renamed(report, name)
    if not _is_keras_model(model):
        raise ConvcostError(f"analyze() takes a Keras model, a zoo name or a model file. "
                            f"Received: {type(model).__name__}.")
    return walk(model, input_shape=input_shape, seq_len=seq_len, name=name,
                attention=attention, moe=moe)


def _renamed(report: Report, name: str) -> Report:
    import dataclasses

    return dataclasses.replace(report, model=name)


def predict(models: Any, *, runtime: str = "litert", threads: int = 1, batch_size: int = 1,
            profile: str | None = None, check: bool = False) -> dict[str, Any]:
    """Predicted latency of one model or several (Keras models, zoo names or files) on this
    machine, per row and in total, from the predictors ``convcost calibrate`` saved: the data
    of ``convcost predict --format json`` (``models[i]["predicted_ms"]``, per-row
    ``predicted_ms``, speed-ups over the first model). ``check`` also measures each model with
    the ``bench --runtime`` harness. A missing profile is a one-line ConvcostError naming the
    ``convcost calibrate`` line to run.
    """
    import_keras()
    from convcost.count.walker import analyze as walk
    from convcost.measure.predicting import load_profile, predict_document

    chosen = load_profile(runtime, threads, batch_size, profile)
    built = [_model_to_predict(model, check) if isinstance(model, str) else model
             for model in (models if isinstance(models, list | tuple) else [models])]
    return predict_document(built, [walk(m) for m in built], chosen, check=check,
                            profile_label=str(profile or "saved"))


def _model_to_predict(source: str, run: bool) -> Any:
    """A zoo model or a model file: shape-only to predict, with weights (once it is known
    to fit in memory) to measure."""
    from convcost.models import loader

    if not run:
        return loader.resolve(source).model
    from convcost.measure.fits import resolve_fitting

    return resolve_fitting(loader.request(source), purpose="predict --check").model


def _is_keras_model(model: Any) -> bool:
    import keras

    return isinstance(model, keras.Model)


def summary(model: Any, line_length: int | None = None,
            positions: Sequence[float] | None = None, print_fn: Callable[..., Any] | None = None,
            expand_nested: bool = False, show_trainable: bool = False,
            layer_range: Sequence[str] | None = None, *,
            input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
            seq_len: int | None = None) -> None:
    """Print ``model.summary()`` with MACs and FLOPs columns, their totals and the params check.

    The arguments before ``*`` are those of Keras' ``model.summary()`` and do the same:
    ``line_length`` and ``positions`` lay out Keras' columns (the two added ones come after
    "Param #"), ``print_fn`` receives the whole summary as one string (default: printed to
    stdout, in colour on a terminal), ``expand_nested`` lists the layers of nested models,
    ``show_trainable`` adds the "Trainable" column, ``layer_range`` (two names or regexes)
    selects the layers shown. ``input_shape`` and ``seq_len`` are :func:`analyze`'s: the
    MACs are per sample at that input.

    Example::

        convcost.summary(model)                     # instead of model.summary()
    """
    import shutil
    import sys

    from convcost.analysis.summary import summary_data
    from convcost.render.summary import SummaryOptions, render

    if not _is_keras_model(model):
        raise ConvcostError(f"summary() takes a Keras model. Received: {type(model).__name__}.")
    report = analyze(model, input_shape=input_shape, seq_len=seq_len)
    data = summary_data(model, report, expand_nested=expand_nested,
                        show_trainable=show_trainable, layer_range=layer_range)
    options = SummaryOptions(line_length=line_length,
                             positions=tuple(positions) if positions else None,
                             terminal_columns=shutil.get_terminal_size().columns)
    if print_fn is not None:
        print_fn(render(data, "table", options))
        return
    sys.stdout.write(render(data, "ansi" if sys.stdout.isatty() else "table", options))


def shape_only() -> AbstractContextManager[None]:
    """A context manager: Keras models built inside it allocate no weights (shapes only), so
    :func:`analyze` can count a model of any size. See :mod:`convcost.count.scope`.

    Example::

        with convcost.shape_only():
            model = keras_hub.models.LlamaBackbone(**config)   # 70B: ~1 s, < 1 GB
        report = convcost.analyze(model, seq_len=4096)
    """
    import_keras()
    from convcost.count.scope import shape_only as scope

    return scope()


def analyze_symbolic(model: Any, *, input_shape: Sequence[int] | None = None,
                     name: str | None = None) -> ModelFormula:
    """Params, MACs and FLOPs of the whole model and of each layer call as exact polynomials
    of the free input sizes (``H, W`` for images, ``L`` for token ids), proven at held-back
    sizes; see :func:`convcost.theory.model.derive`.

    Args:
        model: a Keras model with one input, or with token inputs only (keras-hub's ids and
            padding mask, all set to ``L``), re-shaped through :func:`analyze` at each size; or
            a zoo name such as ``"mobilenet_v2"`` (rebuilt at each size to prove it) or
            ``"gpt2"`` (a text model, over its sequence length).
        input_shape: the analysed size of one sample, e.g. ``(224, 224, 3)`` or ``(128,)``.
        name: the model's name in the result (Keras models only).
    """
    import_keras()
    from convcost.analysis import scaling
    from convcost.theory.model import derive

    if isinstance(model, str):
        family = scaling.family(_symbolic_request(model, input_shape))
    else:
        family = scaling.model_family(model, input_shape_=input_shape, name=name)
    return derive(family.sample, family.names, check=family.check, model=family.report.model,
                  base=family.report, maximum=family.maximum)


def _symbolic_request(source: str, input_shape: Sequence[int] | None) -> Any:
    """A zoo text model's one size is its sequence length; any other size is a shape."""
    from convcost import checks
    from convcost.models import loader, zoo

    shape = tuple(input_shape) if input_shape is not None else None
    if (shape is not None and len(shape) == 1 and not loader.looks_like_path(source)
            and zoo.entry(source).seq_len):
        return loader.request(source, seq_len=checks.count("seq_len", shape[0]))
    return loader.request(source, input_shape=shape)


def register_rule(*layer_classes: type) -> Callable[[Callable[[Any, Call], tuple[Piece, ...]]],
                                                     Callable[[Any, Call], tuple[Piece, ...]]]:
    """Register a cost rule for your own layer classes (a decorator); see
    :func:`convcost.count.rules.register_rule`."""
    from convcost.count.rules import register_rule as register

    return register(*layer_classes)


def __getattr__(name: str) -> Any:
    """Import a sub-package on first use, so ``import convcost`` stays light."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"convcost.{name}")
    if name == "CostCallback":  # a keras.callbacks.Callback: imports Keras on first use
        return importlib.import_module("convcost.measure.callback").CostCallback
    raise AttributeError(f"module 'convcost' has no attribute {name!r}")
