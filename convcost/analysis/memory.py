"""Memory traffic, arithmetic intensity and activation memory of a cost
:class:`~convcost.count.report.Report`.

The traffic model is the "memory access cost" (MAC) of the ShuffleNet v2 paper: every input
element, output element and weight of a layer is touched exactly once, from main memory. A 1x1
conv on an ``h x w`` map with ``c1`` inputs and ``c2`` outputs moves ``hw(c1 + c2) + c1c2``
elements; a ``k x k`` depthwise conv moves ``hwc`` in, ``hwc`` out (stride 1) and ``k²c``
weights. Caches, tiling and re-reads are ignored, so this is a *lower bound* on traffic and an
*upper bound* on arithmetic intensity. It is the model behind the symbolic limits in
:mod:`convcost.theory.symbolic`: MACs per element moved tend to ``k²c1c2/(c1 + c2)`` for a standard
``k x k`` conv, ``k²/2`` for a depthwise one at stride 1 and ``≈ k²/5`` at stride 2.

Choices, stated once:

* **Batch.** Activations scale with the batch; weights are read once per batch. So per sample
  (batch 1) the weights weigh fully, and a larger batch raises the intensity of weight-heavy
  layers (dense, late pointwise convs) but barely that of depthwise convs.
* **Weights** are the layer's ``count_params()`` (bias and batch-norm statistics included).
  A shared layer called again reads its weights again: each call is charged the ``keras_params``
  of the layer's first call (matched by path).
* **Views** (:data:`VIEW_TYPES`: reshape, flatten, and layers that are the identity at
  inference such as dropout) move 0 bytes: their output is their input. Every other layer —
  including element-wise ones (activation, batch norm, add) and copies (padding, concatenate,
  cropping, permute) — reads all its inputs and writes its output.
* **Only the first output** of a multi-output layer is counted (the report keeps only that one).

Numbers here are exact integers (elements and bytes); ratios are computed on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.count.report import LayerCost, Report, require_report
from convcost.count.shapes import elements
from convcost.errors import ConvcostError

DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2}
"""Bytes per element of the dtypes convcost knows; ``float32`` is the default."""

VIEW_TYPES: frozenset[str] = frozenset({
    "InputLayer", "Flatten", "Reshape", "Identity", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
    "ActivityRegularization",
})
"""Keras classes (by exact name) whose output is a view of their input at inference: 0 bytes."""


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of ``dtype`` (``float32``, ``float16`` or ``bfloat16``).

    Args:
        dtype: the dtype name, as Keras spells it.
    """
    if dtype not in DTYPE_BYTES:
        known = ", ".join(DTYPE_BYTES)
        raise ConvcostError(f"Unknown dtype; use one of {known}. Received: {dtype!r}.")
    return DTYPE_BYTES[dtype]


def check_batch(batch: int) -> int:
    """``batch`` if it is a positive integer, else a one-line ConvcostError."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConvcostError(f"The batch size must be a positive integer. Received: {batch!r}.")
    return batch


@dataclass(frozen=True)
class LayerTraffic:
    """Elements one layer call reads and writes: activations per sample, weights per batch.

    Attributes:
        row: the report row this is about.
        input_elements: elements of all inputs, per sample (0 for a view).
        output_elements: elements of the output, per sample (0 for a view).
        weight_elements: weights read per call, once per batch.
        activation_elements: the output's size per sample, also for views (the tensor exists).
        is_view: whether the layer is a view (see :data:`VIEW_TYPES`).
    """

    row: LayerCost
    input_elements: int
    output_elements: int
    weight_elements: int
    activation_elements: int
    is_view: bool = False

    def elements(self, batch: int = 1) -> int:
        """Elements moved by a batch: ``batch * (inputs + outputs) + weights``."""
        return batch * (self.input_elements + self.output_elements) + self.weight_elements

    def bytes(self, batch: int = 1, dtype: str = "float32") -> int:
        """Bytes moved by a batch of ``batch`` samples in ``dtype``."""
        return self.elements(batch) * dtype_bytes(dtype)

    def flops(self, batch: int = 1) -> int:
        """FLOPs of a batch: ``batch * (2 * MACs + other_flops)``."""
        return batch * self.row.flops

    def intensity(self, batch: int = 1, dtype: str = "float32") -> float:
        """Arithmetic intensity, FLOPs per byte moved (0.0 when nothing moves)."""
        moved = self.bytes(batch, dtype)
        return self.flops(batch) / moved if moved else 0.0

    def macs_per_element(self, batch: int = 1) -> float:
        """MACs per element moved: the dtype-free intensity of the symbolic limits."""
        moved = self.elements(batch)
        return batch * self.row.macs / moved if moved else 0.0

    def live_elements(self) -> int:
        """Elements live during the call, per sample: inputs + output (a view adds nothing)."""
        inputs = sum(elements(shape) for shape in self.row.input_shapes)
        return inputs + (0 if self.is_view else self.activation_elements)


def layer_traffic(row: LayerCost, weights: int | None = None) -> LayerTraffic:
    """The traffic of one report row.

    Args:
        row: a leaf row of a :class:`Report`.
        weights: weights read by this call; default ``row.keras_params`` (which is 0 on a
            repeated call, so pass the first call's count there, as :func:`traffic` does).
    """
    activation = elements(row.output_shape)
    read = row.keras_params if weights is None else weights
    if row.type in VIEW_TYPES:
        return LayerTraffic(row, 0, 0, 0, activation, is_view=True)
    inputs = sum(elements(shape) for shape in row.input_shapes)
    return LayerTraffic(row, inputs, activation, read, activation)


def traffic(report: Report) -> tuple[LayerTraffic, ...]:
    """Traffic of every row; a repeated call reads the weights of its layer's first call."""
    first: dict[str, int] = {}
    rows = []
    for row in report.layers:
        if row.call_index == 0:
            first.setdefault(row.path, row.keras_params)
        rows.append(layer_traffic(row, first.get(row.path, row.keras_params)))
    return tuple(rows)


@dataclass(frozen=True)
class Memory:
    """A model's memory picture at one batch size and dtype: traffic, intensity, peak memory.

    Build it with :func:`memory`. Per-sample numbers are those at ``batch=1``.
    """

    report: Report
    layers: tuple[LayerTraffic, ...]
    batch: int = 1
    dtype: str = "float32"

    @property
    def bytes_per_element(self) -> int:
        return dtype_bytes(self.dtype)

    @property
    def elements(self) -> int:
        """Elements moved by one batch, summed over the layers."""
        return sum(layer.elements(self.batch) for layer in self.layers)

    @property
    def bytes(self) -> int:
        """Bytes moved by one batch, summed over the layers."""
        return self.elements * self.bytes_per_element

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_elements for layer in self.layers) * self.bytes_per_element

    @property
    def flops(self) -> int:
        return self.batch * self.report.flops

    @property
    def intensity(self) -> float:
        """The model's FLOPs per byte: total FLOPs over total bytes."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def macs_per_element(self) -> float:
        moved = self.elements
        return self.batch * self.report.macs / moved if moved else 0.0

    def layer_bytes(self, layer: LayerTraffic) -> int:
        return layer.bytes(self.batch, self.dtype)

    def activation_bytes(self, layer: LayerTraffic) -> int:
        """The size of a layer's output for the whole batch."""
        return self.batch * layer.activation_elements * self.bytes_per_element

    @property
    def peak_layer(self) -> LayerTraffic | None:
        """The layer call with the most live memory (inputs + output), None for no layers."""
        if not self.layers:
            return None
        return max(self.layers, key=lambda layer: layer.live_elements())

    @property
    def peak_bytes(self) -> int:
        """Peak live memory of a forward pass (MobileNet v2 paper: max over ops of in + out).

        Tensors kept alive across ops (a residual shortcut waiting for its add) are not
        counted; the add itself counts both of its inputs. Weights are not included.
        """
        peak = self.peak_layer
        live = peak.live_elements() if peak is not None else 0
        return self.batch * live * self.bytes_per_element


def memory(report: Report, *, batch: int = 1, dtype: str = "float32") -> Memory:
    """The memory picture of ``report`` for a batch of ``batch`` samples in ``dtype``.

    Args:
        report: the cost report of a model (see :func:`convcost.analyze`).
        batch: the batch size; activations scale with it, weights are read once.
        dtype: element type, ``float32`` (4 bytes), ``float16`` or ``bfloat16`` (2 bytes).
    """
    require_report(report, "memory")
    dtype_bytes(dtype)
    return Memory(report, traffic(report), check_batch(batch), dtype)
