"""Cross-check the training cost against the gradient graph TensorFlow runs.

A ``tf.function`` computes the loss and ``tape.gradient`` w.r.t. ``model.trainable_variables``
(what Keras' ``train_step`` does); it is traced at batch :data:`BATCH` and pruned to what the
loss and the returned gradients need (as the function runtime prunes what no output needs: the
first layer's input gradient, frozen layers' weight gradients, which the tape emits). Two
independent counts of the matrix-product ops left are taken:

* **ops**: convcost's own count from each executed op's static shapes (one MAC per output
  position, tap, input channel per group and output channel; ``MatMul``/``BatchMatMul``/
  ``Einsum`` as the product of all index sizes). Exact for every op type below.
* **profiler**: TensorFlow's registered FLOPs statistic / 2. It is exact for ``MatMul`` and
  the forward convolutions; ``Conv2DBackpropInput``/``Conv2DBackpropFilter`` only with 'same'
  padding and sizes divisible by the stride (it counts input positions / stride²);
  ``BatchMatMulV2/V3`` are miscounted with ``adj_x`` (it reads a ``transpose_a`` attribute they
  do not have); and it has **no statistic** (counts 0) for the ops in :data:`UNCOUNTED`.

Roles: a backward product whose result another product consumes is an input gradient (dx),
otherwise a weight gradient (dW); conv backprop ops carry their role in their type. Models
that run a loop (recurrent layers without ``unroll``) or a compiled call (grouped convs) hide
their ops from this count: :attr:`GradientCount.hidden` names them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from convcost.errors import ConvcostError, one_line

BATCH = 2

FILTER_GRAD = frozenset({"Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter",
                         "Conv3DBackpropFilterV2", "Conv2DBackpropFilterV2"})
INPUT_GRAD = frozenset({"Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropInput",
                        "Conv3DBackpropInputV2", "Conv2DBackpropInputV2"})
PRODUCTS = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum",
                      "Conv2D", "Conv3D", "DepthwiseConv2dNative"}) | FILTER_GRAD | INPUT_GRAD
UNCOUNTED = frozenset({"DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
                       "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2", "Einsum"})
"""Product ops TensorFlow's profiler has no FLOPs statistic for (TF 2.21)."""
HIDING = frozenset({"While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall"})
ROLES = ("forward", "dx", "dW")
TRAINING_ROLES = (("forward", "forward_macs"), ("dx", "input_grad_macs"),
                  ("dW", "weight_grad_macs"))
"""Each role and the :class:`convcost.analysis.training.TrainingCost` attribute it checks."""


@dataclass(frozen=True)
class GradientCount:
    """MACs per sample of the products in the pruned gradient graph, by role.

    Attributes:
        ops: convcost's count from the ops' shapes, ``{"forward", "dx", "dW"}``.
        profiler: TensorFlow's profiler FLOPs / 2, same keys.
        op_types: the product op types seen, by role.
        uncounted: product op types the profiler has no statistic for.
        hidden: loop or call ops whose bodies this count does not enter.
    """

    ops: dict[str, int]
    profiler: dict[str, float]
    op_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uncounted: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()


def gradient_count(model: Any) -> GradientCount:
    """Count the forward, input-gradient and weight-gradient MACs of a training step of
    ``model`` in TensorFlow's pruned gradient graph (see the module docstring)."""
    from convcost.analysis.verify import _profile

    graph, live = _gradient_graph(model)
    flops = _profile(graph)
    roles = _roles(graph, live)
    ops: dict[str, int] = Counter()
    profiler: dict[str, float] = defaultdict(float)
    types: dict[str, set[str]] = defaultdict(set)
    for op in graph.get_operations():
        if op.type not in PRODUCTS or op.name not in live:
            continue
        role = roles[op.name]
        ops[role] += op_macs(op)
        profiler[role] += flops.get(op.name, 0) / 2
        types[role].add(op.type)
    seen = set().union(*types.values()) if types else set()
    hidden = sorted({op.type for op in graph.get_operations()
                     if op.type in HIDING and op.name in live})
    return GradientCount({r: ops[r] // BATCH for r in ROLES},
                         {r: profiler[r] / BATCH for r in ROLES},
                         {r: tuple(sorted(types[r])) for r in ROLES},
                         tuple(sorted(seen & UNCOUNTED)), tuple(hidden))


def _gradient_graph(model: Any) -> tuple[Any, set[str]]:
    """The traced training step's graph and the names of the ops its outputs need.

    The traced graph is used as is (freezing fails on a batch norm's moving-average updates);
    ``extract_sub_graph`` gives the ops the loss and the gradients need, which is what the
    function runtime keeps (stateful updates aside, which do no products).
    """
    import tensorflow as tf

    variables = model.trainable_variables
    specs = [tf.TensorSpec((BATCH, *x.shape[1:]), x.dtype) for x in model.inputs]

    @tf.function
    def step(*xs: Any) -> list[Any]:
        with tf.GradientTape() as tape:
            y = model(list(xs) if len(xs) > 1 else xs[0], training=True)
            outputs = y if isinstance(y, (list, tuple)) else [y]
            loss = tf.add_n([tf.reduce_mean(tf.square(tf.cast(t, tf.float32)))
                             for t in outputs])
        grads = tape.gradient(loss, variables)
        return [loss, *(tf.convert_to_tensor(g) for g in grads if g is not None)]

    try:
        concrete = step.get_concrete_function(*specs)
    except Exception as error:
        text = one_line(error, 200)
        raise ConvcostError(f"TensorFlow could not trace a training step: "
                            f"{type(error).__name__}: {text} Received: {model.name!r}.") from None
    from convcost.native import captured

    outputs = [t.op.name for t in concrete.graph.outputs]
    with captured():  # a deprecation notice of the TF1 API
        live = tf.compat.v1.graph_util.extract_sub_graph(concrete.graph.as_graph_def(), outputs)
    return concrete.graph, {node.name for node in live.node}


def _roles(graph: Any, live: set[str]) -> dict[str, str]:
    """op name -> 'forward', 'dx' or 'dW' for every live product op (module docstring)."""
    consumers: dict[str, list[Any]] = defaultdict(list)
    operations = [op for op in graph.get_operations() if op.name in live]
    for op in operations:
        for tensor in op.inputs:
            consumers[tensor.op.name].append(op)
    roles = {}
    for op in operations:
        if op.type not in PRODUCTS:
            continue
        if "gradient_tape" not in op.name.split("/")[0]:
            roles[op.name] = "forward"
        elif op.type in FILTER_GRAD:
            roles[op.name] = "dW"
        elif op.type in INPUT_GRAD:
            roles[op.name] = "dx"
        else:
            roles[op.name] = "dx" if _feeds_product(op, consumers) else "dW"
    return roles


def _feeds_product(op: Any, consumers: dict[str, list[Any]]) -> bool:
    """Whether another product op consumes ``op``'s result, directly or through others."""
    stack, seen = [op], {op.name}
    while stack:
        for nxt in consumers[stack.pop().name]:
            if nxt.name in seen:
                continue
            if nxt.type in PRODUCTS:
                return True
            seen.add(nxt.name)
            stack.append(nxt)
    return False


def op_macs(op: Any) -> int:
    """Multiply-accumulates of one product op, from its static shapes."""
    t, out = op.type, _dims(op.outputs[0])
    if t == "MatMul":
        a = _dims(op.inputs[0])
        return (a[0] if op.get_attr("transpose_a") else a[1]) * math.prod(out)
    if t.startswith("BatchMatMul"):
        a = _dims(op.inputs[0])
        return (a[-2] if op.get_attr("adj_x") else a[-1]) * math.prod(out)
    if t == "Einsum":
        return _einsum_macs(op)
    if t in ("Conv2D", "Conv3D"):
        return math.prod(out) * math.prod(_dims(op.inputs[1])[:-1])
    if t == "DepthwiseConv2dNative":
        return math.prod(out) * math.prod(_dims(op.inputs[1])[:2])
    dy = math.prod(_dims(op.inputs[2]))
    if t in INPUT_GRAD:  # dy positions x filter (taps x C_in [x multiplier]): per dy element
        taps = _dims(op.inputs[1])
        return dy * math.prod(taps[:-1] if t.startswith("Conv") else taps[:-2])
    # filter gradient: dy elements x taps x C_in per group (out is the filter's shape)
    return dy * math.prod(out[:-1] if t.startswith("Conv") else out[:-2])


def _einsum_macs(op: Any) -> int:
    equation = op.get_attr("equation").decode().replace(" ", "")
    sizes: dict[str, int] = {}
    middle = 1  # the sizes an ellipsis stands for
    for spec, tensor in zip(equation.split("->")[0].split(","), op.inputs):
        shape = _dims(tensor)
        head, _, tail = spec.partition("...")
        if "..." in spec:
            middle = max(middle, math.prod(shape[len(head): len(shape) - len(tail)]))
            shape = shape[: len(head)] + shape[len(shape) - len(tail):]
        sizes.update(zip(head + tail, shape))
    return math.prod(sizes.values()) * middle


def _dims(tensor: Any) -> list[int]:
    if not tensor.shape.is_fully_defined():
        raise ConvcostError(f"An op of the gradient graph has an unknown shape. Received: "
                            f"{tensor.name} {tensor.shape}.")
    return [int(d) for d in tensor.shape]


@dataclass(frozen=True)
class RoleCheck:
    """One role's training MACs per sample: convcost's, the executed ops', the profiler's."""

    convcost: int
    ops: int
    profiler: float
    op_types: tuple[str, ...]


@dataclass(frozen=True)
class TrainingCheck:
    """The verdict of ``verify --training``: convcost's training MACs beside the gradient
    graph's, role by role (see :func:`check_training`)."""

    model: str
    roles: dict[str, RoleCheck]
    profiler_uncounted_ops: tuple[str, ...]
    hidden_ops: tuple[str, ...]

    @property
    def agree(self) -> bool:
        """Every role's count equals the executed ops' and no op was hidden in a loop."""
        return all(r.convcost == r.ops for r in self.roles.values()) and not self.hidden_ops


def check_training(model: str, cost: Any, counted: GradientCount) -> TrainingCheck:
    """convcost's training MACs per sample (``cost``, a
    :class:`convcost.analysis.training.TrainingCost`) against ``counted``, role by role."""
    roles = {role: RoleCheck(getattr(cost, attr), counted.ops[role], counted.profiler[role],
                             tuple(counted.op_types[role]))
             for role, attr in TRAINING_ROLES}
    return TrainingCheck(model, roles, tuple(counted.uncounted), tuple(counted.hidden))
