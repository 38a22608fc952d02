"""Walk a Keras model's graph and cost every layer call: ``analyze(model) -> Report``.

The walk visits the model's nodes in execution order (the order ``Functional`` runs them in,
read through :mod:`convcost.count.keras_internals`), so a layer called twice gives two rows
and a nested model is entered and reported leaf by leaf with a path like ``outer/inner/conv``.
Shapes come from the graph as built; where an input shape is overridden, each node's output
shape is recomputed with ``compute_output_spec`` (symbolic, no weights created, the model is
not changed). A model with several inputs takes one shape per input, by name.

A layer with a cost rule is costed by its rule. Every other layer — a subclassed
``keras.Model``, a composite layer such as a transformer block, a leaf without a rule — is
*traced*: called once on symbolic tensors (batch 1, nothing allocated) with each sub-layer's
``call`` temporarily wrapped to record its arguments (bound by name) and shapes
(:mod:`convcost.count.tracing`). Recorded sub-layers with a rule are costed by it; the
arithmetic each rule-less call does itself (``x + y`` between sub-layers, ``x @ w``, the
attention einsums of a keras-hub block) is costed from the TensorFlow ops it created
(:mod:`convcost.count.graph_ops`), on Keras' JAX backend from its JAX primitives
(:mod:`convcost.count.jax_ops`). On the PyTorch backend those ops cannot be seen: such a call's
row is marked not fully counted, never silently complete. A call that repeats an earlier one
(same class, configuration and argument shapes: a transformer's blocks) is traced once and
copied (:mod:`convcost.count.memo`). Analysis is symbolic throughout: no activation tensor is
ever allocated, whatever its size; for a model built inside :func:`convcost.shape_only`, no
weight either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import keras

from convcost.count import graph_ops, jax_ops, memo, tracing
from convcost.count import keras_internals as internals
from convcost.count.costing import (
    Entry,
    apply_conventions,
    check_conventions,
    convention_notes,
    entries_of,
    rule_pieces,
    twins,
)
from convcost.count.inputs import (
    InputShape,
    fmt,
    input_shapes,
    subclassed_shape,
)
from convcost.count.keras_internals import GraphNode, inner_graph, is_static, nodes_in_order
from convcost.count.report import LayerCost, Report, Shape
from convcost.count.rules import Call, Dims, causal_context, has_rule
from convcost.count.rules import hub as hub_rules
from convcost.count.shapes import elements, requested_shapes
from convcost.errors import ConvcostError, one_line


def analyze(model: keras.Model, *, input_shape: InputShape | None = None,
            seq_len: int | None = None, name: str | None = None,
            attention: str = "executed", moe: str = "routed") -> Report:
    """Count params, MACs and other FLOPs of every layer call of ``model``, per sample.

    Args:
        model: a Sequential, functional or subclassed Keras model (nested models are walked
            into). A Sequential or subclassed model that has never been built needs
            ``input_shape``; it is then built, as its first call would build it.
        input_shape: the shape of one sample, without batch, e.g. ``(224, 224, 3)``, or for a
            model with several inputs a mapping ``{input name: shape}`` (inputs left out keep
            their own shape, which must then be fully known); overrides the model's own input
            shapes where its layers allow it. Integer inputs (token ids) stay integer.
        seq_len: the length of every token-sequence input (integer or boolean inputs of one
            axis per sample) not given in ``input_shape``.
        name: the name shown in the report (default: ``model.name``).
        attention: ``"executed"`` (every attention score computed) or ``"causal"`` (the
            L(L+1)/2 pairs of causal self-attention); see ``count.report.CONVENTIONS``.
        moe: ``"routed"`` (the top-k experts per token) or ``"executed"`` (every expert run).
    """
    check_conventions(attention, moe)
    hub_rules.register()
    request = requested_shapes(input_shape, seq_len)
    walk = _Walk(attention, moe)
    if is_static(model):
        graph = _graph_of(model, request)
        named = input_shapes(graph, request, seq_len)
        with _no_initialisation():
            walk.run(graph, [shape for _, shape in named], prefix="")
    else:
        shape = subclassed_shape(model, request)
        named = [("input", shape)]
        with _no_initialisation():
            walk.trace(model, [keras.KerasTensor(shape)], {}, prefix="")
        walk.chain(0, ())
    report = Report(
        model=name or model.name,
        input_shape=tuple(named[0][1][1:]),
        layers=tuple(walk.rows),
        keras_count_params=int(model.count_params()),
        backend=keras.backend.backend(),
        notes=tuple(walk.notes),
        inputs=tuple((n, tuple(s[1:])) for n, s in named),
        conventions=(("attention", attention), ("moe", moe)),
    )
    if request is not None and model.built:
        _check_weights_unchanged(report, input_shape)
    return dataclasses.replace(report, notes=report.notes + convention_notes(report))


def analyze_call(root: keras.layers.Layer, args: Sequence[Any], *, name: str,
                 attention: str = "executed", moe: str = "routed") -> Report:
    """Count one call ``root(*args)`` on symbolic ``args`` (shapes with their batch), as
    :func:`analyze` counts a subclassed model's forward pass: every sub-layer by its rule, the
    rest from its ops. For calls a model's ``__call__`` does not make, such as keras-hub's
    ``call_with_cache`` (one decode step), wrapped in a layer by the caller.
    """
    check_conventions(attention, moe)
    hub_rules.register()
    walk = _Walk(attention, moe)
    with _no_initialisation():
        walk.trace(root, list(args), {}, prefix="")
    walk.chain(0, ())
    report = Report(model=name, input_shape=tuple(args[0].shape[1:]), layers=tuple(walk.rows),
                    keras_count_params=int(root.count_params()),
                    backend=keras.backend.backend(), notes=tuple(walk.notes),
                    inputs=tuple((f"input_{i}", tuple(x.shape[1:])) for i, x in enumerate(args)),
                    conventions=(("attention", attention), ("moe", moe)))
    return dataclasses.replace(report, notes=report.notes + convention_notes(report))


@contextlib.contextmanager
def _no_initialisation() -> Iterator[None]:
    """The scope the walk runs in. Keras' ``compute_output_spec`` opens a ``StatelessScope``
    whose exit initialises every variable still uninitialised: a model built shape-only would
    get all its weights allocated by the first trace (28 GB for a 7B model). Inside an outer
    scope that initialises nothing it does not; weights that exist are only read.

    Keras' warning about a softmax over an axis of size 1 is silenced here: the walk's own
    traces at one token cause it, not the user's model."""
    with keras.StatelessScope(initialize_variables=False), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a softmax over axis",
                                category=UserWarning)
        yield


def _graph_of(model: keras.Model, request: Any) -> keras.Model:
    """The functional graph behind ``model`` (a Sequential's inner ``Functional``)."""
    if isinstance(model, keras.Sequential) and not model.layers:
        raise ConvcostError(f"The Sequential model has no layers. Received: {model.name!r}.")
    if isinstance(model, keras.Sequential):
        if not model.built or internals.functional_graph(model) is None:
            if request is None or isinstance(request, Mapping):
                raise ConvcostError(
                    "The Sequential model has no input shape; pass input_shape=(H, W, C) "
                    f"or start it with keras.Input. Received: model {model.name!r} unbuilt."
                )
            model.build((None, *request))
        return internals.functional_graph(model)
    return model


def _check_weights_unchanged(report: Report, requested: Any) -> None:
    """Refuse an input shape that would need other weights than the model holds (e.g. 3
    input channels for a model built for 1): its counts would describe another model."""
    for row in report.layers:
        if row.supported and row.keras_params and not row.params_match:
            raise ConvcostError(
                f"The input shape does not fit the model's weights: layer {row.path!r} "
                f"({row.type}) would need {row.params:,} params for it, and holds "
                f"{row.keras_params:,}; a model with weights can only be re-shaped where its "
                f"weights stay the same (e.g. the spatial size). Received: input_shape "
                f"{requested!r}.")


class _Walk:
    """One traversal: the rows so far, the layers already seen (shared weights), the notes,
    and the traces already made (repeated blocks are copied, not traced again)."""

    def __init__(self, attention: str, moe: str) -> None:
        self.attention, self.moe = attention, moe
        self.rows: list[LayerCost] = []
        self.seen: set[int] = set()
        self.calls: dict[int, int] = {}
        self.notes: list[str] = []
        self.made: dict[int, tuple[int, ...]] = {}  # tensor id -> the rows that made it
        self.traced: dict[Hashable, tuple[Any, list[Entry], list[Shape]]] = {}

    def run(self, graph: keras.Model, shapes: list[Shape], prefix: str) -> list[Shape]:
        specs = {id(x): _spec(shape, x) for x, shape in zip(graph.inputs, shapes)}
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
        args, kwargs = node.arguments({id(t): x for t, x in zip(node.input_tensors, inputs)})
        if not has_rule(op):  # a container or a leaf without a rule: traced, ops costed
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
        tensors, options = tracing.call_inputs(op.call, args, kwargs)
        causal, window = causal_context(None, {}, op, options)
        call = Call(tuple(_per_sample(tuple(t.shape), op) for t in tensors),
                    tuple(_per_sample(s, op) for s in out_shapes), causal, window)
        entry = Entry((op,), op, call.inputs, call.output,
                      apply_conventions(rule_pieces(op, call), self.attention, self.moe), True)
        self.rows.append(dataclasses.replace(self._row(entry, prefix), sources=_union(feeds)))
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
        """Cost a call without a rule by recording one symbolic call of it (batch 1); a call
        equal to one traced before is copied."""
        key = memo.call_key(op, args, kwargs)
        if key is not None and key in self.traced:
            first, entries, outputs = self.traced[key]
            if first is not op:
                mapping = twins(first, op)
                entries = [e.moved(mapping) for e in entries]
            self.rows += [self._row(e, prefix) for e in entries]
            return outputs
        batch_none = any(_leading_none(x) for x in keras.tree.flatten((args, kwargs)))
        one_args, one_kwargs = keras.tree.map_structure(_batch_one, (list(args), dict(kwargs)))
        log = op_log()
        fn = _caller(op) if log is None else log.wrap(_caller(op))
        with tracing.recording(op, has_rule, log.count if log else None,
                               _Memo(log) if log else None) as records:
            spec = _symbolic_call(op, fn, list(one_args), dict(one_kwargs))
        tallies = log.tallies([(id(r), r.depth, r.ops) for r in records if r.copy_of is None]) \
            if log else None
        entries = entries_of(records, tallies, self.attention, self.moe, self.notes)
        self.rows += [self._row(e, prefix) for e in entries]
        outputs = [_batch_back(tuple(x.shape), batch_none) for x in keras.tree.flatten(spec)]
        if key is not None:
            self.traced[key] = (op, entries, outputs)
        return outputs

    def _row(self, entry: Entry, prefix: str) -> LayerCost:
        """The report row of ``entry`` under ``prefix``: params on a layer's first call only."""
        layer = entry.layer
        first_call = id(layer) not in self.seen
        self.seen.add(id(layer))
        call_index = self.calls.get(id(layer), 0)
        self.calls[id(layer)] = call_index + 1
        pieces = entry.pieces
        if not first_call:
            pieces = tuple(dataclasses.replace(p, params=0, active_params=None if
                                               p.active_params is None else 0) for p in pieces)
        counts = _keras_counts(layer, own=entry.own) if first_call else (0, 0, 0)
        path = (prefix + entry.path).rstrip("/") or layer.name
        return LayerCost(
            path=path, name=layer.name, type=type(layer).__name__,
            input_shapes=entry.input_shapes, output_shape=entry.output_shape, pieces=pieces,
            keras_params=counts[2], trainable_params=counts[0], non_trainable_params=counts[1],
            supported=entry.supported, call_index=call_index, note=entry.note, operation=layer,
            from_ops=entry.from_ops,
        )


def _union(groups: Any) -> tuple[int, ...]:
    """The rows of several groups, each once, in order."""
    return tuple(dict.fromkeys(row for group in groups for row in group))


class _Memo:
    """Skip repeated container calls inside one trace (stand-in outputs on the same graph)."""

    def __init__(self, log: Any) -> None:  # graph_ops.OpLog or jax_ops.JaxOpLog
        self.log = log

    def key(self, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable | None:
        return memo.call_key(layer, args, kwargs)

    def stand_in(self, like: Any) -> Any:
        return self.log.stand_in(like)


def op_log() -> Any:
    """A log of the ops a traced call creates: TensorFlow graph ops (:class:`graph_ops.OpLog`),
    JAX primitives (:class:`jax_ops.JaxOpLog`), or None where neither can be seen (Keras'
    PyTorch backend: rule-less calls are then marked not fully counted)."""
    if graph_ops.available():
        return graph_ops.OpLog()
    return jax_ops.JaxOpLog() if jax_ops.available() else None


def _caller(op: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return op(*args, **kwargs)

    return call


def _symbolic_call(op: Any, fn: Any, args: list, kwargs: dict) -> Any:
    try:
        return internals.compute_output_spec(fn, *args, **kwargs)
    except ConvcostError:
        raise
    except Exception as error:
        raise ConvcostError(
            f"Could not trace {op.name!r} ({type(op).__name__}) on a symbolic input: "
            f"{one_line(error)} Received: input shapes "
            f"{[fmt(tuple(x.shape)) for x in keras.tree.flatten(args) if hasattr(x, 'shape')]}."
        ) from None


def _leading_none(x: Any) -> bool:
    return isinstance(x, keras.KerasTensor) and len(x.shape) > 0 and x.shape[0] is None


def _batch_one(x: Any) -> Any:
    """A symbolic tensor with an unknown batch gets batch 1 (every shape then static)."""
    if _leading_none(x):
        return keras.KerasTensor((1, *x.shape[1:]), dtype=x.dtype, sparse=x.sparse)
    return x


def _batch_back(shape: Shape, batch_none: bool) -> Shape:
    if batch_none and shape and shape[0] == 1:
        return (None, *shape[1:])
    return shape


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
            f"{one_line(error)} Received: input shapes {[fmt(tuple(x.shape)) for x in inputs]}."
        ) from None
    return [tuple(x.shape) for x in keras.tree.flatten(spec)]


def _per_sample(shape: Shape, op: Any) -> Dims:
    body = tuple(shape[1:])
    if any(d is None for d in body):
        raise ConvcostError(
            f"Layer {op.name!r} has an unknown dimension in its input or output; pass an input "
            f"shape (input_shape=..., or --input-shape H,W,C; --seq-len L for token inputs). "
            f"Received: shape {fmt(shape)}."
        )
    return tuple(int(d) for d in body)  # type: ignore[arg-type]


def _keras_counts(op: Any, own: bool = False) -> tuple[int, int, int]:
    """(trainable, non-trainable, total) params as Keras holds them (``own``: only the weights
    a container holds outside its sub-layers); 0s for non-layers."""
    if not isinstance(op, keras.layers.Layer):
        return 0, 0, 0
    if own:
        inner = {id(w) for sub in internals.sub_layers(op) for w in getattr(sub, "weights", ())}
        trainable = sum(elements(w.shape) for w in op.trainable_weights if id(w) not in inner)
        frozen = sum(elements(w.shape) for w in op.non_trainable_weights if id(w) not in inner)
        return trainable, frozen, trainable + frozen
    trainable = sum(elements(w.shape) for w in op.trainable_weights)
    frozen = sum(elements(w.shape) for w in op.non_trainable_weights)
    return trainable, frozen, int(op.count_params())

