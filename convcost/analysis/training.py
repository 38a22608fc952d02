"""Training cost: forward, input-gradient and weight-gradient MACs of every report row.

One training step of a sample runs the forward pass, then, layer by layer from the loss back,
the **input gradient** (``dx``: the gradient w.r.t. the layer's input, passed on to the layer
before) and the **weight gradient** (``dW``: the gradient w.r.t. its weights). Per sample, with
``F`` the layer's forward MACs as convcost counts them:

* A product of an activation and a weight (conv, transposed conv, depthwise, pointwise, dense,
  EinsumDense, the projections of attention, the matrices of a recurrent cell) costs ``F`` for
  ``dx`` and ``F`` for ``dW``, for any stride, padding, dilation or groups: the three
  computations visit the same (output position, tap, input channel, output channel) tuples.
  Padding taps are counted in all three, as in the forward pass.
* A product of two activations (attention scores and context, ``Dot``, ``keras.ops.matmul``)
  costs ``2F`` as input gradients (one per operand) and has no weight gradient.
* A recurrent layer (T steps, g gates, d inputs, u units): ``dW = F``; the gradient through the
  input weights ``T*g*u*d`` only when the input needs one; the gradient through the recurrent
  weights ``T*g*u*u`` whenever any gradient passes through the layer (``T-1`` steps with
  ``unroll=True``, where TensorFlow prunes the step-0 product).
* An embedding lookup: 0 MACs; its weight gradient is a scatter-add (other FLOPs = output
  elements).

Which gradients run (what TensorFlow's graph mode executes after pruning):

* ``dW`` iff the layer has trainable weights (``trainable=False`` layers: none).
* ``dx`` iff a layer with trainable weights feeds the row, directly or through other layers
  (the report's graph edges, ``LayerCost.sources``). So never for the first layer, never
  inside a frozen prefix or a branch that starts at a model input and holds nothing
  trainable, and still for a frozen layer above trainable ones (a frozen head). A report
  without edges (rows built by hand) falls back to execution order: a trainable row anywhere
  before, exact for a chain and an upper bound for parallel branches.
* Inside a composite layer (separable conv, attention, recurrent) the gradients between its own
  parts run whenever the layer is trainable or needs ``dx``.

Other FLOPs (element-wise): backward = forward other FLOPs of the row whenever a gradient passes
through it (0 otherwise; 0 for copies: ``Add``, ``Concatenate``, padding, cropping, reshapes). A
trainable ``BatchNormalization`` runs in training mode, so its forward is counted in training
form: statistics, normalisation, scale and shift, ``4 + scale + center`` per element (instead
of the folded inference form's 2). Not counted: the optimizer's update (per step, a few FLOPs
per weight), the loss, dropout masks.

Which MACs carry weights is decided by the piece's *kind* (:data:`KIND_RULES`), not by params.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost.analysis.folding import fold
from convcost.count.report import LayerCost, Piece, Report, require_report
from convcost.count.shapes import elements
from convcost.errors import ConvcostError

WEIGHTED, ACTIVATIONS, LOOKUP = "weighted", "activations", "lookup"

KIND_RULES: dict[str, str] = {
    "standard": WEIGHTED, "depthwise": WEIGHTED, "pointwise": WEIGHTED,
    "fully_connected": WEIGHTED, "recurrent": WEIGHTED,
    "other": ACTIVATIONS, "attention": ACTIVATIONS,
    "embedding": LOOKUP,
}
"""Piece kind -> backward rule: ``weighted`` (dx = dW = F), ``activations`` (activation x
activation: dx = 2F, no dW), ``lookup`` (0 MACs; scatter-add weight gradient)."""

PASS_THROUGH: frozenset[str] = frozenset({
    "Add", "Concatenate", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D",
    "Cropping2D", "Cropping3D", "Reshape", "Flatten", "Permute", "RepeatVector", "InputLayer",
    "Identity",
})
"""Keras classes whose gradient is a copy or slice of the upstream one: 0 backward FLOPs."""

EMBEDDINGS: frozenset[str] = frozenset({"Embedding", "ReversibleEmbedding"})
BATCH_NORMS: frozenset[str] = frozenset({"BatchNormalization"})


@dataclass(frozen=True)
class TrainingRow:
    """The training cost of one report row (one layer call), per sample.

    Attributes:
        row: the report row.
        trainable: whether the layer has trainable weights (so ``dW`` runs).
        needs_input_grad: whether a trainable layer comes before it (so ``dx`` runs).
        forward_macs: the row's forward MACs (as in the report).
        input_grad_macs: MACs of the gradients w.r.t. activations (``dx``).
        weight_grad_macs: MACs of the gradients w.r.t. weights (``dW``).
        forward_other_flops: forward element-wise FLOPs in training mode.
        backward_other_flops: backward element-wise FLOPs.
    """

    row: LayerCost
    trainable: bool
    needs_input_grad: bool
    forward_macs: int
    input_grad_macs: int
    weight_grad_macs: int
    forward_other_flops: int
    backward_other_flops: int

    @property
    def backward_macs(self) -> int:
        return self.input_grad_macs + self.weight_grad_macs

    @property
    def macs(self) -> int:
        """Training MACs: forward + input gradients + weight gradients."""
        return self.forward_macs + self.backward_macs

    @property
    def other_flops(self) -> int:
        return self.forward_other_flops + self.backward_other_flops

    @property
    def flops(self) -> int:
        """Training FLOPs: 2 x training MACs + forward and backward other FLOPs."""
        return 2 * self.macs + self.other_flops


@dataclass(frozen=True)
class TrainingCost:
    """The training cost of a model, per sample (one forward and backward pass)."""

    report: Report
    rows: tuple[TrainingRow, ...]

    def _sum(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.rows)

    @property
    def forward_macs(self) -> int:
        return self._sum("forward_macs")

    @property
    def input_grad_macs(self) -> int:
        return self._sum("input_grad_macs")

    @property
    def weight_grad_macs(self) -> int:
        return self._sum("weight_grad_macs")

    @property
    def macs(self) -> int:
        """Training MACs per sample (``training_macs``)."""
        return self._sum("macs")

    @property
    def other_flops(self) -> int:
        return self._sum("other_flops")

    @property
    def flops(self) -> int:
        """Training FLOPs per sample (``training_flops``)."""
        return self._sum("flops")

    @property
    def trainable_params(self) -> int:
        return self.report.trainable_params

    @property
    def ratio(self) -> float:
        """Training MACs over forward MACs (3.0 when every gradient runs everywhere)."""
        return self.macs / self.forward_macs if self.forward_macs else 0.0

    def totals(self, batch: int = 1) -> dict[str, int]:
        """Exact totals for a batch (1: per sample)."""
        return {"forward_macs": batch * self.forward_macs,
                "input_grad_macs": batch * self.input_grad_macs,
                "weight_grad_macs": batch * self.weight_grad_macs,
                "training_macs": batch * self.macs,
                "training_other_flops": batch * self.other_flops,
                "training_flops": batch * self.flops}


def training_cost(report: Report) -> TrainingCost:
    """Forward, input-gradient and weight-gradient MACs of every row of ``report``.

    Args:
        report: the model's cost report (:func:`convcost.analyze`); each row's trainable
            state is read from its layer's trainable params (first call of the layer), and
            holds for every call of that layer (a tied LM head calls the token embedding).
    """
    require_report(report, "training_cost")
    trainable = trainable_rows(report.layers)
    needs = needs_input_grads(report.layers, trainable)
    return TrainingCost(report, tuple(row_training(row, t, n) for row, t, n in
                                      zip(report.layers, trainable, needs)))


def trainable_rows(rows: Sequence[LayerCost]) -> list[bool]:
    """Per row: does its layer have trainable weights? Decided by the layer object (whose
    variables the call uses), so every call of a shared layer counts, whatever its path: a
    tied LM head (``embedding(x, reverse=True)`` at the model's top level) gets its weight
    gradient. Rows built by hand (no layer object) are matched by path."""
    layers = {id(row.operation) for row in rows
              if row.trainable_params > 0 and row.operation is not None}
    paths = {row.path for row in rows if row.trainable_params > 0}
    return [row.path in paths or (row.operation is not None and id(row.operation) in layers)
            for row in rows]


def has_edges(rows: Sequence[LayerCost]) -> bool:
    """Whether the rows carry graph edges (``sources``); rows built by hand do not."""
    return len(rows) < 2 or any(getattr(row, "sources", ()) for row in rows)


def needs_input_grads(rows: Sequence[LayerCost], trainable: Sequence[bool]) -> list[bool]:
    """Per row: does a trainable row feed it (through the edges; else: precede it)?"""
    needs: list[bool] = []
    if not has_edges(rows):
        for index in range(len(rows)):
            needs.append(any(trainable[:index]))
        return needs
    for row in rows:
        sources = [j for j in getattr(row, "sources", ()) if j < len(needs)]
        needs.append(any(trainable[j] or needs[j] for j in sources))
    return needs


def row_training(row: LayerCost, trainable: bool, needs_input_grad: bool) -> TrainingRow:
    """The training cost of one row, given whether its layer is trainable and needs ``dx``."""
    flows = trainable or needs_input_grad
    parts = recurrent_parts(row)
    if parts is not None:
        dx, dw = _recurrent_grads(row, parts, trainable, needs_input_grad)
    else:
        dx, dw = _piece_grads(row.pieces, trainable, needs_input_grad)
    forward_other = _forward_other(row, trainable)
    backward_other = _backward_other(row, forward_other, trainable, flows)
    return TrainingRow(row, trainable, needs_input_grad, row.macs, dx, dw, forward_other,
                       backward_other)


def kind_rule(kind: str) -> str:
    """The backward rule of a piece kind (see :data:`KIND_RULES`)."""
    if kind not in KIND_RULES:
        raise ConvcostError(f"No training-cost rule for piece kind; known kinds: "
                            f"{', '.join(KIND_RULES)}. Received: {kind!r}.")
    return KIND_RULES[kind]


def _piece_grads(pieces: Sequence[Piece], trainable: bool,
                 needs_input_grad: bool) -> tuple[int, int]:
    """(dx, dW) MACs of a row's pieces; ``reads_input`` says which see the layer's input."""
    dx = dw = 0
    for piece, reads in zip(pieces, reads_input(pieces)):
        rule = kind_rule(piece.kind)
        runs = needs_input_grad if reads else (trainable or needs_input_grad)
        if rule == WEIGHTED:
            dw += piece.macs if trainable else 0
            dx += piece.macs if runs else 0
        elif rule == ACTIVATIONS:
            dx += 2 * piece.macs if (trainable or needs_input_grad) else 0
    return dx, dw


def reads_input(pieces: Sequence[Piece]) -> list[bool]:
    """Which pieces multiply the layer's own input (their ``dx`` runs only if it is needed).

    Default: a chain (separable conv: depthwise then pointwise), so only the first piece.
    Attention (weighted projections, then an activation x activation core, then the output
    projection): the projections before the core read the inputs, the first one after it
    reads the core's output, any later one (a gate on the query) reads an input again.
    """
    rules = [kind_rule(p.kind) for p in pieces]
    core = next((i for i, (p, rule) in enumerate(zip(pieces, rules))
                 if rule == ACTIVATIONS and p.macs), None)
    if core is None or rules[:core].count(WEIGHTED) < 2:
        return [i == 0 for i in range(len(pieces))]
    return [i < core or i > core + 1 for i in range(len(pieces))]


# --- recurrent layers --------------------------------------------------------------------------


def recurrent_parts(row: LayerCost) -> list[tuple[int, int]] | None:
    """(input-weight MACs, recurrent-weight MACs) per direction of a recurrent row, else None.

    Read from the row's Keras layer (``row.operation``): an RNN (``cell``, ``return_sequences``)
    or a ``Bidirectional`` wrapper; the split is ``T*g*u*d`` and ``T*g*u*u`` from the row's
    forward MACs ``T*g*u*(d+u)`` of each direction.
    """
    op = row.operation
    if op is None or not row.pieces:
        return None
    layers = ([op.forward_layer, op.backward_layer] if hasattr(op, "forward_layer")
              else [op] if hasattr(op, "cell") and hasattr(op, "return_sequences") else [])
    if not layers or len(row.pieces) < len(layers):
        return None
    steps, d = int(row.input_shapes[0][0] or 0), int(row.input_shapes[0][-1] or 0)
    parts = []
    for layer, piece in zip(layers, row.pieces):
        split = _split_steps(layer, piece.macs, steps, d, row)
        if split is None:
            return None
        parts.append(split)
    return parts


def _split_steps(layer: Any, macs: int, steps: int, d: int,
                 row: LayerCost) -> tuple[int, int] | None:
    cell = layer.cell
    if hasattr(cell, "filters"):  # ConvLSTM: input conv + recurrent 'same' conv, 4 gates
        out = row.output_shape[1:] if layer.return_sequences else row.output_shape
        spatial = out[1:] if cell.data_format == "channels_first" else out[:-1]
        positions = elements(spatial, unknown="zero")
        kernel = elements(cell.kernel_size)
        recurrent = steps * positions * kernel * int(cell.filters) * 4 * int(cell.filters)
        return (macs - recurrent, recurrent) if 0 <= recurrent <= macs else None
    units = getattr(cell, "units", None)
    if not isinstance(units, int) or macs % (steps * units * (d + units)):
        return None  # a cell whose MACs are not g*u*(d+u) per step: not split
    gates = macs // (steps * units * (d + units))
    return steps * gates * units * d, steps * gates * units * units


def _recurrent_grads(row: LayerCost, parts: list[tuple[int, int]], trainable: bool,
                     needs_input_grad: bool) -> tuple[int, int]:
    """(dx, dW): the recurrent part whenever a gradient flows, the input part if needed."""
    op = row.operation
    layers = [op.forward_layer] if hasattr(op, "forward_layer") else [op]
    unrolled = bool(getattr(layers[0], "unroll", False))
    steps = int(row.input_shapes[0][0] or 0)
    dx = 0
    for x_part, h_part in parts:
        if unrolled and steps:
            h_part = h_part * (steps - 1) // steps
        dx += (h_part if (trainable or needs_input_grad) else 0)
        dx += x_part if needs_input_grad else 0
    dw = sum(x + h for x, h in parts) if trainable else 0
    extra = row.pieces[len(parts):]  # a merge of the directions: no MACs
    extra_dx, extra_dw = _piece_grads(extra, trainable, needs_input_grad)
    return dx + extra_dx, dw + extra_dw


# --- element-wise work -------------------------------------------------------------------------


def _forward_other(row: LayerCost, trainable: bool) -> int:
    """Forward other FLOPs; a trainable batch norm in training form (4 + scale + center)."""
    if row.type not in BATCH_NORMS or not trainable:
        return row.other_flops
    op = row.operation
    scale = bool(getattr(op, "scale", True))
    center = bool(getattr(op, "center", True))
    return elements(row.output_shape, unknown="zero") * (4 + int(scale) + int(center))


def _backward_other(row: LayerCost, forward_other: int, trainable: bool, flows: bool) -> int:
    """1 x the forward other FLOPs when a gradient passes; copies 0; embeddings scatter-add."""
    backward = forward_other if flows and row.type not in PASS_THROUGH else 0
    lookup = row.type in EMBEDDINGS or any(kind_rule(p.kind) == LOOKUP for p in row.pieces)
    if lookup and trainable and row.macs == 0:
        backward += elements(row.output_shape, unknown="zero")
    return backward


# --- the fields 'convcost analyze --training' adds --------------------------------------------


@dataclass(frozen=True)
class TrainingFields:
    """What ``analyze --training`` adds to a report's rows and totals (data only;
    :mod:`convcost.render.training_cost` turns it into cells and lines).

    Attributes:
        cost: the training cost per sample.
        memory: the memory estimate of one step
            (:class:`convcost.analysis.training_memory.TrainingMemory`), or None.
        measured_rest_bytes: TensorFlow's allocation before measured steps, or None.
        measured_peak_bytes: its peak during them, or None.
    """

    cost: TrainingCost
    memory: Any = None
    measured_rest_bytes: int | None = None
    measured_peak_bytes: int | None = None

    @property
    def measured_step_bytes(self) -> int | None:
        if self.measured_rest_bytes is None or self.measured_peak_bytes is None:
            return None
        return self.measured_peak_bytes - self.measured_rest_bytes

    def row_fields(self, rows: Sequence[Any]) -> list[dict[str, Any]]:
        """One dict per displayed row; a row with ``folded = n`` sums the next n layer calls
        (:func:`~convcost.analysis.folding.fold`)."""
        return [_chunk_fields(chunk) for chunk in fold(self.cost.rows, rows)]

    def total_fields(self, batch: int = 1) -> dict[str, int]:
        """Totals for a batch (1: per sample): forward, dx, dW, training MACs and FLOPs."""
        return self.cost.totals(batch)


def _chunk_fields(chunk: Sequence[TrainingRow]) -> dict[str, Any]:
    return {"trainable": any(r.trainable for r in chunk),
            "needs_input_grad": any(r.needs_input_grad for r in chunk),
            "forward_macs": sum(r.forward_macs for r in chunk),
            "input_grad_macs": sum(r.input_grad_macs for r in chunk),
            "weight_grad_macs": sum(r.weight_grad_macs for r in chunk),
            "training_macs": sum(r.macs for r in chunk),
            "training_other_flops": sum(r.other_flops for r in chunk),
            "training_flops": sum(r.flops for r in chunk)}
