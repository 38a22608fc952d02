"""Walk a Keras model's graph and cost every layer call: ``analyze(model) -> Report``.

The walk visits the model's nodes in execution order (Keras' own ``_nodes_by_depth``, the same
order ``Functional`` runs them in), so a layer called twice gives two rows and a nested model
is entered and reported leaf by leaf with a path like ``outer/inner/conv``. Shapes come from
the graph as built; where the input shape is overridden, each node's output shape is recomputed
with ``compute_output_spec`` (symbolic, no weights created, the model is not changed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import keras

from convcost.errors import ConvcostError
from convcost.report import LayerCost, Piece, Report, Shape
from convcost.rules import Call, NoRule, layer_cost


def analyze(model: keras.Model, *, input_shape: Sequence[int] | None = None,
            name: str | None = None) -> Report:
    """Count params, MACs and other FLOPs of every layer call of ``model``, per sample.

    Args:
        model: a Sequential or functional Keras model (nested models are walked into).
            A Sequential model without an input needs ``input_shape``; it is then built,
            as its first call would build it.
        input_shape: the shape of one sample, without batch, e.g. ``(224, 224, 3)``;
            overrides the model's own input shape where its layers allow it.
        name: the name shown in the report (default: ``model.name``).
    """
    graph = _graph_of(model, input_shape)
    shapes = _input_shapes(graph, input_shape)
    walk = _Walk()
    walk.run(graph, shapes, prefix="")
    return Report(
        model=name or model.name,
        input_shape=tuple(shapes[0][1:]),
        layers=tuple(walk.rows),
        keras_count_params=int(model.count_params()),
        backend=keras.backend.backend(),
    )


def _graph_of(model: keras.Model, input_shape: Sequence[int] | None) -> keras.Model:
    """The functional graph behind ``model`` (a Sequential's inner ``Functional``)."""
    if isinstance(model, keras.Sequential):
        if not model.built or getattr(model, "_functional", None) is None:
            if input_shape is None:
                raise ConvcostError(
                    "The Sequential model has no input shape; pass input_shape=(H, W, C) "
                    f"or start it with keras.Input. Received: model {model.name!r} unbuilt."
                )
            model.build((None, *input_shape))
        return model._functional
    if not hasattr(model, "_nodes_by_depth"):
        raise ConvcostError(
            "The model has no static graph (a subclassed keras.Model); build it as a functional "
            f"model, or wrap it: keras.Model(inp, model(inp)). Received: {type(model).__name__}."
        )
    return model


def _input_shapes(graph: keras.Model, input_shape: Sequence[int] | None) -> list[Shape]:
    own = [tuple(x.shape) for x in graph.inputs]
    if input_shape is None:
        return own
    if len(own) != 1:
        raise ConvcostError(
            f"input_shape can only override a single-input model. Received a model with "
            f"{len(own)} inputs."
        )
    requested = (None, *(int(d) for d in input_shape))
    if len(requested) != len(own[0]):
        raise ConvcostError(
            f"input_shape must have {len(own[0]) - 1} dimensions for this model (its input is "
            f"{_fmt(own[0][1:])}). Received: {_fmt(tuple(input_shape))}."
        )
    return [requested]


class _Walk:
    """One traversal: the rows so far and the layers already seen (shared weights)."""

    def __init__(self) -> None:
        self.rows: list[LayerCost] = []
        self.seen: set[int] = set()

    def run(self, graph: keras.Model, input_shapes: list[Shape], prefix: str) -> list[Shape]:
        specs = {id(x): _spec(shape, x) for x, shape in zip(graph.inputs, input_shapes)}
        for node in _nodes_in_order(graph):
            inputs = [specs[id(t)] for t in node.input_tensors]
            outputs = self._visit(node, inputs, prefix)
            specs.update({id(t): _spec(s, t) for t, s in zip(node.outputs, outputs)})
        return [tuple(specs[id(x)].shape) for x in graph.outputs]

    def _visit(self, node, inputs: list, prefix: str) -> list[Shape]:
        op = node.operation
        in_shapes = [tuple(x.shape) for x in inputs]
        inner = _inner_graph(op)
        if inner is not None:
            return self.run(inner, in_shapes, prefix + op.name + "/")
        recorded = [tuple(t.shape) for t in node.input_tensors]
        if in_shapes == recorded:
            out_shapes = [tuple(t.shape) for t in node.outputs]
        else:
            out_shapes = _recompute(node, inputs)
        self.rows.append(self._row(op, prefix, in_shapes, out_shapes))
        return out_shapes

    def _row(self, op, prefix: str, in_shapes: list[Shape], out_shapes: list[Shape]) -> LayerCost:
        first_call = id(op) not in self.seen
        self.seen.add(id(op))
        call = Call(tuple(_per_sample(s, op) for s in in_shapes),
                    tuple(_per_sample(s, op) for s in out_shapes))
        pieces, supported, note = _cost(op, call)
        if not first_call:
            pieces = tuple(dataclasses.replace(p, params=0) for p in pieces)
        trainable, frozen, total = _keras_counts(op) if first_call else (0, 0, 0)
        return LayerCost(
            path=prefix + op.name, name=op.name, type=type(op).__name__,
            input_shapes=call.inputs, output_shape=call.output, pieces=pieces,
            keras_params=total, trainable_params=trainable,
            non_trainable_params=frozen, supported=supported,
            call_index=0 if first_call else 1, note=note,
        )


def _cost(op, call: Call) -> tuple[tuple[Piece, ...], bool, str]:
    try:
        return layer_cost(op, call), True, ""
    except NoRule:
        return (), False, "no rule: not counted"
    except ConvcostError:
        raise
    except Exception as error:  # a rule that fails is reported, never a crash
        raise ConvcostError(
            f"The cost rule for layer {op.name!r} ({type(op).__name__}) failed: {error}. "
            f"Received: input shapes {[_fmt(s) for s in call.inputs]}."
        ) from None


def _nodes_in_order(graph: keras.Model) -> Iterable:
    by_depth = graph._nodes_by_depth
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is not None and not node.is_input:
                yield node


def _inner_graph(op) -> keras.Model | None:
    if isinstance(op, keras.Sequential):
        return op._functional
    if isinstance(op, keras.Model) and hasattr(op, "_nodes_by_depth"):
        return op
    return None


def _spec(shape: Shape, like) -> keras.KerasTensor:
    return keras.KerasTensor(shape, dtype=like.dtype)


def _recompute(node, inputs: list) -> list[Shape]:
    tensors = {id(t): x for t, x in zip(node.input_tensors, inputs)}
    args, kwargs = node.arguments.fill_in(tensors)
    try:
        spec = node.operation.compute_output_spec(*args, **kwargs)
    except Exception as error:
        raise ConvcostError(
            f"Layer {node.operation.name!r} cannot take the requested input shape: {error} "
            f"Received: input shapes {[_fmt(tuple(x.shape)) for x in inputs]}."
        ) from None
    return [tuple(x.shape) for x in keras.tree.flatten(spec)]


def _per_sample(shape: Shape, op) -> Shape:
    body = tuple(shape[1:])
    if any(d is None for d in body):
        raise ConvcostError(
            f"Layer {op.name!r} has an unknown dimension in its input or output; pass an input "
            f"shape (input_shape=..., or --input-shape H,W,C). Received: shape {_fmt(shape)}."
        )
    return body


def _keras_counts(op) -> tuple[int, int, int]:
    """(trainable, non-trainable, ``count_params()``) as Keras holds them; 0s for non-layers."""
    if not isinstance(op, keras.layers.Layer):
        return 0, 0, 0
    trainable = sum(_size(w.shape) for w in op.trainable_weights)
    frozen = sum(_size(w.shape) for w in op.non_trainable_weights)
    return trainable, frozen, int(op.count_params())


def _size(shape: Sequence[int]) -> int:
    size = 1
    for dim in shape:
        size *= int(dim)
    return size


def _fmt(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
