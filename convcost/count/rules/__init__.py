"""Keras adapters: read a layer's attributes and call shapes, hand them to a formula.

The table of supported layers is :data:`.catalog.RULES` ({layer class: rule}, grouped by
family); importing this package registers it. The rules live in one module per family, named
after what they hold: :mod:`.conv`, :mod:`.dense` (Dense, EinsumDense, ``Dot``, embeddings),
:mod:`.norm`, :mod:`.activation` (activations, ``Masking``), :mod:`.pooling`, :mod:`.merge`,
:mod:`.resizing` (resizing, up-sampling, ``CenterCrop``), :mod:`.attention`,
:mod:`.recurrent`, :mod:`.applications` (layers of ``keras.applications`` models) and
:mod:`.ops` (``keras.ops`` nodes of functional graphs). :mod:`.catalog` also lists the classes
that cost nothing on purpose (:data:`ZERO_COST`) and the built-in classes that cannot be
costed (:data:`NOT_APPLICABLE`), each with its reason; :mod:`.hub` holds keras-hub's layers,
registered by :func:`.hub.register` once keras-hub is imported (convcost never imports it
itself). A layer whose class has no rule is costed from its TensorFlow ops, or reported
*unsupported*; never silently zero. Dispatch is :func:`functools.singledispatch` on the class,
so :func:`register_rule` on a user's class (or subclass) adds or overrides a rule.

Conventions beyond :mod:`convcost.count.formulas` are in each family's docstring and each
rule's docstring gives its formula.
"""

from __future__ import annotations

# Importing the catalog registers the table of supported layers (catalog.RULES).
from convcost.count.rules import catalog  # noqa: F401  isort: skip
from convcost.count.rules import hub  # noqa: F401  isort: skip
from convcost.count.rules.base import (
    Call,
    Dims,
    NoRule,
    Rule,
    causal_context,
    has_rule,
    layer_cost,
    register_causal,
    register_rule,
)
from convcost.count.rules.catalog import NOT_APPLICABLE, RULES, ZERO_COST

__all__ = ["NOT_APPLICABLE", "RULES", "ZERO_COST", "Call", "Dims", "NoRule", "Rule",
           "causal_context", "has_rule", "layer_cost", "register_causal", "register_rule"]
