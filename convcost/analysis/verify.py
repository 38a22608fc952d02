"""Cross-check convcost against TensorFlow's own graph profiler, layer by layer.

The profiler runs on the same model and input shape (batch 1): the model is traced with
``tf.function(...).get_concrete_function(tf.TensorSpec([1, *shape]))``, frozen with
``convert_variables_to_constants_v2`` and profiled with
``tf.compat.v1.profiler.profile(graph, options=ProfileOptionBuilder.float_operation())``.

Memory: nothing is run, so no activation is ever allocated; the one allocation that grows
with the model's size is the frozen copy of its weights, plus one zero tensor of the input's
shape that Grappler (inside freezing) creates as a feed.

Mapping ops to layers: while the model is traced, every layer call is recorded with the window
of graph ops it created (:mod:`convcost.count.tracing`), so an op belongs to the innermost layer
call
that created it. That is exact where name scopes are not (Keras de-duplicates scope names, so
a layer ``conv`` gets scope ``conv_1`` and a layer ``conv_1`` gets ``conv_1_2``; operations
like ``x + y`` open no scope at all). Ops created by a model outside any layer call are shown
as the model's own row.

What is compared: the profiler counts 2 FLOPs per multiply-accumulate in ``Conv2D``,
``Conv3D``, ``DepthwiseConv2dNative``, ``MatMul``, ``BatchMatMul*`` and
``Conv2DBackpropInput`` (transposed conv), so those ops' FLOPs must equal 2 x convcost's MACs.
Everything else is reported, not judged: convcost's other FLOPs follow its own convention
(:mod:`convcost.count.formulas`) while TensorFlow counts the ops it happens to lower a layer to
(``BiasAdd`` for biases; batch norm as ``Mul``/``AddV2``/``Sub``/``Rsqrt``; ``Mean`` for
global pooling; ``MaxPool``/``AvgPool``; ``Softmax``; no statistic at all for ``Relu``,
``Sigmoid``, ``Tanh``, ``Einsum`` or a ``While`` loop).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.count.report import Report
from convcost.errors import ConvcostError, one_line
from convcost.native import captured

MAC_OPS = frozenset({"Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMul",
                     "BatchMatMulV2", "BatchMatMulV3", "Conv2DBackpropInput"})
"""TensorFlow op types whose profiler FLOPs are 2 x multiply-accumulates."""

UNCOUNTED_OPS = frozenset({"Einsum", "While", "StatelessWhile", "Conv3DBackpropInputV2",
                           "PartitionedCall", "StatefulPartitionedCall", "Conv2DBackpropInputV2",
                           "FusedBatchNormV3", "Conv"})
"""Op types that do arithmetic the profiler has no FLOPs statistic for (it counts 0)."""

LOOP_OPS = frozenset({"Enter", "While", "StatelessWhile"})
"""Op types that mark a loop: the profiler counts a loop body's ops once, not per step."""

STATUSES = ("agree", "differs", "not seen", "no MACs")

CONVENTIONS = (  # what is compared, and what is not judged

    "Compared, for every layer with MACs on either side: TF's Conv2D/Conv3D/"
    "DepthwiseConv2dNative/MatMul/BatchMatMul/Conv2DBackpropInput FLOPs (= 2 x "
    "multiply-accumulates) against 2 x convcost MACs. A layer agrees only when they are equal; "
    "a known cause (a loop counted once, a dilated or transposed conv) explains a difference, "
    "it does not make it agree.",
    "Not judged (different conventions): TF counts biases as BiasAdd, batch norm lowered to "
    "Mul/AddV2/Sub/Rsqrt (incl. per-channel folding), global pooling as Mean, pooling as "
    "MaxPool/AvgPool, Softmax; it has no FLOPs for Relu/Sigmoid/Tanh, Einsum or loops. "
    "convcost's other FLOPs: 1 per bias or activation output, 2 per batch-norm element, "
    "3 per softmax element, window size per pooled element, n - 1 per element of an n-input "
    "merge.",
)


@dataclass(frozen=True)
class LayerCheck:
    """One layer (all its calls) as convcost and the profiler see it.

    ``profiler_mac_flops`` sums the FLOPs of the :data:`MAC_OPS` the layer created;
    ``profiler_other`` the FLOPs of its other ops by type; ``uncounted`` names the ops it
    created that do arithmetic the profiler cannot count.
    """

    path: str
    type: str
    calls: int
    macs: int
    other_flops: int
    profiler_mac_flops: int
    profiler_other: tuple[tuple[str, int], ...] = ()
    uncounted: tuple[str, ...] = ()
    mac_op_types: tuple[str, ...] = ()
    op_types: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """'agree', 'differs', 'not seen' (profiler cannot count the op) or 'no MACs'."""
        if self.macs == 0 and self.profiler_mac_flops == 0:
            return "no MACs"
        if 2 * self.macs == self.profiler_mac_flops:
            return "agree"
        if self.profiler_mac_flops == 0 and self.uncounted:
            return "not seen"
        return "differs"

    @property
    def explanation(self) -> str:
        """Why the two differ, where the reason is known."""
        if self.status == "not seen":
            return f"profiler has no FLOPs statistic for {', '.join(self.uncounted)}"
        if self.status != "differs":
            return ""
        if any(kind.startswith("while loop") for kind in self.uncounted):
            return ("the layer runs a while loop: TF's profiler counts at most one pass of its "
                    "body (and skips ops whose shapes are unknown inside it); convcost counts "
                    "every step")
        if "SpaceToBatchND" in self.op_types:
            return ("dilated conv: TF runs it as SpaceToBatchND + conv on the input padded to a "
                    "multiple of the dilation rate, computing (and counting) positions it then "
                    "crops; convcost counts the layer's output positions")
        if "Conv2DBackpropInput" in self.mac_op_types:
            return ("TF counts a transposed conv as out_positions/stride^2 x kernel x C_in x "
                    "C_out (exact only for 'same' padding); convcost counts every input "
                    "position's kernel scatter")
        if self.macs == 0:
            return "convcost counted no MACs where TensorFlow runs matrix products"
        if self.uncounted and self.profiler_mac_flops < 2 * self.macs:
            return (f"part of the work runs in ops the profiler counts as 0 "
                    f"({', '.join(self.uncounted)})")
        return "unexplained"

    @property
    def profiler_other_flops(self) -> int:
        return sum(flops for _, flops in self.profiler_other)

    @property
    def checked(self) -> bool:
        """Judged: convcost or the profiler finds matrix products (MACs) in the layer."""
        return self.status != "no MACs"

    @property
    def failing(self) -> bool:
        """Counts against agreement: a layer with MACs whose count the profiler does not
        confirm exactly, explained or not (an explanation says why, it does not agree)."""
        return self.checked and self.status != "agree"


@dataclass(frozen=True)
class VerifyReport:
    """The layer-by-layer comparison of a model, with the convcost report it came from."""

    model: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerCheck, ...]
    report: Report
    profiler_total_flops: int
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def agree(self) -> bool:
        """Every layer with MACs agrees exactly with the profiler, and no layer hides matrix
        products convcost did not count."""
        return not self.disagreements

    @property
    def disagreements(self) -> tuple[LayerCheck, ...]:
        return tuple(row for row in self.layers if row.failing)

    @property
    def checked(self) -> tuple[LayerCheck, ...]:
        return tuple(row for row in self.layers if row.checked)

    def summary(self) -> str:
        """One line: how many layers with MACs agree, the first disagreements, and the totals
        when they do not agree."""
        agreeing = sum(1 for row in self.checked if row.status == "agree")
        head = (f"{self.model}: {agreeing}/{len(self.checked)} layers with MACs agree "
                f"exactly with TensorFlow's profiler")
        if self.agree:
            return head + "."
        shown = ", ".join(f"{row.path} ({row.status}: convcost {2 * row.macs:,} vs TF "
                          f"{row.profiler_mac_flops:,} FLOPs)" for row in self.disagreements[:3])
        more = len(self.disagreements) - 3
        return (f"{head}; {len(self.disagreements)} disagree: {shown}"
                + (f" and {more} more" if more > 0 else "")
                + f"; totals: convcost {self.report.flops:,} FLOPs, TF profiler "
                  f"{self.profiler_total_flops:,}.")


def verify(model: Any, input_shape: Sequence[int] | None = None) -> VerifyReport:
    """Compare convcost's counts for ``model`` with TensorFlow's profiler, layer by layer.

    Args:
        model: a built Keras model with one input (functional, Sequential or subclassed).
        input_shape: one sample's shape without batch, e.g. ``(224, 224, 3)``; default: the
            model's own.

    Raises:
        ConvcostError: the model has several inputs, or cannot be traced by TensorFlow.
    """
    from convcost.count.walker import analyze

    started = time.perf_counter()
    report = analyze(model, input_shape=input_shape)
    shapes = _input_shapes(model, report)
    owners, ops = _owned_ops(model, shapes)
    flops_by_op = _profile(ops.graph)
    bodies = _call_bodies(ops.graph)
    rows = _compare(report, owners, ops, flops_by_op, bodies)
    total = sum(flops_by_op.values()) + sum(sum(c.values()) for c in bodies.values())
    return VerifyReport(
        model=report.model, input_shape=shapes[0], layers=rows, report=report,
        profiler_total_flops=total, seconds=time.perf_counter() - started, notes=report.notes,
    )


def _input_shapes(model: Any, report: Report) -> list[tuple[int, ...]]:
    """Per-sample shapes of the model's inputs: the report's, or each functional input's."""
    inputs = _functional_inputs(model)
    if len(inputs) <= 1:
        return [tuple(int(d) for d in report.input_shape)]  # type: ignore[arg-type]
    shapes = [tuple(x.shape[1:]) for x in inputs]
    if any(d is None for shape in shapes for d in shape):
        raise ConvcostError(f"verify needs every input's shape; one is unknown. Received: "
                            f"{model.name!r} with inputs {shapes}.")
    return [tuple(int(d) for d in shape) for shape in shapes]


def _functional_inputs(model: Any) -> list[Any]:
    from convcost.count.keras_internals import is_static

    if not is_static(model):
        return []
    return list(getattr(model, "inputs", None) or [])


@dataclass
class _Ops:
    """The frozen graph and, for each op name, its type and owning layer path."""

    graph: Any
    types: dict[str, str]


def _owned_ops(model: Any, shapes: list[tuple[int, ...]]
               ) -> tuple[dict[str, tuple[str, Any]], _Ops]:
    """Trace the model once, recording which layer call created each graph op; freeze it."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from convcost.count.rules import has_rule
    from convcost.count.tracing import recording

    def counter() -> int:
        return len(tf.compat.v1.get_default_graph().get_operations())

    dtypes = _input_dtypes(model, len(shapes))
    specs = [tf.TensorSpec((1, *shape), dtype) for shape, dtype in zip(shapes, dtypes)]
    try:
        with recording(model, has_rule, counter) as records:
            function = tf.function(lambda *xs: model(xs[0] if len(xs) == 1 else list(xs),
                                                     training=False))
            concrete = function.get_concrete_function(*specs)
        frozen = convert_variables_to_constants_v2(concrete)
    except ConvcostError:
        raise
    except Exception as error:
        text = one_line(error)
        raise ConvcostError(f"TensorFlow could not trace the model for profiling: "
                            f"{type(error).__name__}: {text} Received: {model.name!r} on input "
                            f"shapes {shapes}.") from None
    names = [op.name for op in concrete.graph.get_operations()]
    owners: dict[str, tuple[str, Any]] = {}
    for record in sorted(records, key=lambda r: r.depth):  # inner calls overwrite outer ones
        first, last = record.ops
        for name in names[max(first, 0):last]:
            owners[name] = (record.path, record)
    types = {op.name: op.type for op in frozen.graph.get_operations()}
    _own_by_scope(owners, list(types))
    return owners, _Ops(frozen.graph, types)


def _own_by_scope(owners: dict[str, tuple[str, Any]], names: list[str]) -> None:
    """Give ops that freezing created (a while loop lowered to Enter/Merge/...: new names) to
    the layer whose ops share their longest name scope, where that scope has one owner."""
    by_scope: dict[str, set[str]] = defaultdict(set)
    record_of: dict[str, Any] = {}
    for name, (path, record) in owners.items():
        scope = name.rpartition("/")[0]
        by_scope[scope].add(path)
        record_of[scope] = record
    for name in names:
        if name in owners:
            continue
        parts = name.split("/")
        for end in range(len(parts) - 1, 0, -1):
            scope = "/".join(parts[:end])
            if len(by_scope.get(scope, ())) == 1:
                owners[name] = (next(iter(by_scope[scope])), record_of[scope])
                break


def _input_dtypes(model: Any, count: int) -> list[str]:
    inputs = _functional_inputs(model)
    if len(inputs) == count:
        return [str(getattr(x, "dtype", None) or "float32") for x in inputs]
    return ["float32"] * count


def _profile(graph: Any) -> dict[str, int]:
    """FLOPs per op name, from TensorFlow's profiler (silenced: it prints to stdout)."""
    import tensorflow as tf

    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    with captured():
        result = tf.compat.v1.profiler.profile(graph, options=options)
    found: dict[str, int] = {}
    pending = list(result.children)
    while pending:
        node = pending.pop()
        if node.float_ops:
            found[node.name] = int(node.float_ops)
        pending.extend(node.children)
    return found


CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})


def _call_bodies(graph: Any) -> dict[str, Counter]:
    """FLOPs by op type inside each function-call op (e.g. Keras' grouped conv, which runs in
    a compiled ``tf.function``): the body is rebuilt with the caller's input shapes and
    profiled the same way; calls inside calls are followed."""
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph

    calls = [op for op in graph.get_operations() if op.type in CALL_OPS]
    if not calls:
        return {}
    library = {f.signature.name: f for f in graph.as_graph_def().library.function}
    found: dict[str, Counter] = {}
    for op in calls:
        fdef = library.get(op.get_attr("f").name)
        if fdef is None:
            continue
        body = function_def_to_graph(fdef, input_shapes=[x.shape for x in op.inputs])
        flops = _profile(body)
        counts: Counter = Counter()  # every op type of the body, with its FLOPs (maybe 0)
        for inner in body.get_operations():
            counts[inner.type] += flops.get(inner.name, 0)
        for nested in _call_bodies(body).values():
            counts.update(nested)
        found[op.name] = counts
    return found


def _compare(report: Report, owners: dict[str, tuple[str, Any]], ops: _Ops,
             flops_by_op: dict[str, int], bodies: dict[str, Counter]) -> tuple[LayerCheck, ...]:
    """One :class:`LayerCheck` per report path (calls summed), then the models' own ops."""
    mac_flops: dict[str, int] = defaultdict(int)
    other: dict[str, Counter] = defaultdict(Counter)
    uncounted: dict[str, set[str]] = defaultdict(set)
    mac_types: dict[str, set[str]] = defaultdict(set)
    all_types: dict[str, set[str]] = defaultdict(set)
    layers: dict[str, Any] = {}
    for name, (path, record) in owners.items():
        op_type = ops.types.get(name)
        if op_type is None:  # removed by freezing (variable reads)
            continue
        layers.setdefault(path, record.layer)
        all_types[path].add(op_type)
        counted = bodies.get(name) or Counter({op_type: flops_by_op.get(name, 0)})
        all_types[path].update(counted)
        if op_type in LOOP_OPS:
            uncounted[path].add("while loop (body counted once)")
        for kind, flops in counted.items():
            if kind in MAC_OPS:
                mac_flops[path] += flops
                mac_types[path].add(kind)
            elif kind in UNCOUNTED_OPS and not (kind in CALL_OPS and name in bodies):
                uncounted[path].add(kind)
            elif flops:
                other[path][kind] += flops
    rows = []
    for path, (macs, flops, calls, type_name) in _report_paths(report).items():
        rows.append(LayerCheck(
            path=path, type=type_name, calls=calls, macs=macs, other_flops=flops,
            profiler_mac_flops=mac_flops.pop(path, 0),
            profiler_other=tuple(sorted(other.pop(path, Counter()).items())),
            uncounted=tuple(sorted(uncounted.pop(path, set()))),
            mac_op_types=tuple(sorted(mac_types.pop(path, set()))),
            op_types=tuple(sorted(all_types.get(path, set()))),
        ))
    for path in sorted(set(mac_flops) | set(other) | set(uncounted)):
        rows.append(LayerCheck(
            path=path or "(model)", type=type(layers[path]).__name__ + " (own ops)", calls=1,
            macs=0, other_flops=0, profiler_mac_flops=mac_flops.get(path, 0),
            profiler_other=tuple(sorted(other.get(path, Counter()).items())),
            uncounted=tuple(sorted(uncounted.get(path, set()))),
            mac_op_types=tuple(sorted(mac_types.get(path, set()))),
            op_types=tuple(sorted(all_types.get(path, set()))),
        ))
    return tuple(rows)


def _report_paths(report: Report) -> dict[str, tuple[int, int, int, str]]:
    """Per path: (MACs, other FLOPs, calls, type), summed over calls, in report order."""
    paths: dict[str, tuple[int, int, int, str]] = {}
    for row in report.layers:
        macs, flops, calls, _ = paths.get(row.path, (0, 0, 0, row.type))
        paths[row.path] = (macs + row.macs, flops + row.other_flops, calls + 1, row.type)
    return paths
