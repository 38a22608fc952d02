"""Cost the TensorFlow ops a layer call creates: for layers without a rule, and for arithmetic
written directly in a ``call()`` (residual adds, ``x @ w``, attention in keras-hub layers).

While the walker traces a call on symbolic inputs (:mod:`convcost.count.tracing`), TensorFlow
builds a graph of ops in Keras' scratch ``FuncGraph``; every shape in it is static (the trace
runs at batch 1). Each op belongs to the innermost recorded layer call that created it. Layers
with a cost rule are costed by their rule and their ops are ignored; every other call is costed
from the ops it created itself, outside its sub-layers' calls, by :func:`op_cost`:

* **MACs**: ``MatMul``, ``BatchMatMul*``, ``Einsum`` (product of the sizes of all distinct
  indices), ``Conv2D``/``Conv3D``, ``DepthwiseConv2dNative``, ``Conv2DBackpropInput``.
* **Other FLOPs**: 1 per output element of an element-wise op (``AddN``: n - 1), 1 per input
  element of a reduction or scan (``TopKV2``: a floor), 3 per element of ``Softmax``, the
  window per output of pooling, 7 per output of bilinear resizing. Element-wise work is
  counted as TensorFlow executes it: ``silu`` lowered to ``x * sigmoid(x)`` is 2-3 ops.
* **Zero on purpose**: data movement and bookkeeping (:data:`ZERO_OPS`).
* **Unknown**: anything else, listed per call with its count; the call's row is then
  *partial* (never silently complete).

Data flow decides what is per-inference work. An op none of whose inputs depends on a model
input is *foldable* (weight initialisers of a shape-only build, rotary sin/cos tables and causal
masks at a fixed length): it is not counted. Integer and boolean element work (mask merging)
is not floating-point work and is not counted either. A matrix product whose two operands both
depend on the input is an activation x activation product: kind ``attention``; with one, a
weight product: ``fully_connected``.

Only public TensorFlow API is used here; the op counter of a graph comes from
:mod:`convcost.count.keras_internals`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras

from convcost.count import keras_internals as internals

MAC_OPS = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum",
                     "Conv2D", "Conv3D", "DepthwiseConv2dNative", "Conv2DBackpropInput"})
"""Matrix products and convolutions: multiply-accumulates from static shapes."""

ELEMENTWISE_OPS = frozenset({
    "Neg", "Abs", "Sign", "Sqrt", "Rsqrt", "Square", "Exp", "Expm1", "Log", "Log1p", "Tanh",
    "Sigmoid", "Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "Erf", "Erfc", "Sin",
    "Cos", "Tan", "Floor", "Ceil", "Round", "Rint", "Reciprocal", "Inv", "LeakyRelu", "Gelu",
    "IsFinite", "IsNan", "LogicalNot", "Invert", "Add", "AddV2", "Sub", "Mul", "MulNoNan",
    "RealDiv", "Div", "DivNoNan", "TruncateDiv", "FloorDiv", "FloorMod", "Mod", "Maximum",
    "Minimum", "Pow", "SquaredDifference", "BiasAdd", "Less", "LessEqual", "Greater",
    "GreaterEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "Select", "SelectV2",
    "ClipByValue", "Atan2", "BitwiseAnd", "BitwiseOr", "LeftShift", "RightShift", "AddN"})
"""One FLOP per output element (``AddN`` of n inputs: n - 1)."""

REDUCE_OPS = frozenset({"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "ArgMax", "ArgMin",
                        "EuclideanNorm", "Cumsum", "Cumprod", "TopKV2"})
"""One FLOP per input element (``TopKV2``: one comparison per element, a floor)."""

ZERO_OPS = frozenset({
    "Identity", "IdentityN", "Reshape", "Transpose", "ConjugateTranspose", "ConcatV2", "Concat",
    "GatherV2", "Gather", "GatherNd", "ResourceGather", "StridedSlice", "Slice", "Shape",
    "ShapeN", "Size", "Rank", "Cast", "Bitcast", "Const", "Placeholder", "PlaceholderWithDefault",
    "ReadVariableOp", "VarHandleOp", "Pack", "Unpack", "Fill", "Range", "ExpandDims", "Squeeze",
    "Tile", "BroadcastTo", "BroadcastArgs", "BroadcastGradientArgs", "Split", "SplitV",
    "ZerosLike", "OnesLike", "OneHot", "NoOp", "StopGradient", "PreventGradient",
    "TensorScatterUpdate", "ScatterNd", "Where", "Pad", "PadV2", "MirrorPad", "ReverseV2",
    "Roll", "EnsureShape", "CheckNumerics", "Assert", "Snapshot", "DeepCopy", "InplaceUpdate",
    "XlaDynamicUpdateSlice", "Empty", "MatrixBandPart", "DiagPart", "ResizeNearestNeighbor",
    "RandomStandardNormal", "RandomUniform", "RandomUniformInt", "TruncatedNormal",
    "StatelessRandomNormalV2", "StatelessRandomUniformV2", "StatelessTruncatedNormalV2",
    "StatelessRandomGetKeyCounter", "StatelessRandomGetAlg", "StatelessRandomUniformIntV2"})
"""Data movement and bookkeeping: 0 FLOPs. Nearest-neighbour resizing is a copy; random ops
only feed initialisers or training-time noise here."""

SOFTMAX_FLOPS = {"Softmax": 3, "LogSoftmax": 3}
POOL_OPS = frozenset({"AvgPool", "MaxPool", "AvgPool3D", "MaxPool3D"})
BILINEAR_FLOPS_PER_OUTPUT = 7  # 2 x 4 taps - 1, as the Resizing rule counts it


@dataclass(frozen=True)
class OpCost:
    """One op: ``category`` is ``mac``, ``flop``, ``int`` (integer/boolean work, not counted),
    ``zero`` or ``unknown``; ``kind`` the piece kind of a ``mac`` op."""

    category: str
    macs: int = 0
    flops: int = 0
    kind: str = ""


@dataclass
class Tally:
    """What one layer call's own ops cost: MACs by kind, other FLOPs, unknown ops by type."""

    macs: Counter[str] = field(default_factory=Counter)
    flops: int = 0
    unknown: Counter[str] = field(default_factory=Counter)
    ops: int = 0

    @property
    def empty(self) -> bool:
        return not (sum(self.macs.values()) or self.flops or self.unknown)


def available() -> bool:
    """Whether layer calls create TensorFlow graph ops (the TensorFlow backend)."""
    return keras.backend.backend() == "tensorflow"


class OpLog:
    """The ops of one traced call: wrap the traced function, count ops, then tally them.

    Usage: ``compute_output_spec(log.wrap(fn), ...)`` with ``log.count`` as the recording's
    counter; then :meth:`tallies` for the recorded calls.
    """

    def __init__(self) -> None:
        self.graph: Any = None
        self.live: set[str] = set()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` that first notes the scratch graph and its input placeholders."""

        def traced(*args: Any, **kwargs: Any) -> Any:
            import tensorflow as tf

            self.graph = tf.compat.v1.get_default_graph()
            self.live.update(x.op.name for x in keras.tree.flatten((args, kwargs))
                             if tf.is_tensor(x))
            return fn(*args, **kwargs)

        return traced

    def count(self) -> int:
        """Ops created so far in the scratch graph (0 before the trace starts)."""
        return internals.graph_op_count(self.graph) if self.graph is not None else 0

    def stand_in(self, like: Any) -> Any:
        """A fresh input-dependent placeholder shaped like ``like`` (for a memoized call)."""
        import tensorflow as tf

        if not tf.is_tensor(like):
            return like
        placeholder = tf.compat.v1.placeholder(like.dtype, like.shape)
        self.live.add(placeholder.op.name)
        return placeholder

    def tallies(self, windows: Sequence[tuple[Any, int, tuple[int, int]]]) -> dict[Any, Tally]:
        """Tally each op for the innermost window holding it.

        Args:
            windows: ``(key, depth, (first, last))`` per recorded call: the ops it created are
                ``[first, last)`` in creation order; deeper calls win.
        """
        if self.graph is None:
            return {}
        ops = self.graph.get_operations()
        owner: list[Any] = [None] * len(ops)
        for key, _, (first, last) in sorted(windows, key=lambda w: w[1]):
            for index in range(max(first, 0), min(last, len(ops))):
                owner[index] = key
        result: dict[Any, Tally] = {key: Tally() for key, _, _ in windows}
        live = set(self.live)
        for index, op in enumerate(ops):
            operands = sum(1 for x in op.inputs if x.op.name in live)
            if operands or op.name in live:
                live.add(op.name)
            key = owner[index]
            if key is None or not operands:
                continue  # outside every call, or foldable (depends on no model input)
            _add(result[key], op, operands)
        return result


def _add(tally: Tally, op: Any, operands: int) -> None:
    cost = op_cost(op, operands)
    tally.ops += 1
    if cost.category == "unknown":
        tally.unknown[op.type] += 1
    elif cost.category == "mac":
        tally.macs[cost.kind] += cost.macs
    elif cost.category == "flop":
        tally.flops += cost.flops


def op_cost(op: Any, operands: int = 1) -> OpCost:
    """The cost of one TensorFlow op (``operands``: how many inputs depend on the model input)."""
    kind = op.type
    if kind in ZERO_OPS:
        return OpCost("zero")
    shapes = [_dims(x.shape) for x in op.inputs]
    outputs = [_dims(x.shape) for x in op.outputs]
    if any(s is None for s in shapes) or any(s is None for s in outputs):
        return OpCost("unknown")
    if kind in MAC_OPS:
        macs, mac_kind = _mac_op(op, shapes, outputs[0])  # type: ignore[arg-type]
        return OpCost("mac", macs=macs, kind="attention" if operands > 1 else mac_kind)
    if _integer(op):
        return OpCost("int")
    out = math.prod(outputs[0]) if outputs else 0  # type: ignore[arg-type]
    if kind in ELEMENTWISE_OPS:
        return OpCost("flop", flops=out * (len(shapes) - 1 if kind == "AddN" else 1))
    if kind in REDUCE_OPS:
        return OpCost("flop", flops=math.prod(shapes[0]))  # type: ignore[arg-type]
    if kind in SOFTMAX_FLOPS:
        return OpCost("flop", flops=SOFTMAX_FLOPS[kind] * out)
    if kind in POOL_OPS:
        return OpCost("flop", flops=out * math.prod(op.get_attr("ksize")))
    if kind == "ResizeBilinear":
        return OpCost("flop", flops=BILINEAR_FLOPS_PER_OUTPUT * out)
    return OpCost("unknown")


def _mac_op(op: Any, shapes: list[list[int]], out: list[int]) -> tuple[int, str]:
    """(MACs, kind) of a matrix product or convolution."""
    kind = op.type
    if kind == "MatMul":
        a, b = shapes[0], shapes[1]
        m, k = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return m * n * k, "fully_connected"
    if kind.startswith("BatchMatMul"):
        a = shapes[0]
        k = a[-2] if op.get_attr("adj_x") else a[-1]
        return math.prod(out) * k, "fully_connected"  # out holds the broadcast batch x m x n
    if kind == "Einsum":
        return einsum_macs(op.get_attr("equation").decode(), shapes), "fully_connected"
    if kind == "DepthwiseConv2dNative":
        return math.prod(out) * shapes[1][0] * shapes[1][1], "depthwise"
    if kind == "Conv2DBackpropInput":  # transposed conv: filter (kh, kw, out_c, in_c)
        return math.prod(shapes[2]) * math.prod(shapes[1][:3]), "standard"
    kernel = shapes[1][:-2]  # Conv2D/3D: filter (k..., in_c / groups, out_c)
    pointwise = all(k == 1 for k in kernel)
    return math.prod(out) * math.prod(shapes[1][:-1]), "pointwise" if pointwise else "standard"


def einsum_macs(equation: str, shapes: Sequence[Sequence[int]]) -> int:
    """Product of the sizes of all distinct indices (``...`` counted as its dimensions)."""
    lhs = equation.replace(" ", "").split("->")[0]
    sizes: dict[str, int] = {}
    for spec, dims in zip(lhs.split(","), shapes):
        if "..." in spec:
            head, tail = spec.split("...")
            middle = len(dims) - len(head) - len(tail)
            letters = [*head, *(f"...{i}" for i in range(middle)), *tail]
        else:
            letters = list(spec)
        for letter, size in zip(letters, dims):
            sizes[letter] = max(sizes.get(letter, 1), int(size))  # broadcast 1 against n
    return math.prod(sizes.values())


def _dims(shape: Any) -> list[int] | None:
    """A static shape as ints; None if its rank or any size is unknown."""
    if shape.rank is None:
        return None
    dims = shape.as_list()
    if any(d is None for d in dims):
        return None
    return [int(d) for d in dims]


def _integer(op: Any) -> bool:
    """Whether every input and output of ``op`` is an integer or boolean tensor."""
    tensors: Iterable[Any] = [*op.inputs, *op.outputs]
    return all(t.dtype.is_integer or t.dtype.is_bool for t in tensors)


def describe_unknown(unknown: Counter[str]) -> str:
    """``"While x1, Foo x2"`` for a note."""
    return ", ".join(f"{name} x{count}" for name, count in sorted(unknown.items()))
