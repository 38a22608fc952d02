"""What a runtime really executes: a model's rows (those of ``analyze``) mapped to *kernels*.

A kernel is one op as the runtime runs it, after its fusions (nn-Meter's "kernel detection"):

* ``litert`` and ``litert-int8`` (the TFLite converter + XNNPACK; full-integer int8 writes the
  same ops, quantized): a convolution, depthwise convolution or dense
  layer absorbs the BatchNormalization that follows it (the converter folds it into the
  weights) and a ReLU / ReLU6 after that (a fused activation). A standalone BatchNormalization
  stays (a multiply and an add) and takes a ReLU after it too; other activations (swish,
  sigmoid, hard-swish) stay. A ZeroPadding2D that pads exactly what ``padding="same"`` would
  for the valid convolution that alone reads it is folded into that convolution (no PAD op).
* ``tf`` (``tf.function``, grappler): a convolution or dense layer runs with its bias and its
  own ``activation=``; every other layer (BatchNormalization in inference too) is its own
  kernel.

Each kernel has a *kind* (which predictor times it) and a :class:`KernelShape` (the features
the predictor reads). Rows fused into another row's kernel belong to that kernel; rows the
runtime drops (Dropout, InputLayer) are kind ``none``; a row of a kind nobody calibrates is
kind ``unknown`` and is flagged by the predictor, never counted as zero silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.count.report import LayerCost, Report

RUNTIMES = ("litert", "litert-int8", "tf", "tf-train")  # tf-train: a training step, mapped as tf
FOLDING = ("litert", "litert-int8")  # the converter folds the same way in float32 and int8
KINDS = ("conv", "pointwise", "depthwise", "dense", "pool", "global_pool", "add", "concat",
         "activation", "batchnorm", "pad", "reshape", "softmax")
"""The kinds a predictor is calibrated for (besides ``none`` and ``unknown``)."""
FUSABLE = {"conv", "pointwise", "depthwise", "dense"}
#: The converter fuses a ReLU into ADD and MUL too: an add's, and a standalone batchnorm's
#: (MUL, then ADD unless beta is zero).
TAKES_ACTIVATION = FUSABLE | {"add", "batchnorm"}
FOLDS_PAD = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D"}  # padding="valid" ones
FUSED_ACTIVATIONS = {"relu", "relu6"}
ACTIVATION_CODES = {"linear": 0, "relu": 1, "relu6": 2, "sigmoid": 3, "swish": 4, "silu": 4,
                    "hard_swish": 5, "hard_silu": 5, "tanh": 6, "hard_sigmoid": 7, "gelu": 8}
DROPPED = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "InputLayer",
           "ActivityRegularization"}
_TYPE_KINDS = {
    "Dense": "dense", "MaxPooling2D": "pool", "AveragePooling2D": "pool",
    "GlobalAveragePooling2D": "global_pool", "GlobalMaxPooling2D": "global_pool",
    "Add": "add", "Subtract": "add", "Multiply": "add", "Maximum": "add", "Minimum": "add",
    "Average": "add", "Divide": "add", "TrueDivide": "add",
    "Concatenate": "concat", "BatchNormalization": "batchnorm", "Rescaling": "batchnorm",
    "Normalization": "batchnorm", "ZeroPadding2D": "pad", "Cropping2D": "pad", "Reshape": "reshape",
    "Flatten": "reshape", "Softmax": "softmax", "ReLU": "activation",
    "Activation": "activation", "LeakyReLU": "activation", "ELU": "activation",
}


@dataclass(frozen=True)
class KernelShape:
    """The shape of one kernel, per sample (no batch): what its predictor reads.

    Attributes:
        c_in, c_out: channels in and out (last axis); dense: features in and out.
        h_in, w_in, h_out, w_out: spatial size in and out (1 for a dense layer's vector).
        k: kernel (or pool) size; stride: its stride; groups: conv groups.
        inputs: tensors read (2 for an add of two maps, 1 for an add of a constant).
        act: the activation code (:data:`ACTIVATION_CODES`) of an activation kernel.
        elements_in, elements_out: elements read (all inputs) and written.
        weights: elements of its constant operands; flops: its FLOPs.
    """

    c_in: int
    c_out: int
    h_in: int = 1
    w_in: int = 1
    h_out: int = 1
    w_out: int = 1
    k: int = 1
    stride: int = 1
    groups: int = 1
    inputs: int = 1
    act: int = 0
    elements_in: int = 0
    elements_out: int = 0
    weights: int = 0
    flops: int = 0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> KernelShape:
        """The shape kept in a profile's row, whatever else the row holds ("seconds",
        "kind")."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__ if name in row})

    def bytes_moved(self, batch: int, itemsize: int = 4) -> int:
        """Bytes read and written for ``batch`` samples (weights read once)."""
        return itemsize * ((self.elements_in + self.elements_out) * batch + self.weights)


@dataclass(frozen=True)
class Kernel:
    """One kernel the runtime runs: its kind, shape, and the rows it stands for.

    ``rows`` are indices into the report's rows; the first is the row the kernel's time is
    shown on, the others were fused into it. ``note`` says why a kernel is ``none`` or
    ``unknown``.
    """

    kind: str
    shape: KernelShape | None
    rows: tuple[int, ...]
    note: str = ""
    fused: tuple[str, ...] = field(default=())


def kernels_of(report: Report, runtime: str = "litert") -> list[Kernel]:
    """The kernels ``runtime`` runs for ``report``'s rows, in row order (see the module doc)."""
    readers = _readers(report.layers)
    folded = _folded_pads(report.layers, readers, runtime)
    repeats = _repeats(report.layers, runtime)
    # how many rows read each row's output (a merged repeat is not another reader)
    consumers = {source: sum(reader not in repeats for reader in rows)
                 for source, rows in readers.items()}
    owner: dict[int, int] = {}  # row index -> index in ``kernels`` it was fused into
    open_act: dict[int, bool] = {}  # kernel index -> may still take a fused activation
    kernels: list[Kernel] = []
    for index, row in enumerate(report.layers):
        if index in folded:
            owner[index], open_act[len(kernels)] = len(kernels), False
            kernels.append(Kernel("none", None, (index,), "folded into the convolution after it "
                                                          "(its 'same' padding)"))
            continue
        if index in repeats:  # the same op on the same tensor: computed once
            owner[index] = owner[repeats[index]]
            kernels.append(Kernel("none", None, (index,), f"the same op as row {repeats[index]} "
                                                          f"on the same input (merged)"))
            continue
        target = _fuse_target(row, index, report.layers, consumers, owner, kernels, runtime,
                              open_act)
        if target is not None:
            kernel = kernels[target]
            kernels[target] = Kernel(kernel.kind, kernel.shape, (*kernel.rows, index),
                                     kernel.note, (*kernel.fused, row.type))
            owner[index] = target
            open_act[target] = open_act[target] and _kind_of(row) != "activation"
            continue
        for kernel in _row_kernels(row, index):
            owner[index] = len(kernels)
            open_act[len(kernels)] = (kernel.kind in TAKES_ACTIVATION
                                      and _activation(row) == "linear")
            kernels.append(kernel)
    return kernels


def _readers(rows: Sequence[LayerCost]) -> dict[int, list[int]]:
    """Row index -> the rows that read its output."""
    readers: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        for source in row.sources:
            readers.setdefault(source, []).append(index)
    return readers


def _folded_pads(rows: Sequence[LayerCost], readers: dict[int, list[int]],
                 runtime: str) -> set[int]:
    """The ZeroPadding2D rows the converter folds into the one convolution that reads them."""
    if runtime not in FOLDING:
        return set()
    return {index for index, row in enumerate(rows)
            if row.type == "ZeroPadding2D" and len(readers.get(index, ())) == 1
            and _pads_as_same(row, rows[readers[index][0]])}


def _repeats(rows: Sequence[LayerCost], runtime: str) -> dict[int, int]:
    """Weightless rows that repeat an earlier row's op on the same inputs (NASNet applies one
    ReLU or pooling to a tensor in several branches): the converter computes each once.
    Row index -> the index of the first such row."""
    if runtime not in FOLDING:
        return {}
    first: dict[tuple[Any, ...], int] = {}
    repeated: dict[int, int] = {}
    for index, row in enumerate(rows):
        if row.keras_params or not row.sources or row.type in DROPPED:
            continue
        config = {k: v for k, v in _config(row).items() if k not in ("name", "trainable")}
        key = (row.type, repr(sorted(config.items())), tuple(row.sources), row.input_shapes)
        repeated_of = first.setdefault(key, index)
        if repeated_of != index:
            repeated[index] = repeated_of
    return repeated


def _pads_as_same(pad: LayerCost, conv: LayerCost) -> bool:
    """Whether ``pad`` adds exactly what ``padding="same"`` would for ``conv``, a valid,
    undilated, channels-last convolution: per axis ``total = max((ceil(n / s) - 1) * s + k - n,
    0)``, split ``total // 2`` before and the rest after."""
    config = _config(conv)
    if (conv.type not in FOLDS_PAD or config.get("padding") != "valid"
            or config.get("data_format", "channels_last") != "channels_last"
            or set(_pair(config.get("dilation_rate", 1))) != {1} or not pad.input_shapes):
        return False
    sizes = pad.input_shapes[0][:2]
    for (before, after), size, k, s in zip(_pad_pairs(_config(pad).get("padding", 1)), sizes,
                                           _pair(config.get("kernel_size", 1)),
                                           _pair(config.get("strides", 1))):
        if size is None:
            return False
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        if (before, after) != (total // 2, total - total // 2):
            return False
    return True


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pad_pairs(value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D's padding as ((top, bottom), (left, right))."""
    if isinstance(value, int):
        return (value, value), (value, value)
    first, second = value
    return (_pair(first), _pair(second))


def _fuse_target(row: LayerCost, index: int, rows: Sequence[LayerCost],
                 consumers: dict[int, int], owner: dict[int, int], kernels: list[Kernel],
                 runtime: str, open_act: dict[int, bool]) -> int | None:
    """The kernel ``row`` folds into on ``runtime``, or None when it is its own kernel."""
    if runtime not in FOLDING or len(row.sources) != 1:
        return None
    source = row.sources[0]
    target = owner.get(source)
    if target is None or consumers.get(source, 0) != 1:
        return None
    kind, into = _kind_of(row), kernels[target].kind
    if (kind == "batchnorm" and row.type == "BatchNormalization" and into in FUSABLE
            and open_act[target]):
        return target
    if (kind == "activation" and _activation(row) in FUSED_ACTIVATIONS
            and into in TAKES_ACTIVATION and open_act[target]):
        return target
    return None


def _row_kernels(row: LayerCost, index: int) -> list[Kernel]:
    """The kernels of a row that fuses into nothing (a separable conv gives two)."""
    if row.type in DROPPED:
        return [Kernel("none", None, (index,), "removed by the runtime")]
    if row.type == "SeparableConv2D":
        depthwise, pointwise = _separable_shapes(row)
        return [Kernel("depthwise", depthwise, (index,)), Kernel("pointwise", pointwise, (index,))]
    kind = _kind_of(row)
    if kind == "unknown":
        return [Kernel("unknown", _generic_shape(row), (index,), f"no predictor for {row.type}")]
    kernels = [Kernel(kind, _shape(row, kind), (index,))]
    activation = _activation(row)
    if kind in FUSABLE and activation not in ("linear", "softmax", *FUSED_ACTIVATIONS):
        kernels.append(Kernel("activation", _activation_shape(row, activation), (index,)))
    if kind == "dense" and activation == "softmax":
        kernels.append(Kernel("softmax", _softmax_shape(row), (index,)))
    return kernels


def _kind_of(row: LayerCost) -> str:
    if row.type in ("Conv2D", "Conv1D"):
        return "pointwise" if _kernel_size(row) == 1 and _groups(row) == 1 else "conv"
    if row.type == "DepthwiseConv2D":
        return "depthwise"
    if row.type == "Activation" and _activation(row) == "softmax":
        return "softmax"
    if row.type in _TYPE_KINDS:
        return _TYPE_KINDS[row.type]
    lowered = row.type.lower()
    if lowered in ("add", "subtract", "multiply", "divide", "true_divide", "maximum",
                   "minimum"):
        return "add"
    return "unknown"


def _config(row: LayerCost) -> dict[str, Any]:
    get = getattr(row.operation, "get_config", None)
    try:
        config = get() if get is not None else {}
    except (NotImplementedError, TypeError):
        config = {}
    return config if isinstance(config, dict) else {}


def _activation(row: LayerCost) -> str:
    """The row's activation by name: its ``activation=`` or, for ReLU layers, relu/relu6."""
    config = _config(row)
    if row.type == "ReLU":
        limit = config.get("max_value")
        if config.get("negative_slope", 0.0) or config.get("threshold", 0.0):
            return "leaky_relu"
        return "relu" if limit is None else ("relu6" if float(limit) == 6.0 else "relu_n")
    activation = config.get("activation", "linear")
    if isinstance(activation, dict):  # a serialised function
        activation = activation.get("config", activation.get("class_name", "custom"))
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
    return str(name).lower()


def _kernel_size(row: LayerCost) -> int:
    size = _config(row).get("kernel_size", _config(row).get("pool_size", 1))
    return int(size[0] if isinstance(size, list | tuple) else size)


def _stride(row: LayerCost) -> int:
    config = _config(row)
    stride = config.get("strides", config.get("pool_size", 1))
    if stride is None:
        stride = config.get("pool_size", 1)
    return int(stride[0] if isinstance(stride, list | tuple) else stride)


def _groups(row: LayerCost) -> int:
    return int(_config(row).get("groups", 1) or 1)


def _hwc(shape: Sequence[int | None]) -> tuple[int, int, int]:
    """(height, width, channels) of a shape without batch; a vector is 1 x 1 x n."""
    dims = [int(d or 1) for d in shape]
    if not dims:
        return 1, 1, 1
    if len(dims) == 1:
        return 1, 1, dims[0]
    if len(dims) == 2:
        return 1, dims[0], dims[1]
    return dims[-3], math.prod(dims[-2:-1]), dims[-1]


def _elements(shape: Sequence[int | None]) -> int:
    return math.prod(int(d or 1) for d in shape)


def _shape(row: LayerCost, kind: str) -> KernelShape:
    """The :class:`KernelShape` of a row of ``kind``."""
    h_in, w_in, c_in = _hwc(row.input_shapes[0] if row.input_shapes else row.output_shape)
    h_out, w_out, c_out = _hwc(row.output_shape)
    if kind == "dense":  # positions of a dense layer on a map count as its spatial size
        h_in = h_out = _elements(row.output_shape) // max(c_out, 1)
        w_in = w_out = 1
    k = _kernel_size(row) if kind in ("conv", "pointwise", "depthwise", "pool") else 1
    stride = _stride(row) if kind in ("conv", "pointwise", "depthwise", "pool") else 1
    act = ACTIVATION_CODES.get(_activation(row), 9) if kind == "activation" else 0
    flops = 3 * _elements(row.output_shape) if kind == "softmax" else row.flops
    if kind == "pool":
        act = 1 if row.type.startswith("Average") else 0
    return KernelShape(c_in, c_out, h_in, w_in, h_out, w_out, k, stride, _groups(row),
                       max(len(row.input_shapes), 1), act,
                       sum(_elements(s) for s in row.input_shapes), _elements(row.output_shape),
                       row.params if row.supported else row.keras_params, flops)


def _generic_shape(row: LayerCost) -> KernelShape:
    return _shape(row, "unknown")


def _activation_shape(row: LayerCost, activation: str) -> KernelShape:
    h, w, c = _hwc(row.output_shape)
    n = _elements(row.output_shape)
    return KernelShape(c, c, h, w, h, w, act=ACTIVATION_CODES.get(activation, 9),
                       elements_in=n, elements_out=n, flops=n)


def _softmax_shape(row: LayerCost) -> KernelShape:
    """The softmax a dense layer's ``activation="softmax"`` runs on its output."""
    h, w, c = _hwc(row.output_shape)
    n = _elements(row.output_shape)
    return KernelShape(c, c, h, w, h, w, elements_in=n, elements_out=n, flops=3 * n)


def _separable_shapes(row: LayerCost) -> tuple[KernelShape, KernelShape]:
    """A separable conv's depthwise and pointwise kernels (groups 1, as a DepthwiseConv2D
    row has: its config has no groups)."""
    h_in, w_in, c_in = _hwc(row.input_shapes[0])
    h_out, w_out, c_out = _hwc(row.output_shape)
    k, stride = _kernel_size(row), _stride(row)
    mid = h_out * w_out * c_in
    depthwise = KernelShape(c_in, c_in, h_in, w_in, h_out, w_out, k, stride, 1, 1, 0,
                            h_in * w_in * c_in, mid, k * k * c_in, 2 * mid * k * k)
    pointwise = KernelShape(c_in, c_out, h_out, w_out, h_out, w_out, 1, 1, 1, 1, 0, mid,
                            h_out * w_out * c_out, c_in * c_out + c_out,
                            2 * h_out * w_out * c_in * c_out)
    return depthwise, pointwise
