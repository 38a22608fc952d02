"""convcost: what does this network cost, and why is it (not) fast?

Importing the package is cheap: TensorFlow/Keras load only when a model is analysed or built.
"""

from __future__ import annotations

from typing import Any

from convcost.count.formulas import Cost
from convcost.errors import ConvcostError

__version__ = "0.1.0"

__all__ = ["ConvcostError", "Cost", "__version__", "analyze", "register_rule"]


def analyze(model: Any, **kwargs: Any) -> Any:
    """Cost of every layer call of a Keras model; see :func:`convcost.count.walker.analyze`."""
    from convcost.count.walker import analyze as _analyze

    return _analyze(model, **kwargs)


def register_rule(*layer_classes: type) -> Any:
    """Register a cost rule for your own layer classes; see
    :func:`~convcost.count.rules.register_rule`."""
    from convcost.count.rules import register_rule as _register

    return _register(*layer_classes)
