"""Walk a Keras model's graph and cost every layer call: ``analyze(model) -> Report``.

The walk visits the model's nodes in execution order (the order ``Functional`` runs them in,
read through :mod:`convcost.count.keras_internals`), so a layer called twice gives two rows
and a nested model is entered and reported leaf by leaf with a path like ``outer/inner/conv``.
Shapes come from the graph as built; where the input shape is overridden, each node's output
shape is recomputed with ``compute_output_spec`` (symbolic, no weights created, the model is
not changed).

Models and layers without a static graph (a subclassed ``keras.Model``, or a custom layer with
no rule that owns sub-layers) are *traced*: called once on symbolic tensors (batch ``None``,
nothing allocated) with each sub-layer's ``call`` temporarily wrapped to record its input and
output shapes (:mod:`convcost.count.tracing`); each recorded call is then costed like a graph node.
Arithmetic written directly in such a ``call()`` (``x + y`` between sub-layers) is invisible
to the trace, and the report says so in its notes. Analysis is symbolic throughout: no
activation tensor is ever allocated, whatever its size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import keras

from convcost.count import keras_internals as internals
from convcost.count import tracing
from convcost.count.keras_internals import GraphNode, inner_graph, is_static, nodes_in_order
from convcost.count.report import LayerCost, Piece, Report, Shape
from convcost.count.rules import Call, Dims, NoRule, has_rule, layer_cost
from convcost.errors import ConvcostError


def analyze(model: keras.Model, *, input_shape: Sequence[int] | None = None,
            name: str | None = None) -> Report:
    """Count params, MACs and other FLOPs of every layer call of ``model``, per sample.

    Args:
        model: a Sequential, functional or subclassed Keras model (nested models are walked
            into). A Sequential or subclassed model that has never been built needs
            ``input_shape``; it is then built, as its first call would build it.
        input_shape: the shape of one sample, without batch, e.g. ``(224, 224, 3)``;
            overrides the model's own input shape where its layers allow it.
        name: the name shown in the report (default: ``model.name``).
    """
    walk = _Walk()
    if is_static(model):
        graph = _graph_of(model, input_shape)
        shapes = _input_shapes(graph, input_shape)
        walk.run(graph, shapes, prefix="")
    else:
        shapes = [(None, *_subclassed_shape(model, input_shape))]
        walk.trace(model, [keras.KerasTensor(shapes[0])], {}, prefix="")
        walk.chain(0, ())
    return Report(
        model=name or model.name,
        input_shape=tuple(shapes[0][1:]),
        layers=tuple(walk.rows),
        keras_count_params=int(model.count_params()),
        backend=keras.backend.backend(),
        notes=tuple(walk.notes),
    )


def _subclassed_shape(model: keras.Model, input_shape: Sequence[int] | None) -> Shape:
    """The per-sample input shape of a subclassed model: given, or the one it was built with."""
    if input_shape is not None:
        shape: Shape = tuple(int(d) for d in input_shape)
        if not model.built:  # build it as its first call would: one call on a zero sample
            _build_by_calling(model, shape)
        return shape
    config = model.get_build_config() if model.built else None
    built = config.get("input_shape") if config else None
    if built is None or not isinstance(built, (tuple, list)) or len(built) < 2:
        raise ConvcostError(
            "A subclassed model is analysed by tracing one call, and this one has no known "
            "input shape; build or call it first, or pass input_shape=(H, W, C) (CLI: "
            f"--input-shape H,W,C). Received: {type(model).__name__} {model.name!r}, "
            f"{'built with ' + repr(config) if model.built else 'never built'}."
        )
    return tuple(built[1:])


def _build_by_calling(model: keras.Model, shape: Shape) -> None:
    try:
        model(keras.ops.zeros((1, *shape)), training=False)
    except Exception as error:
        raise ConvcostError(f"Could not build the subclassed model by calling it on one zero "
                            f"sample: {_one_line(error)} Received: input_shape "
                            f"{_fmt(shape)}.") from None


def _graph_of(model: keras.Model, input_shape: Sequence[int] | None) -> keras.Model:
    """The functional graph behind ``model`` (a Sequential's inner ``Functional``)."""
    if isinstance(model, keras.Sequential) and not model.layers:
        raise ConvcostError(f"The Sequential model has no layers. Received: {model.name!r}.")
    if isinstance(model, keras.Sequential):
        if not model.built or internals.functional_graph(model) is None:
            if input_shape is None:
                raise ConvcostError(
                    "The Sequential model has no input shape; pass input_shape=(H, W, C) "
                    f"or start it with keras.Input. Received: model {model.name!r} unbuilt."
                )
            model.build((None, *input_shape))
        return internals.functional_graph(model)
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
    """One traversal: the rows so far, the layers already seen (shared weights), the notes."""

    def __init__(self) -> None:
        self.rows: list[LayerCost] = []
        self.seen: set[int] = set()
        self.calls: dict[int, int] = {}
        self.notes: list[str] = []
        self.made: dict[int, tuple[int, ...]] = {}  # tensor id -> the rows that made it

    def run(self, graph: keras.Model, input_shapes: list[Shape], prefix: str) -> list[Shape]:
        specs = {id(x): _spec(shape, x) for x, shape in zip(graph.inputs, input_shapes)}
        for node in nodes_in_order(graph):
            inputs = [specs[id(t)] for t in node.input_tensors]
            outputs = self._visit(node, inputs, prefix)
            specs.update({id(t): _spec(s, t) for t, s in zip(node.outputs, outputs)})
        return [tuple(specs[id(x)].shape) for x in graph.outputs]

    def _visit(self, node: GraphNode, inputs: list, prefix: str) -> list[Shape]:
        op = node.operation
        in_shapes = [tuple(x.shape) for x in inputs]
        feeds = [self.made.get(id(t), ()) for t in node.input_tensors]
        inner = inner_graph(op)
        if inner is not None:
            self.made.update({id(x): f for x, f in zip(inner.inputs, feeds)})
            shapes = self.run(inner, in_shapes, prefix + op.name + "/")
            self._made(node.outputs, _union(self.made.get(id(y), ()) for y in inner.outputs))
            return shapes
        if tracing.is_container(op, has_rule):
            tensors = {id(t): x for t, x in zip(node.input_tensors, inputs)}
            args, kwargs = node.arguments(tensors)
            start = len(self.rows)
            shapes = self.trace(op, args, kwargs, prefix + op.name + "/")
            self._made(node.outputs, self.chain(start, _union(feeds)))
            return shapes
        recorded = [tuple(t.shape) for t in node.input_tensors]
        if in_shapes == recorded:
            out_shapes = [tuple(t.shape) for t in node.outputs]
        else:
            out_shapes = _recompute(node, inputs)
        if _unknown(out_shapes) and not _unknown(in_shapes):
            out_shapes = _recompute(node, inputs, by_call=True)
        row = self._row(op, prefix + op.name, in_shapes, out_shapes)
        self.rows.append(dataclasses.replace(row, sources=_union(feeds)))
        self._made(node.outputs, (len(self.rows) - 1,))
        return out_shapes

    def _made(self, tensors: Sequence[Any], rows: tuple[int, ...]) -> None:
        self.made.update({id(t): rows for t in tensors})

    def chain(self, start: int, feeds: tuple[int, ...]) -> tuple[int, ...]:
        """Link the rows from ``start`` on (a trace: no tensors seen) in call order; the first
        reads ``feeds``. Returns the rows that make the result (``feeds`` if none was added)."""
        for index in range(start, len(self.rows)):
            before = feeds if index == start else (index - 1,)
            self.rows[index] = dataclasses.replace(self.rows[index], sources=before)
        return (len(self.rows) - 1,) if len(self.rows) > start else feeds

    def trace(self, op: Any, args: Sequence, kwargs: dict, prefix: str) -> list[Shape]:
        """Cost a container without a static graph by recording one symbolic call of it."""
        with tracing.recording(op, has_rule) as records:
            try:
                spec = internals.compute_output_spec(lambda *a, **k: op(*a, **k), *args,
                                                    **kwargs)
            except ConvcostError:
                raise
            except Exception as error:
                raise ConvcostError(
                    f"Could not trace {op.name!r} ({type(op).__name__}) on a symbolic input: "
                    f"{_one_line(error)} Received: input shapes "
                    f"{[_fmt(tuple(x.shape)) for x in keras.tree.flatten(args)]}."
                ) from None
        for record in records:
            if record.leaf:
                self.rows.append(self._row(record.layer, prefix + record.path,
                                           list(record.inputs), list(record.outputs)))
            else:
                self._container(record, prefix)
        return [tuple(x.shape) for x in keras.tree.flatten(spec)]

    def _container(self, record: tracing.CallRecord, prefix: str) -> None:
        """A note for a traced container; a row for weights it holds outside its sub-layers."""
        layer = record.layer
        where = (prefix + record.path).rstrip("/") or layer.name
        note = (f"{where} ({type(layer).__name__}) has no static graph: counted through its "
                "sub-layer calls; arithmetic written directly in its call() is not counted.")
        if not is_static(layer) and note not in self.notes:
            self.notes.append(note)
        own = _own_params(layer)
        if own and id(layer) not in self.seen:
            self.seen.add(id(layer))
            self.rows.append(LayerCost(
                path=where, name=layer.name, type=type(layer).__name__,
                input_shapes=tuple(_per_sample(s, layer) for s in record.inputs),
                output_shape=_per_sample(record.outputs[0], layer) if record.outputs else (),
                pieces=(), keras_params=own, trainable_params=0, non_trainable_params=0,
                supported=False, note="weights of its own, used in call(): not counted",
                operation=layer,
            ))

    def _row(self, op: Any, path: str, in_shapes: list[Shape],
             out_shapes: list[Shape]) -> LayerCost:
        first_call = id(op) not in self.seen
        self.seen.add(id(op))
        call_index = self.calls.get(id(op), 0)
        self.calls[id(op)] = call_index + 1
        call = Call(tuple(_per_sample(s, op) for s in in_shapes),
                    tuple(_per_sample(s, op) for s in out_shapes))
        pieces, supported, note = _cost(op, call)
        if not first_call:
            pieces = tuple(dataclasses.replace(p, params=0) for p in pieces)
        trainable, frozen, total = _keras_counts(op) if first_call else (0, 0, 0)
        return LayerCost(
            path=path, name=op.name, type=type(op).__name__,
            input_shapes=call.inputs, output_shape=call.output, pieces=pieces,
            keras_params=total, trainable_params=trainable,
            non_trainable_params=frozen, supported=supported,
            call_index=call_index, note=note, operation=op,
        )


def _union(groups: Any) -> tuple[int, ...]:
    """The rows of several groups, each once, in order."""
    return tuple(dict.fromkeys(row for group in groups for row in group))


def _cost(op: Any, call: Call) -> tuple[tuple[Piece, ...], bool, str]:
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


def _own_params(layer: Any) -> int:
    """Weights a container holds itself, outside all its sub-layers."""
    inner = {id(w) for sub in internals.sub_layers(layer) if isinstance(sub, keras.layers.Layer)
             for w in sub.weights}
    return sum(_size(w.shape) for w in layer.weights if id(w) not in inner)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _spec(shape: Shape, like: Any) -> keras.KerasTensor:
    return keras.KerasTensor(shape, dtype=like.dtype)


def _unknown(shapes: list[Shape]) -> bool:
    """Whether any shape has an unknown size beyond the batch dimension."""
    return any(d is None for shape in shapes for d in shape[1:])


def _recompute(node: GraphNode, inputs: list, by_call: bool = False) -> list[Shape]:
    """Output shapes of ``node`` on new inputs: Keras' shape rule, or (``by_call``) running
    the layer on symbolic tensors, which resolves sizes the shape rule leaves unknown."""
    tensors = {id(t): x for t, x in zip(node.input_tensors, inputs)}
    args, kwargs = node.arguments(tensors)
    op = node.operation
    try:
        if by_call:
            spec = internals.compute_output_spec(lambda *a, **k: op(*a, **k), *args, **kwargs)
        else:
            spec = op.compute_output_spec(*args, **kwargs)
    except Exception as error:
        raise ConvcostError(
            f"Layer {node.operation.name!r} cannot take the requested input shape: "
            f"{_one_line(error)} Received: input shapes {[_fmt(tuple(x.shape)) for x in inputs]}."
        ) from None
    return [tuple(x.shape) for x in keras.tree.flatten(spec)]


def _per_sample(shape: Shape, op: Any) -> Dims:
    body = tuple(shape[1:])
    if any(d is None for d in body):
        raise ConvcostError(
            f"Layer {op.name!r} has an unknown dimension in its input or output; pass an input "
            f"shape (input_shape=..., or --input-shape H,W,C). Received: shape {_fmt(shape)}."
        )
    return tuple(int(d) for d in body)  # type: ignore[arg-type]


def _keras_counts(op: Any) -> tuple[int, int, int]:
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
