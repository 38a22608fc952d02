"""The one place that reads Keras' functional-graph internals (``_nodes_by_depth``).

Keras 3 has no public API for a graph's nodes in execution order or for repeated calls of a
layer; the walker and the rewriter both need them, so both read them through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras


def is_static(model: Any) -> bool:
    """Whether ``model`` has a graph to walk (a Sequential or functional model)."""
    return isinstance(model, keras.Sequential) or hasattr(model, "_nodes_by_depth")


def nodes_in_order(graph: keras.Model) -> Iterator[Any]:
    """The graph's operation nodes in the order ``Functional`` runs them (inputs excluded)."""
    by_depth = graph._nodes_by_depth
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is not None and not node.is_input:
                yield node


def inner_graph(op: Any) -> keras.Model | None:
    """The graph of a nested model (a Sequential's inner ``Functional``); None for a layer."""
    if isinstance(op, keras.Sequential):
        return op._functional
    if isinstance(op, keras.Model) and hasattr(op, "_nodes_by_depth"):
        return op
    return None
