"""Training memory per step: weights, gradients, optimizer slots and the activations kept for
the backward pass, from a :class:`~convcost.analysis.training.TrainingCost` (pure arithmetic).

The estimate of the peak of one training step at batch ``B``::

    peak = weights + optimizer slots + the input batch          (allocated before the step)
         + gradients + B x kept activations + 3 x B x the largest activation  (the step adds)

* **weights**: every variable (``count_params()``: batch-norm statistics included).
* **gradients**: one value per trainable weight, alive until the optimizer applies them.
* **optimizer slots**: read from the real optimizer (:mod:`convcost.analysis.optimizers`).
* **kept activations**: a tensor is kept iff a backward op that runs reads it, each tensor
  once: the input of a layer whose weights are trainable (``dW`` reads it); the output of a
  nonlinear activation (fused or a layer) a gradient passes through; inside a separable conv
  the depthwise output; the input of a batch norm in training mode and of layer/group/RMS
  normalization; input and output of max pooling; a dropout mask; both operands of
  ``Multiply``/``Dot``. Nothing below a frozen prefix; the model input is the input batch.
* **in flight**: during the backward pass one layer's upstream gradient and its input gradient
  coexist (2 x the largest activation), plus one workspace of that size (a ReluGrad output, a
  oneDNN reorder): 3 x fitted TensorFlow's allocator better than 2 x on the MNIST nets and
  MobileNet (within -21 % .. +15 % of the measured peak, against -36 % .. +9 %).

Tensors are identified by the row that made them, through the report's graph edges
(``LayerCost.sources``); a report without edges (rows built by hand) takes the input of a row
to be the output of the latest earlier row with that shape. Reshape and Flatten are views of
their input. This counts tensors the framework allocates, not the process's RSS (which the Python
heap, graphs and the allocator's caches dominate for small nets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcost.analysis.memory import check_batch, dtype_bytes
from convcost.analysis.training import (
    WEIGHTED,
    TrainingCost,
    TrainingRow,
    has_edges,
    kind_rule,
)
from convcost.count.report import LayerCost
from convcost.count.shapes import elements
from convcost.errors import ConvcostError

if TYPE_CHECKING:
    from convcost.analysis.optimizers import Slots

IN_FLIGHT_ACTIVATIONS = 3
"""Largest activations alive at once in the backward pass: dy, dx and one workspace."""

VIEWS: frozenset[str] = frozenset({"Reshape", "Flatten", "InputLayer", "Identity"})
ACTIVATION_LAYERS: frozenset[str] = frozenset({"ReLU", "Activation", "LeakyReLU", "ELU",
                                               "Softmax", "PReLU"})
NORMS_READING_INPUT: frozenset[str] = frozenset({"LayerNormalization", "GroupNormalization",
                                                 "RMSNormalization", "UnitNormalization"})
PRODUCTS: frozenset[str] = frozenset({"Multiply", "Dot"})


@dataclass(frozen=True)
class KeptTensor:
    """One activation kept for the backward pass: who keeps it, its size per sample, why."""

    label: str
    elements: int
    reason: str


@dataclass(frozen=True)
class TrainingMemory:
    """The estimated memory of one training step, in bytes (see the module docstring)."""

    batch: int
    dtype: str
    slots: Slots
    weight_bytes: int
    gradient_bytes: int
    slot_bytes: int
    input_bytes: int
    kept: tuple[KeptTensor, ...]
    kept_bytes: int
    largest_activation_bytes: int

    @property
    def in_flight_bytes(self) -> int:
        return IN_FLIGHT_ACTIVATIONS * self.largest_activation_bytes

    @property
    def resting_bytes(self) -> int:
        """Allocated before the step: weights, optimizer slots, the input batch."""
        return self.weight_bytes + self.slot_bytes + self.input_bytes

    @property
    def step_bytes(self) -> int:
        """What the step adds at its peak: gradients, kept activations, in-flight tensors."""
        return self.gradient_bytes + self.kept_bytes + self.in_flight_bytes

    @property
    def peak_bytes(self) -> int:
        return self.resting_bytes + self.step_bytes

    def as_dict(self) -> dict[str, object]:
        """Exact bytes by part, and the optimizer's slots per weight."""
        return {"batch_size": self.batch, "dtype": self.dtype, "optimizer": self.slots.optimizer,
                "slots_per_weight": self.slots.per_weight, "weight_bytes": self.weight_bytes,
                "gradient_bytes": self.gradient_bytes, "optimizer_slot_bytes": self.slot_bytes,
                "input_bytes": self.input_bytes, "kept_activation_bytes": self.kept_bytes,
                "kept_tensors": len(self.kept), "in_flight_bytes": self.in_flight_bytes,
                "step_bytes": self.step_bytes, "peak_bytes": self.peak_bytes}


def training_memory(cost: TrainingCost, slots: Slots, *, batch: int = 1,
                    dtype: str = "float32") -> TrainingMemory:
    """The memory estimate of one training step of ``batch`` samples in ``dtype``.

    Args:
        cost: the model's training cost (which rows are trainable, which need gradients).
        slots: the optimizer's state (:func:`convcost.analysis.optimizers.optimizer_slots`).
        batch: samples per step; activations scale with it.
        dtype: ``float32``, ``float16`` or ``bfloat16``.
    """
    if not isinstance(cost, TrainingCost):
        raise ConvcostError(f"training_memory() takes the TrainingCost of training_cost(report). "
                            f"Received: {type(cost).__name__}.")
    size = dtype_bytes(dtype)
    check_batch(batch)
    report = cost.report
    kept = kept_activations(cost.rows)
    largest = max((elements(r.row.output_shape) for r in cost.rows if r.row.type not in VIEWS),
                  default=0)
    return TrainingMemory(
        batch=batch, dtype=dtype, slots=slots, weight_bytes=report.params * size,
        gradient_bytes=report.trainable_params * size, slot_bytes=slots.slot_elements * size,
        input_bytes=batch * elements(report.input_shape) * size, kept=kept,
        kept_bytes=batch * sum(k.elements for k in kept) * size,
        largest_activation_bytes=batch * largest * size)


def kept_activations(rows: Sequence[TrainingRow]) -> tuple[KeptTensor, ...]:
    """The tensors the backward pass reads, each once (see the module docstring)."""
    kept: dict[object, KeptTensor] = {}
    edges = has_edges([r.row for r in rows])
    outputs: list[tuple[object, tuple]] = []  # (tensor key, shape) of every earlier row
    for index, training in enumerate(rows):
        row = training.row
        sources = _sources(row, outputs, edges)
        for key, size, reason in _reads(training, index, sources):
            if key is not None and key not in kept:
                kept[key] = KeptTensor(f"{row.path} {reason}", size, reason)
        own = sources[0][0] if row.type in VIEWS and sources else ("out", index)
        outputs.append((own, tuple(row.output_shape)))
    return tuple(kept.values())


def _sources(row: LayerCost, outputs: list[tuple[object, tuple]],
             edges: bool) -> list[tuple[object, int]]:
    """(tensor key, elements per sample) of each tensor the row reads: its source rows'
    outputs (a view's output is its input's tensor), or model inputs (key None)."""
    linked = [j for j in getattr(row, "sources", ()) if j < len(outputs)] if edges else []
    if linked:
        return [(outputs[j][0], elements(outputs[j][1])) for j in linked]
    if edges:  # reads model inputs only
        return [(None, elements(shape)) for shape in row.input_shapes]
    return [(_producer(shape, outputs), elements(shape)) for shape in row.input_shapes]


def _producer(shape: tuple, outputs: list[tuple[object, tuple]]) -> object:
    """The tensor an input is: the latest earlier output of that shape, else a model input
    (``None``: it is the input batch, not a kept activation)."""
    for key, produced in reversed(outputs):
        if produced == tuple(shape):
            return key
    return None


Source = tuple[object, int]  # (tensor key, elements per sample)


def _reads(training: TrainingRow, index: int,
           sources: list[Source]) -> list[tuple[object, int, str]]:
    """(tensor key, elements per sample, reason) of each tensor this row's backward reads."""
    row, flows = training.row, training.trainable or training.needs_input_grad
    first = sources[0] if sources else (None, 0)
    output = (("out", index), elements(row.output_shape))
    found: list[tuple[Source, str]] = []
    weighted = any(kind_rule(p.kind) == WEIGHTED and p.macs for p in row.pieces)
    if weighted and training.trainable:  # every input a weighted product multiplies
        found += [(source, "input (dW reads it)") for source in sources]
    if flows:
        found += _flow_reads(training, index, sources, first, output)
    return [(key, size, reason) for (key, size), reason in found]


def _flow_reads(training: TrainingRow, index: int, sources: list[Source], first: Source,
                output: Source) -> list[tuple[Source, str]]:
    """What the backward of a row a gradient passes through reads, besides dW's input."""
    row = training.row
    found: list[tuple[Source, str]] = []
    if row.type.startswith("SeparableConv") and len(row.pieces) > 1:
        depthwise = row.pieces[1].macs // max(1, int(row.output_shape[-1] or 1))
        found.append(((("separable", index), depthwise), "depthwise output"))
    if _nonlinear(row.operation) or row.type in ACTIVATION_LAYERS:
        found.append((output, "output (activation gradient)"))
    if (row.type == "BatchNormalization" and training.trainable) \
            or row.type in NORMS_READING_INPUT:
        found.append((first, "input (normalization gradient)"))
    if row.type.startswith("MaxPooling"):
        found += [(first, "input (max-pool gradient)"), (output, "output (max-pool gradient)")]
    if row.type in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"):
        found.append(((("mask", index), output[1]), "dropout mask"))
    if row.type in PRODUCTS:
        found += [(source, "operand (product gradient)") for source in sources]
    return found


def _nonlinear(op: object) -> bool:
    name = getattr(getattr(op, "activation", None), "__name__", "linear")
    return name not in ("linear", "None")
