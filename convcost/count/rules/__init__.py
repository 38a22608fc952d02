"""Keras adapters: read a layer's attributes and call shapes, hand them to a formula.

One module per layer family, each registering its rules with :func:`register_rule` on
import: :mod:`.conv`, :mod:`.dense`, :mod:`.norm`, :mod:`.elementwise`, :mod:`.attention`,
:mod:`.recurrent`, :mod:`.applications` (layers of ``keras.applications`` models),
:mod:`.ops` (``keras.ops`` nodes of functional graphs) and :mod:`.catalog` (classes that
cost nothing on purpose, :data:`ZERO_COST`, and built-in classes that cannot be costed,
:data:`NOT_APPLICABLE`, each with its reason), and :mod:`.hub` (keras-hub's layers, registered
by :func:`.hub.register` once keras-hub is imported: convcost never imports it itself). A layer
whose class has no rule is costed from its TensorFlow ops, or reported *unsupported*; never
silently zero.

Conventions beyond :mod:`convcost.count.formulas` are in each family's docstring and each
rule's docstring gives its formula.
"""

from __future__ import annotations

# Importing a family registers its rules; this order is the order of docs/reference/layers.md.
from convcost.count.rules import conv  # noqa: F401  isort: skip
from convcost.count.rules import dense  # noqa: F401  isort: skip
from convcost.count.rules import norm  # noqa: F401  isort: skip
from convcost.count.rules import elementwise  # noqa: F401  isort: skip
from convcost.count.rules import attention  # noqa: F401  isort: skip
from convcost.count.rules import recurrent  # noqa: F401  isort: skip
from convcost.count.rules import applications  # noqa: F401  isort: skip
from convcost.count.rules import ops  # noqa: F401  isort: skip
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
from convcost.count.rules.catalog import NOT_APPLICABLE, ZERO_COST

__all__ = ["NOT_APPLICABLE", "ZERO_COST", "Call", "Dims", "NoRule", "Rule", "causal_context",
           "has_rule", "layer_cost", "register_causal", "register_rule"]
