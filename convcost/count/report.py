"""Report data: one frozen row per layer call, totals derived from the rows, never stored.

A :class:`LayerCost` is a leaf row (nested models are flattened into their layers, with a path
such as ``outer/inner/conv``). A row holds one or more :class:`Piece`s, each of one *kind*, so
that a ``SeparableConv2D`` contributes its depthwise and its pointwise part to the right groups.

Some pieces have more than one honest count: attention scores of a causal decoder (every score
as executed, or only the L(L+1)/2 allowed ones) and mixture-of-experts layers (the routed top-k
experts, or every expert as an implementation may run them). A piece's ``macs`` and
``other_flops`` are the count under the report's chosen :data:`CONVENTIONS`; its ``variants``
hold the others, so a report can give every total without a second walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convcost.errors import ConvcostError

KINDS = ("standard", "depthwise", "pointwise", "fully_connected", "other", "attention",
         "recurrent", "embedding")
"""Piece kinds. ``attention``: products of two activations (attention scores and the weighted
sum of values; any matmul whose operands both depend on the input); ``recurrent``: the steps of
RNN/LSTM/GRU cells; ``embedding``: lookup tables (params, no MACs). The last three were added
after the first five, and are listed after them so that existing groupings keep their order."""

ADDED_KINDS = KINDS[5:]
"""The kinds added for transformers and RNNs; listings other than ``groups`` show them only
where a model has them, so that reports of convolutional nets read as before."""

CONVENTIONS = {"attention": ("executed", "causal"), "moe": ("routed", "executed")}
"""Counting conventions and their choices, the default first. ``attention``: ``executed`` counts
every score an implementation computes (full T x S, masked or not); ``causal`` counts only the
L(L+1)/2 query-key pairs a causal decoder may use (a sliding window W: sum of min(i+1, W)).
``moe``: ``routed`` counts the top-k experts each token is routed to (the architecture's cost);
``executed`` every expert an implementation runs on every token."""

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Variant:
    """A piece's count under another convention: ``"causal"``, ``"routed"``, ``"executed"``."""

    convention: str
    macs: int
    other_flops: int


@dataclass(frozen=True)
class Piece:
    """The cost of one part of a layer, of one kind (see :data:`KINDS`).

    ``variants``: the same part counted under other conventions (see :data:`CONVENTIONS`);
    ``active_params``: the params one token uses when fewer than all are (mixture of experts;
    None: all of them).
    """

    kind: str
    params: int = 0
    macs: int = 0
    other_flops: int = 0
    variants: tuple[Variant, ...] = ()
    active_params: int | None = None

    def variant(self, convention: str) -> Variant | None:
        """This piece under ``convention``, if it counts differently there."""
        return next((v for v in self.variants if v.convention == convention), None)


@dataclass(frozen=True)
class LayerCost:
    """One call of one layer: shapes (without batch), counted pieces, and Keras' own count.

    ``params`` is what the rule counted, on the first call of a layer only (weights are shared
    between calls). For an unsupported layer it is Keras' count, since no rule could check it.

    ``operation`` is the Keras layer (or ``keras.ops`` operation) that made the row, so that
    compare and profile need not walk the model again; it takes no part in equality, ``repr``
    or any rendered output.

    ``sources`` are the indices (into :attr:`Report.layers`) of the rows whose outputs this
    call reads: the graph's edges, for drawing it. Empty for a call that reads only model
    inputs. Rows of a traced container (no static graph) are chained in call order. Like
    ``operation`` it takes no part in equality or ``repr``, and the JSON does not carry it.

    ``from_ops`` is true for a call costed from its traced TensorFlow ops (or JAX primitives)
    because no cost rule covers it.
    """

    path: str
    name: str
    type: str
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    pieces: tuple[Piece, ...]
    keras_params: int
    trainable_params: int
    non_trainable_params: int
    supported: bool = True
    call_index: int = 0
    note: str = ""
    operation: Any = field(default=None, compare=False, repr=False)
    sources: tuple[int, ...] = field(default=(), compare=False, repr=False)
    from_ops: bool = False

    @property
    def params(self) -> int:
        if not self.supported:
            return self.keras_params
        return sum(p.params for p in self.pieces)

    @property
    def macs(self) -> int:
        return sum(p.macs for p in self.pieces)

    @property
    def other_flops(self) -> int:
        return sum(p.other_flops for p in self.pieces)

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops

    @property
    def kind(self) -> str:
        """The kind of the row's largest piece by MACs ('other' when it has none)."""
        if not self.pieces:
            return "other"
        return max(self.pieces, key=lambda p: p.macs).kind

    @property
    def params_match(self) -> bool:
        """Whether the rule's params equal ``layer.count_params()`` (repeat calls count 0)."""
        return self.params == self.keras_params

    @property
    def depth(self) -> int:
        return self.path.count("/")


@dataclass(frozen=True)
class Group:
    """Rows grouped by kind or by Keras class, with shares of the model total."""

    key: str
    params: int
    macs: int
    flops: int
    layers: int
    params_share: float
    macs_share: float


@dataclass(frozen=True)
class Report:
    """The cost of a whole model: its leaf rows, and Keras' own parameter count."""

    model: str
    input_shape: Shape
    layers: tuple[LayerCost, ...]
    keras_count_params: int
    backend: str = ""
    notes: tuple[str, ...] = field(default=())
    inputs: tuple[tuple[str, Shape], ...] = field(default=())
    conventions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def multi_input(self) -> bool:
        """Whether the model has more than one input (``inputs`` names each one)."""
        return len(self.inputs) > 1

    @property
    def active_params(self) -> int:
        """Params one token uses: all of them, less the experts it is not routed to."""
        total = 0
        for row in self.layers:
            if not row.supported:
                total += row.params
                continue
            total += sum(p.params if p.active_params is None else p.active_params
                         for p in row.pieces)
        return total

    def macs_as(self, convention: str) -> int:
        """Total MACs with every piece that counts differently under ``convention`` counted
        that way (e.g. ``"executed"``: as the implementation runs; ``"causal"``)."""
        total = 0
        for row in self.layers:
            for piece in row.pieces:
                other = piece.variant(convention)
                total += piece.macs if other is None else other.macs
        return total

    @property
    def has_attention(self) -> bool:
        """Whether any piece is an attention product or has a variant under a convention."""
        return any(p.kind == "attention" or p.variants for row in self.layers for p in row.pieces)

    @property
    def params(self) -> int:
        return sum(row.params for row in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(row.trainable_params for row in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(row.non_trainable_params for row in self.layers)

    @property
    def macs(self) -> int:
        return sum(row.macs for row in self.layers)

    @property
    def other_flops(self) -> int:
        return sum(row.other_flops for row in self.layers)

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops

    @property
    def unsupported(self) -> dict[str, int]:
        """Layer classes with no rule, and how many calls of each were seen."""
        counts: dict[str, int] = {}
        for row in self.layers:
            if not row.supported:
                counts[row.type] = counts.get(row.type, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def params_match(self) -> bool:
        """Whether the counted params equal ``model.count_params()`` (``model.summary()``)."""
        return self.params == self.keras_count_params

    @property
    def mismatched_layers(self) -> tuple[LayerCost, ...]:
        return tuple(row for row in self.layers if row.supported and not row.params_match)

    def groups(self, by: str = "kind") -> tuple[Group, ...]:
        """Totals per kind (pieces split by kind; all of :data:`KINDS`) or per Keras class."""
        if by == "kind":
            buckets = {kind: [0, 0, 0, set()] for kind in KINDS}
            for index, row in enumerate(self.layers):
                for piece in row.pieces:
                    _accumulate(buckets[piece.kind], piece.params, piece.macs,
                                2 * piece.macs + piece.other_flops, index)
                if not row.supported:
                    _accumulate(buckets["other"], row.params, 0, 0, index)
        elif by == "type":
            buckets = {}
            for index, row in enumerate(self.layers):
                bucket = buckets.setdefault(row.type, [0, 0, 0, set()])
                _accumulate(bucket, row.params, row.macs, row.flops, index)
        else:
            from convcost.errors import ConvcostError

            raise ConvcostError(f"Unknown grouping; use 'kind' or 'type'. Received: {by!r}.")
        return tuple(self._group(key, bucket) for key, bucket in buckets.items())

    def to_pandas(self) -> Any:
        """One row per layer call as a pandas DataFrame (pandas: the ``report`` extra).

        Columns are named like the layer fields of ``convcost analyze --format json``:
        ``name``, ``path``, ``type``, ``kind``, ``input_shapes``, ``output_shape``,
        ``params``, ``keras_params``, ``macs``, ``flops``, ``other_flops``, ``supported``,
        ``call_index``, ``folded_layers``, ``note``, ``from_ops``. Their sums are the
        report's totals;
        ``attrs`` holds ``model``, ``input_shape``, ``totals`` and ``check``.
        """
        # A notebook hook: the one import of render from count (docs/architecture.md).
        from convcost.render.notebook import report_frame

        return report_frame(self)

    def _repr_html_(self) -> str:
        """What a notebook shows: totals, the params check, MACs per kind, the top layers."""
        from convcost.render.notebook import report_html

        return report_html(self)

    def _group(self, key: str, bucket: list) -> Group:
        params, macs, flops, rows = bucket
        return Group(key, params, macs, flops, len(rows),
                     _share(params, self.params), _share(macs, self.macs))


def _accumulate(bucket: list, params: int, macs: int, flops: int, row: int) -> None:
    bucket[0] += params
    bucket[1] += macs
    bucket[2] += flops
    bucket[3].add(row)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0



def require_report(value: Any, caller: str) -> Report:
    """``value`` if it is a :class:`Report` (from :func:`convcost.analyze`), else a one-line
    error naming the function it was passed to."""
    if not isinstance(value, Report):
        raise ConvcostError(f"{caller}() takes the Report of convcost.analyze(model). "
                            f"Received: {type(value).__name__}.")
    return value
