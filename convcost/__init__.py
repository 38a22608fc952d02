"""convcost: what does this network cost, and why is it (not) fast?

The public API: :func:`analyze` (a :class:`Report` of every layer call), :func:`register_rule`
(cost rules for your own layers), the report data types, and the sub-packages, reached as
attributes (``convcost.render.render(report, "json")``): :mod:`~convcost.count`,
:mod:`~convcost.theory`, :mod:`~convcost.models`, :mod:`~convcost.analysis`,
:mod:`~convcost.measure`, :mod:`~convcost.render`. Importing the package is cheap:
TensorFlow/Keras load only when a model is analysed or built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from convcost.count.formulas import Cost
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError

if TYPE_CHECKING:
    from convcost.count.rules import Call
    from convcost.theory.model import ModelFormula

__version__ = "0.1.0"

__all__ = ["ConvcostError", "Cost", "LayerCost", "Piece", "Report", "__version__", "analyze",
           "analyze_symbolic", "register_rule"]

_SUBPACKAGES = ("analysis", "cli", "count", "measure", "models", "render", "theory")


def analyze(model: Any, *, input_shape: Sequence[int] | None = None,
            name: str | None = None) -> Report:
    """Params, MACs and other FLOPs of every layer call of a Keras model, per sample.

    See :func:`convcost.count.walker.analyze` for the arguments.
    """
    from convcost.count.walker import analyze as walk

    return walk(model, input_shape=input_shape, name=name)


def analyze_symbolic(model: Any, *, input_shape: Sequence[int] | None = None,
                     name: str | None = None) -> ModelFormula:
    """Params, MACs and FLOPs of the whole model and of each layer call as exact polynomials
    of the free input sizes (``H, W`` for images, ``L`` for token ids), proven at held-back
    sizes; see :func:`convcost.theory.model.derive`.

    Args:
        model: a Keras model with one input (re-shaped through :func:`analyze` at each size),
            or a zoo name such as ``"mobilenet_v2"`` (rebuilt at each size to prove it).
        input_shape: the analysed size of one sample, e.g. ``(224, 224, 3)`` or ``(128,)``.
        name: the model's name in the result (Keras models only).
    """
    from convcost.analysis import scaling
    from convcost.theory.model import derive

    if isinstance(model, str):
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
    raise AttributeError(f"module 'convcost' has no attribute {name!r}")
