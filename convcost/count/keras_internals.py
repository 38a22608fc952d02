"""The one module that reads Keras' private API; everything else in convcost uses public Keras.

Keras 3 has no public API for a functional graph's nodes in execution order, for repeated
calls of a layer, for a layer's direct sub-layers, or for tracing a call on symbolic inputs
without building anything. The walker, the tracer, the rewriter and verify need them, and
read them only through the functions here. The same goes for the two private things read
outside Keras: the op count of a TensorFlow graph (:func:`graph_op_count`), keras-hub's
layer classes that it does not export (:func:`hub_class`) and the cross-device
implementation a ``tf.distribute`` strategy picked (:func:`cross_device_ops`).

Every private import is guarded: if a Keras release moves a name, :func:`optional_class`
and :func:`op_classes` return nothing (the rule that needed it is simply not registered and
the layer shows up as unsupported), and the other functions raise a one-line
:class:`~convcost.errors.ConvcostError` naming what is missing. ``import convcost`` never
breaks on a Keras refactor.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from convcost.errors import ConvcostError


@dataclass(frozen=True)
class GraphNode:
    """One call of an operation in a functional graph (Keras' private ``Node``, wrapped)."""

    operation: Any
    input_tensors: tuple[Any, ...]
    outputs: tuple[Any, ...]
    node: Any

    def arguments(self, tensors: dict[int, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The call's ``(args, kwargs)`` with each input tensor replaced by ``tensors[id]``."""
        args, kwargs = self.node.arguments.fill_in(tensors)
        return list(args), dict(kwargs)


def functional_graph(model: Any) -> Any:
    """The functional graph behind ``model``: a Sequential's inner graph, a functional model
    itself, or None (a subclassed model, or a Sequential that was never built)."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    if isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth"):
        return model
    return None


def is_static(model: Any) -> bool:
    """Whether ``model`` has (or, for a Sequential, will have) a graph to walk."""
    return isinstance(model, keras.Sequential) or hasattr(model, "_nodes_by_depth")


def inner_graph(op: Any) -> Any:
    """The graph of a nested model (a Sequential's inner ``Functional``); None for a layer."""
    if isinstance(op, keras.Model):
        return functional_graph(op)
    return None


def nodes_in_order(graph: Any) -> Iterator[GraphNode]:
    """The graph's operation nodes in the order ``Functional`` runs them (inputs excluded)."""
    by_depth = graph._nodes_by_depth
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is not None and not node.is_input:
                yield GraphNode(node.operation, tuple(node.input_tensors),
                                tuple(node.outputs), node)


def graph_operations(graph: Any) -> list[Any]:
    """Each operation of a functional graph once, in run order (first call)."""
    found: dict[int, Any] = {}
    for node in nodes_in_order(graph):
        found.setdefault(id(node.operation), node.operation)
    return list(found.values())


def sub_layers(obj: Any) -> list[Any]:
    """The direct sub-layers (for graphs: the operations) that ``obj`` may call."""
    if isinstance(obj, keras.Sequential):
        return list(obj.layers)
    if hasattr(obj, "_nodes_by_depth"):
        return graph_operations(obj)
    if isinstance(obj, keras.layers.Layer):
        return list(obj._flatten_layers(include_self=False, recursive=False))
    return []


def producer(tensor: Any) -> Any:
    """The operation (an ``InputLayer`` for a model input) that made a symbolic tensor."""
    return tensor._keras_history.operation


def compute_output_spec(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` on symbolic inputs in the backend's scratch graph: shapes out, no weights
    built, no activation allocated (Keras' own tracer)."""
    try:
        from keras.src.backend import compute_output_spec as trace
    except ImportError:  # pragma: no cover - depends on the Keras release
        raise ConvcostError("This Keras has no keras.src.backend.compute_output_spec, which "
                            "convcost needs to trace a layer on symbolic inputs. Received: "
                            f"keras {keras.__version__}.") from None
    return trace(fn, *args, **kwargs)


@contextlib.contextmanager
def deserialization(*, safe_mode: bool) -> Iterator[None]:
    """Rebuild layers from their configs with Keras' safe mode on or off (off: Lambda layers
    holding Python functions come back); Keras' own scope, restored afterwards."""
    scope = optional_class("saving.serialization_lib", "SafeModeScope")
    if scope is None:  # pragma: no cover - depends on the Keras release
        raise ConvcostError("This Keras has no SafeModeScope, which convcost needs to rebuild "
                            f"layers with --unsafe. Received: keras {keras.__version__}.")
    with scope(safe_mode):
        yield


def optional_class(module: str, name: str) -> type | None:
    """``keras.src.<module>.<name>`` if this Keras has it, else None."""
    try:
        found = getattr(importlib.import_module(f"keras.src.{module}"), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) else None


def op_classes(module: str, names: str) -> tuple[type, ...]:
    """The named operation classes of ``keras.src.ops.<module>`` that this Keras has."""
    found = (optional_class(f"ops.{module}", name) for name in names.split())
    return tuple(cls for cls in found if cls is not None)


def uninitialized_variables() -> list[Any]:
    """Keras' global list of variables created without a value (inside
    ``StatelessScope(initialize_variables=False)``), which the exit of the next top-level
    ``StatelessScope`` — every symbolic call opens one — initialises, allocating them."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - depends on the Keras release
        return []
    return list(global_state.get_global_attribute("uninitialized_variables") or [])


def keep_uninitialized(variables: list[Any]) -> None:
    """Replace Keras' global list of variables to initialise later by ``variables``."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - depends on the Keras release
        return
    global_state.set_global_attribute("uninitialized_variables", list(variables))


def hub_class(module: str, name: str) -> type | None:
    """``keras_hub.src.<module>.<name>`` if keras-hub is installed *and already imported* (a
    keras-hub model exists only then), else None; convcost never imports keras-hub itself."""
    if "keras_hub" not in sys.modules:
        return None
    try:
        found = getattr(importlib.import_module(f"keras_hub.src.{module}"), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) else None


def graph_op_count(graph: Any) -> int:
    """How many ops a TensorFlow graph holds, in O(1) (a private dict; the public
    ``get_operations()`` copies the whole list, which makes op windows quadratic)."""
    nodes = getattr(graph, "_nodes_by_id", None)
    return len(nodes) if nodes is not None else len(graph.get_operations())


def bind_arguments(fn: Callable[..., Any], args: Sequence[Any],
                   kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """``fn``'s parameters bound to a call's arguments (defaults filled in), in signature order;
    None when the signature cannot be read or does not fit."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def uses_gate(layer: Any) -> bool:
    """Whether a ``MultiHeadAttention`` has the optional sigmoid gate (a private flag)."""
    return bool(getattr(layer, "_use_gate", False))


def cross_device_ops(strategy: Any) -> tuple[Any, str | None]:
    """The cross-device ops object a ``tf.distribute`` strategy picked (None if it has none)
    and the name of its all-reduce implementation (``"RING"``; None if unknown): private
    attributes, TensorFlow has no public API for them."""
    ops = getattr(strategy.extended, "_cross_device_ops", None)
    options = getattr(ops, "_options", None)
    return ops, getattr(getattr(options, "implementation", None), "name", None)


# --- model.summary()'s layout (convcost.summary mirrors it) -------------------------------------


def summary_utils() -> Any:
    """Keras' ``keras.src.utils.summary_utils`` (shape formatting, layer ranges, weight sizes)."""
    try:
        return importlib.import_module("keras.src.utils.summary_utils")
    except ImportError:  # pragma: no cover - depends on the Keras release
        raise ConvcostError("This Keras has no keras.src.utils.summary_utils, which "
                            "convcost.summary() follows. Received: "
                            f"keras {keras.__version__}.") from None


def summary_layers(model: Any) -> tuple[list[Any], bool]:
    """The layers ``model.summary()`` lists, and whether it lays them out as a sequence (no
    "Connected to" column): Keras' own test, read from the same private fields."""
    functional = optional_class("models.functional", "Functional")
    if isinstance(model, keras.Sequential) or functional is None or not isinstance(
            model, functional):
        return list(model.layers), True
    graph: Any = model
    nodes: list[Any] = []
    for level in graph._nodes_by_depth.values():
        if len(level) > 1 or (len(level) == 1
                              and len(keras.tree.flatten(level[0].input_tensors)) > 1):
            return list(graph._operations), False
        nodes += level
    for layer in graph.layers:
        if sum(node in nodes for node in layer._inbound_nodes) > 1:
            return list(graph._operations), False
    return list(graph._operations), True


def summary_connections(layer: Any, model: Any) -> str:
    """The "Connected to" cell of ``layer`` in ``model.summary()`` (rich markup)."""
    mark = summary_utils().highlight_number
    relevant = [node for level in model._nodes_by_depth.values() for node in level]
    parts = []
    for node in layer._inbound_nodes:
        if relevant and node not in relevant:
            continue
        for tensor in node.input_tensors:
            history = tensor._keras_history
            parts.append(f"{history.operation.name}[{mark(history.node_index)}]"
                         f"[{mark(history.tensor_index)}]")
    return ", ".join(parts) or "-"


def summary_shape(layer: Any) -> str:
    """The "Output Shape" cell of ``layer`` in ``model.summary()`` (rich markup)."""
    return str(summary_utils().format_layer_shape(layer))


def summary_range(layers: list[Any], layer_range: Any) -> tuple[int, int]:
    """The slice of ``layers`` that ``layer_range`` (two names or regexes) selects, as Keras
    selects it; a one-line error for a bad range."""
    try:
        low, high = summary_utils().get_layer_index_bound_by_layer_name(layers, layer_range)
    except ValueError as error:
        raise ConvcostError(" ".join(str(error).split())) from None
    return low, high


def trainable_weights_summarised(model: Any) -> list[Any]:
    """The trainable weights ``model.summary()`` counts (Keras' collected list if present)."""
    return list(getattr(model, "_collected_trainable_weights", model.trainable_weights))


# --- JAX's tracer (the ops of a rule-less call on Keras' JAX backend) ---------------------------


def jax_trace_frame() -> Any:
    """The equation list's owner of the JAX trace now running (``DynamicJaxprTrace.frame``), or
    None outside a trace or when this JAX keeps it elsewhere."""
    try:
        from jax._src import core
    except ImportError:
        return None
    frame = getattr(getattr(core, "trace_ctx", None), "trace", None)
    frame = getattr(frame, "frame", None)
    return frame if hasattr(frame, "tracing_eqns") else None


def jax_frame_equations(frame: Any) -> list[Any]:
    """The equations a trace frame has recorded so far, in creation order."""
    return list(frame.tracing_eqns)


def jax_equation_inputs(equation: Any) -> list[Any]:
    """The input variables of a recorded equation (its tracers' variables)."""
    return [getattr(tracer, "val", tracer) for tracer in equation.in_tracers]


def jax_tracer_variable(tracer: Any) -> Any:
    """The variable a JAX tracer of the running trace stands for (None for a non-tracer)."""
    return getattr(tracer, "val", None)
def hub_cache_shape(causal_lm: Any, length: int) -> tuple[int, ...] | None:
    """The shape of the key/value cache keras-hub's ``CausalLM`` builds for one sequence of
    ``length`` tokens (its private ``_build_cache``, traced on symbolic token ids: nothing is
    allocated), or None for a model without one."""
    build_cache = getattr(causal_lm, "_build_cache", None)
    if build_cache is None or not hasattr(causal_lm, "call_with_cache"):
        return None
    tokens = keras.KerasTensor((1, length), dtype="int32")
    spec = compute_output_spec(lambda ids: build_cache(ids)[1], tokens)
    return tuple(int(d) for d in spec.shape)
