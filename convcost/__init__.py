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
    from convcost.count.walker import analyze as walk

    if isinstance(model, str):
        model, seq_len = _obtain(model, seq_len)
    elif not _is_keras_model(model):
        raise ConvcostError(f"analyze() takes a Keras model, a zoo name or a model file. "
                            f"Received: {type(model).__name__}.")
    return walk(model, input_shape=input_shape, seq_len=seq_len, name=name,
                attention=attention, moe=moe)


def _obtain(source: str, seq_len: int | None) -> tuple[Any, int | None]:
    """A zoo model (shape-only) or a model file, and the sequence length to analyse it at."""
    import contextlib

    from convcost.count.scope import shape_only as scope
    from convcost.models import loader, zoo

    spec = loader.ModelSpec(source)
    with contextlib.nullcontext() if spec.is_file else scope():
        model = loader.obtain(spec)
    if not spec.is_file and seq_len is None:
        seq_len = zoo.entry(source).seq_len or None
    return model, seq_len


def predict(models: Any, *, runtime: str = "litert", threads: int = 1, batch_size: int = 1,
            profile: str | None = None, check: bool = False) -> dict[str, Any]:
    """Predicted latency of one model or several (Keras models, zoo names or files) on this
    machine, per row and in total, from the predictors ``convcost calibrate`` saved: the data
    of ``convcost predict --format json`` (``models[i]["predicted_ms"]``, per-row
    ``predicted_ms``, speed-ups over the first model). ``check`` also measures each model with
    the ``bench --runtime`` harness. A missing profile is a one-line ConvcostError naming the
    ``convcost calibrate`` line to run.
    """
    from convcost.count.walker import analyze as walk
    from convcost.measure.predicting import load_profile, predict_document

    chosen = load_profile(runtime, threads, batch_size, profile)
    built = []
    for model in models if isinstance(models, list | tuple) else [models]:
        if isinstance(model, str):
            model = _obtain(model, None)[0] if not check else _built(model)
        built.append(model)
    return predict_document(built, [walk(m) for m in built], chosen, check=check,
                            profile_label=str(profile or "saved"))


def _built(source: str) -> Any:
    """A zoo model with weights (to be run), or a model file."""
    from convcost.models import loader

    return loader.obtain(loader.ModelSpec(source))


def _is_keras_model(model: Any) -> bool:
    import keras

    return isinstance(model, keras.Model)


def shape_only() -> AbstractContextManager[None]:
    """A context manager: Keras models built inside it allocate no weights (shapes only), so
    :func:`analyze` can count a model of any size. See :mod:`convcost.count.scope`.

    Example::

        with convcost.shape_only():
            model = keras_hub.models.LlamaBackbone(**config)   # 70B: ~1 s, < 1 GB
        report = convcost.analyze(model, seq_len=4096)
    """
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
    from convcost.analysis import scaling
    from convcost.models import zoo
    from convcost.theory.model import derive

    if isinstance(model, str) and zoo.entry(model).seq_len:
        family = scaling.text_family(model, seq_len=input_shape[0] if input_shape else None)
    elif isinstance(model, str):
        family = scaling.zoo_family(model, input_shape_=tuple(input_shape) if input_shape
                                    else None)
    else:
        family = scaling.model_family(model, input_shape_=input_shape, name=name)
    return derive(family.sample, family.names, check=family.check, model=family.report.model,
                  base=family.report, maximum=family.maximum)


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
