"""Params and MACs of a TensorFlow Lite (LiteRT) ``.tflite`` file, per op, without TensorFlow.

The flatbuffer is read with the ``flatbuffers`` package and the generated schema module that
ships inside ``ai-edge-litert`` (``ai_edge_litert/schema_py_generated.py``) or TensorFlow
(``tensorflow/lite/python/schema_py_generated.py``). The schema file is loaded by its path, so
neither package's ``__init__`` runs: reading a ``.tflite`` file never imports TensorFlow.

Counting conventions (those of Keras layers, with the same formulas,
:mod:`convcost.count.formulas`), per sample (the batch of the model input divided out):

* ``CONV_2D``, filter ``[C_out, KH, KW, C_in/groups]``: :func:`~convcost.count.formulas.conv`;
  kind ``standard`` (kernel > 1, or grouped), ``pointwise`` (1x1 on a map) or
  ``fully_connected`` (1x1 on a 1x1 map).
* ``DEPTHWISE_CONV_2D``, filter ``[1, KH, KW, C_in*multiplier]``:
  :func:`~convcost.count.formulas.depthwise`; kind ``depthwise``.
* ``FULLY_CONNECTED``, weights ``[out, in]``: :func:`~convcost.count.formulas.dense` at
  ``input elements / in`` positions; kind ``fully_connected``.
* A fused activation adds 1 FLOP per output element (as a Keras ``activation=`` does).
* Element-wise ops (:data:`ELEMENTWISE_OPS`): other FLOPs only, ``n - 1`` per output element of
  an n-input merge, 1 per element for an activation, ``pool size`` per pooled output, 1 per
  input element for ``MEAN``/``SUM``, 3 per element for ``SOFTMAX``.
* Layout and type ops (:data:`ZERO_COST_OPS`: reshape, pad, concatenate, quantize, ...): zero on
  purpose. Every other op is *unsupported*: its row holds the elements of its constant operands
  as params, its MACs are not counted, and the report lists it.

Params are the elements of the constant operands of each op (filter and bias; the constant
operand of an element-wise op). The converter stores identical constants once; such a tensor
counts on its first use only (like a shared Keras layer), so the total is what the file stores.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcost.count import formulas as f
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError
from convcost.files import regular_file

SUFFIX = ".tflite"
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
ACTIVATION_OPS = frozenset({"RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH",
                            "HARD_SWISH", "LEAKY_RELU", "ELU", "GELU", "PRELU"})
MERGE_OPS = frozenset({"ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"})
POOL_OPS = frozenset({"MAX_POOL_2D", "AVERAGE_POOL_2D"})
REDUCE_OPS = frozenset({"MEAN", "SUM"})
ELEMENTWISE_OPS = ACTIVATION_OPS | MERGE_OPS | POOL_OPS | REDUCE_OPS | {"SOFTMAX"}
ZERO_COST_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "PAD", "PADV2", "CONCATENATION",
                           "TRANSPOSE", "QUANTIZE", "DEQUANTIZE", "CAST", "SLICE",
                           "STRIDED_SLICE", "PACK", "UNPACK", "SPLIT", "SPLIT_V", "SHAPE"})
"""Ops with no arithmetic of the model: they move, reshape or re-type data."""
_MAIN_OPS = ("convolution", "depthwise", "MatMul", "Conv2D", "BiasAdd")
_FUSED_ACTIVATION_FLOPS = {"NONE": 0}  # every other fused activation: 1 FLOP per element
_ITEMSIZE = {"FLOAT32": 4, "FLOAT16": 2, "BFLOAT16": 2, "FLOAT64": 8, "INT32": 4, "INT64": 8,
             "INT16": 2, "UINT16": 2, "INT8": 1, "UINT8": 1, "BOOL": 1, "UINT32": 4}


@dataclass(frozen=True)
class Tensor:
    """One tensor of the file: its shape (with batch), type, and stored bytes (0: activation)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    stored_bytes: int

    @property
    def constant(self) -> bool:
        return self.stored_bytes > 0

    @property
    def size(self) -> int:
        return f.product(self.shape)


@dataclass(frozen=True)
class Op:
    """One operator: its builtin name, tensor indices (-1: absent), fused activation, options."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    activation: str = "NONE"
    options: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TfliteFile:
    """The first subgraph of a ``.tflite`` file: tensors, ops, inputs and outputs."""

    path: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    size_bytes: int
    subgraphs: int
    schema: str

    def tensor(self, index: int) -> Tensor | None:
        return self.tensors[index] if 0 <= index < len(self.tensors) else None

    @property
    def batch(self) -> int:
        """The batch size of the first model input (its first dimension; 1 if it has none)."""
        shape = self.tensors[self.inputs[0]].shape if self.inputs else ()
        return shape[0] if shape and shape[0] > 0 else 1


@dataclass(frozen=True)
class OpCost:
    """What one op costs, per sample, with its params split for the cross-check with Keras.

    ``weights`` and ``bias`` are the elements of the op's own filter and bias (every op counts
    its own); ``params`` counts only constants not already counted by an earlier op.
    """

    op: Op
    hint: str
    kind: str
    weights: int
    bias: int
    params: int
    macs: int
    other_flops: int
    supported: bool
    zero_cost: bool = False

    @property
    def own_params(self) -> int:
        """The op's constant elements, also those an earlier op uses too."""
        return self.weights + self.bias


@dataclass(frozen=True)
class TfliteAnalysis:
    """A ``.tflite`` file, the cost of each op and the :class:`Report` made of them."""

    file: TfliteFile
    costs: tuple[OpCost, ...]
    report: Report

    @property
    def params_per_op(self) -> int:
        """Params with every op counting its own constants (a shared one once per op)."""
        return sum(cost.own_params for cost in self.costs)

    @property
    def shared_params(self) -> int:
        """Elements of constants stored once and used by more than one op, counted again."""
        return self.params_per_op - self.report.params

    @property
    def precision(self) -> str:
        """The element type of the weights of the first weighted op (e.g. float32, int8)."""
        for cost in self.costs:
            if cost.op.name in WEIGHTED_OPS:
                filter_tensor = self.file.tensor(cost.op.inputs[1])
                return filter_tensor.dtype.lower() if filter_tensor else "?"
        return "?"


# --- reading the flatbuffer ---------------------------------------------------------------------


@functools.cache
def schema() -> tuple[Any, str]:
    """The generated TFLite schema module and where it came from, loaded without running
    ai_edge_litert's or TensorFlow's package ``__init__``."""
    try:
        import flatbuffers  # noqa: F401
    except ImportError:
        raise _no_schema("the flatbuffers package is not installed") from None
    for package, relative in (("ai_edge_litert", "schema_py_generated.py"),
                              ("tensorflow", os.path.join("lite", "python",
                                                          "schema_py_generated.py"))):
        found = importlib.util.find_spec(package)  # finds, does not import
        for folder in (found.submodule_search_locations or []) if found else []:
            path = os.path.join(folder, relative)
            if os.path.isfile(path):
                return _load_module(path), f"{package}/{relative}"
    raise _no_schema("neither ai-edge-litert nor tensorflow is installed")


def _no_schema(reason: str) -> ConvcostError:
    return ConvcostError("Reading a .tflite file needs the TFLite schema that ai-edge-litert "
                         "ships: pip install 'convcost[litert]'. Received: " + reason + ".")


def _load_module(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("_convcost_tflite_schema", path)
    if spec is None or spec.loader is None:
        raise _no_schema(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_tflite(path: str | Path) -> TfliteFile:
    """Read the first subgraph of a ``.tflite`` file; a bad file is a one-line error."""
    file = Path(path)
    if not file.exists():
        raise ConvcostError(f"TFLite file not found. Received: {str(path)!r}.")
    data = _read_checked(regular_file(file, what="TFLite file"), str(path))
    module, source = schema()
    try:
        return _parse(module, data, str(path), source)
    except ConvcostError:
        raise
    except Exception as error:  # flatbuffers raises many types on a corrupt file
        raise ConvcostError(f"Could not read the TFLite file (corrupt or truncated?): "
                            f"{type(error).__name__}: {error}. Received: {str(path)!r}.") from None


MAX_FLATBUFFER_BYTES = 2**31 - 1
"""A flatbuffer addresses itself with 32-bit signed offsets: a bigger .tflite cannot be one."""


def _read_checked(file: Path, path: str) -> bytes:
    """The file's bytes, read only after its 8-byte header says 'TFL3' and its size fits a
    flatbuffer (a huge sparse file is never read whole)."""
    size = file.stat().st_size
    with open(file, "rb") as handle:
        header = handle.read(8)
        if len(header) < 8 or header[4:8] != b"TFL3":
            raise ConvcostError(f"Not a TFLite flatbuffer (no 'TFL3' identifier at byte 4). "
                                f"Received: {path!r}, {size:,} bytes.")
        if size > MAX_FLATBUFFER_BYTES:
            raise ConvcostError(f"A TFLite flatbuffer is at most 2 GiB (32-bit offsets). "
                                f"Received: {path!r}, {size:,} bytes.")
        return header + handle.read()


def _parse(module: Any, data: bytes, path: str, source: str) -> TfliteFile:
    model = module.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() < 1:
        raise ConvcostError(f"The TFLite file has no subgraph. Received: {path!r}.")
    graph = model.Subgraphs(0)
    names = _enum_names(module)
    tensors = tuple(_tensor(model, graph.Tensors(i), i, names["TensorType"])
                    for i in range(graph.TensorsLength()))
    ops = tuple(_op(module, model, graph.Operators(i), i, names)
                for i in range(graph.OperatorsLength()))
    inputs = tuple(graph.Inputs(i) for i in range(graph.InputsLength()))
    outputs = tuple(graph.Outputs(i) for i in range(graph.OutputsLength()))
    return TfliteFile(path, tensors, ops, inputs, outputs, len(data), model.SubgraphsLength(),
                      source)


@functools.cache
def _enum_names(module: Any) -> dict[str, dict[int, str]]:
    """value -> name of the schema enums this module reads."""
    enums = ("TensorType", "BuiltinOperator", "ActivationFunctionType", "BuiltinOptions")
    return {enum: {value: key for key, value in vars(getattr(module, enum)).items()
                   if not key.startswith("_")} for enum in enums}


def _tensor(model: Any, raw: Any, index: int, types: dict[int, str]) -> Tensor:
    shape = tuple(int(raw.Shape(j)) for j in range(raw.ShapeLength()))
    buffer = model.Buffers(raw.Buffer()) if raw.Buffer() < model.BuffersLength() else None
    stored = 0
    if buffer is not None:  # large models keep their data after the flatbuffer (offset, size)
        stored = buffer.DataLength() or int(buffer.Size() if hasattr(buffer, "Size") else 0)
    name = (raw.Name() or b"").decode("utf-8", "replace")
    return Tensor(index, name, shape, types.get(raw.Type(), str(raw.Type())), stored)


def _op(module: Any, model: Any, raw: Any, index: int, names: dict[str, dict[int, str]]) -> Op:
    code = model.OperatorCodes(raw.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = names["BuiltinOperator"].get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        name = "CUSTOM:" + (code.CustomCode() or b"").decode("utf-8", "replace")
    inputs = tuple(int(raw.Inputs(j)) for j in range(raw.InputsLength()))
    outputs = tuple(int(raw.Outputs(j)) for j in range(raw.OutputsLength()))
    activation, options = _options(module, raw, names)
    return Op(index, name, inputs, outputs, activation, options)


def _options(module: Any, raw: Any, names: dict[str, dict[int, str]]) -> tuple[str, dict[str, int]]:
    """The fused activation and the pool size of an op (what counting needs of its options)."""
    table = raw.BuiltinOptions()
    kind = names["BuiltinOptions"].get(raw.BuiltinOptionsType(), "NONE")
    if table is None or not hasattr(module, kind):
        return "NONE", {}
    options = getattr(module, kind)()
    options.Init(table.Bytes, table.Pos)
    activation = "NONE"
    if hasattr(options, "FusedActivationFunction"):
        activation = names["ActivationFunctionType"].get(options.FusedActivationFunction(), "?")
    found = {key: int(getattr(options, key)()) for key in ("FilterHeight", "FilterWidth")
             if hasattr(options, key)}
    return activation, found


# --- counting -----------------------------------------------------------------------------------


def analyze_tflite(path: str | Path) -> TfliteAnalysis:
    """Read a ``.tflite`` file and count every op of its first subgraph (see the module doc)."""
    file = read_tflite(path)
    seen: set[int] = set()
    costs = tuple(op_cost(file, op, seen) for op in file.ops)
    return TfliteAnalysis(file, costs, _report(file, costs))


def op_cost(file: TfliteFile, op: Op, seen: set[int]) -> OpCost:
    """The cost of ``op`` per sample; constants in ``seen`` were counted before (updated)."""
    hint = _hint(file, op)
    if op.name in WEIGHTED_OPS:
        return _weighted(file, op, hint, seen)
    if op.name in ELEMENTWISE_OPS or op.name in ZERO_COST_OPS:
        params = _new_constants(file, op.inputs, seen) if op.name in MERGE_OPS | {"PRELU"} else 0
        own = _constants(file, op.inputs) if op.name in MERGE_OPS | {"PRELU"} else 0
        flops = 0 if op.name in ZERO_COST_OPS else _elementwise_flops(file, op)
        return OpCost(op, hint, "other", own, 0, params, 0, flops, True,
                      zero_cost=op.name in ZERO_COST_OPS)
    own, params = _constants(file, op.inputs), _new_constants(file, op.inputs, seen)
    return OpCost(op, hint, "other", own, 0, params, 0, 0, False)


def _weighted(file: TfliteFile, op: Op, hint: str, seen: set[int]) -> OpCost:
    x, w, out = (file.tensor(i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if x is None or w is None or out is None:
        raise ConvcostError(f"{op.name} op {op.index} lacks an input, filter or output tensor. "
                            f"Received: inputs {op.inputs}, outputs {op.outputs}.")
    bias_index = op.inputs[2] if len(op.inputs) > 2 else -1
    bias = file.tensor(bias_index)
    has_bias = bias is not None and bias.constant
    kind, cost = _weighted_cost(op.name, x.shape, w.shape, out.shape, has_bias)
    batch = file.batch
    activation = out.size if op.activation not in _FUSED_ACTIVATION_FLOPS else 0
    weights = w.size if w.constant else 0
    bias_size = bias.size if has_bias and bias is not None else 0
    params = _new_constants(file, (op.inputs[1], bias_index), seen)
    return OpCost(op, hint, kind, weights, bias_size, params, int(cost.macs) // batch,
                  (int(cost.other_flops) + activation) // batch, True)


def _weighted_cost(name: str, x: Sequence[int], w: Sequence[int], out: Sequence[int],
                   bias: bool) -> tuple[str, f.Cost]:
    """Kind and cost of the whole batch, from the tensor shapes (layouts in the module doc)."""
    if name == "FULLY_CONNECTED":
        units_in, units_out = w[1], w[0]
        return "fully_connected", f.dense(units_in, units_out,
                                          positions=f.product(x) // units_in, bias=bias)
    spatial, batch = tuple(out[1:3]), out[0]
    if name == "DEPTHWISE_CONV_2D":
        c_in = x[3]
        cost = f.depthwise(tuple(w[1:3]), c_in, spatial, depth_multiplier=w[3] // c_in,
                           bias=bias)
        return "depthwise", _times(cost, batch)
    groups = x[3] // w[3]
    cost = f.conv(tuple(w[1:3]), x[3], w[0], spatial, groups=groups, bias=bias)
    if groups != 1 or f.product(w[1:3]) != 1:
        kind = "standard"
    else:
        kind = "pointwise" if f.product(spatial) > 1 else "fully_connected"
    return kind, _times(cost, batch)


def _times(cost: f.Cost, batch: int) -> f.Cost:
    return f.Cost(cost.params, cost.macs * batch, cost.other_flops * batch)


def _elementwise_flops(file: TfliteFile, op: Op) -> int:
    """Other FLOPs per sample of an element-wise op (rules in the module docstring)."""
    out = file.tensor(op.outputs[0]) if op.outputs else None
    elements = out.size if out is not None else 0
    if op.name in MERGE_OPS:
        operands = sum(1 for i in op.inputs if i >= 0)
        flops = (operands - 1) * elements
    elif op.name in POOL_OPS:
        flops = op.options.get("FilterHeight", 1) * op.options.get("FilterWidth", 1) * elements
    elif op.name in REDUCE_OPS:
        source = file.tensor(op.inputs[0])
        flops = source.size if source is not None else 0
    elif op.name == "SOFTMAX":
        flops = f.SOFTMAX_FLOPS_PER_ELEMENT * elements
    else:  # an activation
        flops = elements
    if op.activation not in _FUSED_ACTIVATION_FLOPS:
        flops += elements
    return flops // file.batch


def _constants(file: TfliteFile, indices: Sequence[int]) -> int:
    return sum(t.size for i in indices if (t := file.tensor(i)) is not None and t.constant)


def _new_constants(file: TfliteFile, indices: Sequence[int], seen: set[int]) -> int:
    """Elements of the constants among ``indices`` not in ``seen``; adds them to ``seen``."""
    fresh = {i for i in indices if (t := file.tensor(i)) is not None and t.constant} - seen
    seen.update(fresh)
    return _constants(file, sorted(fresh))


def _hint(file: TfliteFile, op: Op) -> str:
    """The name scope the converter left in the op's tensor names (often the Keras layer).

    A fused op's tensor name lists every folded TensorFlow op (``a/bn/mul;a/fc1/MatMul``);
    for a weighted op the part naming the convolution or matmul is taken.
    """
    index = op.inputs[1] if op.name in WEIGHTED_OPS else (op.outputs[0] if op.outputs else -1)
    tensor = file.tensor(index)
    names = [part.split("/") for part in tensor.name.split(";")] if tensor is not None else []
    scoped = [parts for parts in names if len(parts) >= 3]
    main = [parts for parts in scoped if parts[-1].rstrip("0123456789") in _MAIN_OPS]
    chosen = (main or scoped or [[]])[0]
    return chosen[1] if chosen else ""


# --- the Report ---------------------------------------------------------------------------------


def _report(file: TfliteFile, costs: Sequence[OpCost]) -> Report:
    rows = tuple(_row(file, cost) for cost in costs)
    model_input = file.tensor(file.inputs[0]) if file.inputs else None
    name = Path(file.path).name
    return Report(name, model_input.shape[1:] if model_input else (), rows,
                  stored_params(file, costs), backend="tflite",
                  notes=(f"{file.subgraphs} subgraphs: only the first is counted",)
                  if file.subgraphs > 1 else ())


def _row(file: TfliteFile, cost: OpCost) -> LayerCost:
    op = cost.op
    inputs = tuple(t.shape[1:] for i in op.inputs
                   if (t := file.tensor(i)) is not None and not t.constant)
    out = file.tensor(op.outputs[0]) if op.outputs else None
    pieces = (Piece(cost.kind, cost.params, cost.macs, cost.other_flops),) if cost.supported \
        else ()
    note = "" if cost.supported else "no cost rule; params: its constant operands"
    path = f"{op.index}:{cost.hint}" if cost.hint else str(op.index)
    return LayerCost(path, cost.hint or op.name.lower(), op.name, inputs,
                     out.shape[1:] if out is not None else (), pieces, cost.params, 0,
                     cost.params, supported=cost.supported, note=note, operation=op)


def stored_params(file: TfliteFile, costs: Sequence[OpCost]) -> int:
    """Elements of the parameter constants as the buffers store them (bytes / element size).

    Computed from the buffer lengths, not from the shapes the counting uses, so the two agree
    only if every counted constant's data is in the file.
    """
    indices: set[int] = set()
    for cost in costs:
        op = cost.op
        if op.name in WEIGHTED_OPS:
            indices.update(op.inputs[1:3])
        elif op.name in MERGE_OPS | {"PRELU"} or not cost.supported:
            indices.update(op.inputs)
    total = 0
    for index in indices:
        tensor = file.tensor(index)
        if tensor is not None and tensor.constant:
            size = _ITEMSIZE.get(tensor.dtype)
            total += tensor.stored_bytes // size if size else tensor.size
    return total
