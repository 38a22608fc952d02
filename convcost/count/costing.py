"""From the calls of one trace to costed entries (rows before the walk's bookkeeping), and the
counting conventions (causal attention, routed experts) applied to pieces.

A recorded call is costed by its rule when its layer has one. Otherwise by the TensorFlow ops
the call created itself (:mod:`convcost.count.graph_ops`): a leaf without a rule entirely, a
container (a transformer block, a subclassed model) for the arithmetic written in its own
``call()``, outside its sub-layers; on Keras' JAX backend by its JAX primitives the same way
(:mod:`convcost.count.jax_ops`). Where the ops cannot be seen (Keras' PyTorch backend), the
entry is marked not fully counted. A call that repeats an earlier one (``copy_of``) gets copies
of the earlier call's entries, renamed, with its own layers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.count import formulas as f
from convcost.count.graph_ops import Tally, describe_unknown
from convcost.count.keras_internals import is_static, sub_layers
from convcost.count.report import CONVENTIONS, Piece, Report, Shape, Variant
from convcost.count.rules import Call, Dims, NoRule, causal_context, has_rule, layer_cost
from convcost.count.shapes import elements
from convcost.count.tracing import CallRecord
from convcost.errors import ConvcostError

_MAC_KINDS = ("fully_connected", "standard", "pointwise", "depthwise", "attention")
OPS_NOTE = "no rule: costed from its {ops}"
OWN_NOTE = "arithmetic in its own call(), outside its sub-layers: costed from its {ops}"
HIDDEN_NOTE = ("arithmetic in its own call() not counted: a layer's own ops are read on the "
               "TensorFlow and JAX backends only (Keras' PyTorch backend is not supported)")


LEAF_NOTE = ("no rule: not counted (a call's ops are read on the TensorFlow and JAX backends "
             "only; Keras' PyTorch backend is not supported)")


def _ops_name() -> str:
    """What a rule-less call is costed from on this backend."""
    import keras

    return "JAX primitives" if keras.backend.backend() == "jax" else "TensorFlow ops"


@dataclass(frozen=True)
class Entry:
    """What one call cost, before the walk's bookkeeping (shared weights, call counts).

    ``chain``: the layers from the traced call down to this one (empty for the traced call
    itself), whose names make the path; ``own``: the row of a container's own weights and
    arithmetic (its sub-layers have rows of their own); ``from_ops``: costed from the traced
    call's TensorFlow ops (or JAX primitives), not from a cost rule.
    """

    chain: tuple[Any, ...]
    layer: Any
    input_shapes: tuple[Dims, ...]
    output_shape: Dims
    pieces: tuple[Piece, ...]
    supported: bool
    note: str = ""
    own: bool = False
    from_ops: bool = False

    @property
    def path(self) -> str:
        """The path below the traced call (``""``: the call itself)."""
        return "/".join(layer.name for layer in self.chain)

    def moved(self, twins: dict[int, Any], chain: tuple[Any, ...] = ()) -> Entry:
        """This entry for a repeat of its call: each layer replaced by its twin in the repeat
        (``twins`` by ``id``), under ``chain``."""
        return replace(self, chain=chain + tuple(twins.get(id(x), x) for x in self.chain),
                       layer=twins.get(id(self.layer), self.layer))


def twins(first: Any, repeat: Any) -> dict[int, Any]:
    """``id`` of every layer under ``first`` -> the layer at the same place under ``repeat``
    (equal memo keys guarantee the same structure of sub-layers)."""
    found: dict[int, Any] = {id(first): repeat}
    pending = [(first, repeat)]
    while pending:
        a, b = pending.pop()
        for sub_a, sub_b in zip(sub_layers(a), sub_layers(b)):
            if id(sub_a) not in found:
                found[id(sub_a)] = sub_b
                pending.append((sub_a, sub_b))
    return found


def check_conventions(attention: str, moe: str) -> None:
    """Raise a one-line error unless both are known choices of :data:`CONVENTIONS`."""
    for name, value in (("attention", attention), ("moe", moe)):
        if value not in CONVENTIONS[name]:
            choices = ", ".join(repr(c) for c in CONVENTIONS[name])
            raise ConvcostError(f"{name} must be one of {choices}. Received: {value!r}.")


def apply_conventions(pieces: Sequence[Piece], attention: str, moe: str) -> tuple[Piece, ...]:
    """Each piece under the chosen conventions; what it was (as executed) kept as a variant."""
    chosen = {attention, moe} - {"executed"}
    return tuple(_chosen(p, chosen) for p in pieces)


def _chosen(piece: Piece, chosen: set[str]) -> Piece:
    for name in chosen:
        picked = piece.variant(name)
        if picked is not None:
            rest = tuple(v for v in piece.variants if v is not picked)
            executed = Variant("executed", piece.macs, piece.other_flops)
            return replace(piece, macs=picked.macs, other_flops=picked.other_flops,
                           variants=(*rest, executed))
    return piece


def entries_of(records: Sequence[CallRecord], tallies: dict[int, Tally] | None,
               attention: str, moe: str, notes: list[str]) -> list[Entry]:
    """Entries of a whole trace, in the order the calls finished (the root's subtree).

    Args:
        records: the recording (a container's record comes after its sub-layers').
        tallies: each call's own ops by ``id(record)``; None when ops cannot be seen.
        attention, moe: the conventions to apply.
        notes: the report's notes, to add to.
    """
    subtree: dict[int, list[Entry]] = {}
    pending: dict[int, list[Entry]] = defaultdict(list)
    root: list[Entry] = []
    for record in records:
        if record.copy_of is not None:
            mine = _copied(subtree[id(record.copy_of)], record.copy_of, record)
        else:
            mine = pending.pop(id(record), []) + _own(record, tallies, attention, moe, notes)
        subtree[id(record)] = mine
        if record.parent is None:
            root = mine
        else:
            pending[id(record.parent)].extend(mine)
    return root


def _copied(entries: list[Entry], original: CallRecord, copy: CallRecord) -> list[Entry]:
    """``entries`` of ``original``'s subtree, moved under ``copy`` and given its layers."""
    mapping = twins(original.layer, copy.layer)
    depth = len(original.chain)
    return [replace(e, chain=e.chain[depth:]).moved(mapping, copy.chain) for e in entries]


def _own(record: CallRecord, tallies: dict[int, Tally] | None, attention: str, moe: str,
         notes: list[str]) -> list[Entry]:
    """The entry of the call itself: its rule, or its own ops; none for a container that did
    nothing itself."""
    layer = record.layer
    inputs = tuple(sample(s, layer) for s in record.inputs)
    output = sample(record.outputs[0], layer) if record.outputs else ()
    parent = record.parent
    causal, window = causal_context(parent.layer if parent else None,
                                    parent.options if parent else {}, layer, record.options)
    if record.leaf and has_rule(layer):
        cache = sample(record.cache, layer) if record.cache is not None else None
        call = Call(inputs, tuple(sample(s, layer) for s in record.outputs), causal, window,
                    cache)
        pieces = apply_conventions(rule_pieces(layer, call), attention, moe)
        return [Entry(record.chain, layer, inputs, output, pieces, True)]
    tally = tallies.get(id(record)) if tallies is not None else None
    params = own_params(layer) if not record.leaf else _all_params(layer)
    if tally is None:
        if record.leaf:
            return [Entry(record.chain, layer, inputs, output, (), False, LEAF_NOTE)]
        return _hidden(record, layer, inputs, output, params, notes)
    if not record.leaf and tally.empty and not params:
        return []
    length = inputs[0][0] if inputs and inputs[0] else 0
    pieces, complete, note = tally_pieces(tally, params, causal, window, length)
    note = (OPS_NOTE if record.leaf else OWN_NOTE).format(ops=_ops_name()) + note
    return [Entry(record.chain, layer, inputs, output,
                  apply_conventions(pieces, attention, moe), complete, note, not record.leaf,
                  from_ops=True)]


def _hidden(record: CallRecord, layer: Any, inputs: tuple[Dims, ...], output: Dims,
            params: int, notes: list[str]) -> list[Entry]:
    """A container whose own ops cannot be seen: flagged, never silently complete."""
    if is_static(layer):
        return []
    where = record.path or layer.name
    note = (f"{where} ({type(layer).__name__}): {HIDDEN_NOTE}; its row is marked not fully "
            "counted.")
    if note not in notes:
        notes.append(note)
    return [Entry(record.chain, layer, inputs, output, (), False, HIDDEN_NOTE, own=True)]


def tally_pieces(tally: Tally, params: int, causal: bool, window: int | None,
                 length: int) -> tuple[tuple[Piece, ...], bool, str]:
    """(pieces, complete, note suffix) of a call's own ops; ``params`` (the layer's own weights,
    from Keras) go on its largest piece. A causal self-attention over ``length`` positions gets
    the ``"causal"`` variant of its attention MACs."""
    pieces = [Piece(kind, macs=tally.macs[kind]) for kind in _MAC_KINDS if tally.macs[kind]]
    if tally.flops or not pieces:
        pieces.append(Piece("other", other_flops=tally.flops))
    pieces = [_causal(p, causal, window, length) for p in pieces]
    if tally.unknown:
        note = (f"; not fully counted: {sum(tally.unknown.values())} {_ops_name()} without a "
                f"cost ({describe_unknown(tally.unknown)})")
        return tuple(pieces), False, note
    largest = max(range(len(pieces)), key=lambda i: pieces[i].macs)
    pieces[largest] = replace(pieces[largest], params=params)
    return tuple(pieces), True, ""


def _causal(piece: Piece, causal: bool, window: int | None, length: int) -> Piece:
    square = length * length
    if piece.kind != "attention" or not causal or not square or piece.macs % square:
        return piece
    pairs = f.causal_pairs(length, window)
    return replace(piece, variants=(Variant("causal", piece.macs // square * pairs,
                                            piece.other_flops),))


def rule_pieces(layer: Any, call: Call) -> tuple[Piece, ...]:
    """The rule's pieces; a failing rule is a one-line error naming the layer."""
    try:
        return layer_cost(layer, call)
    except (ConvcostError, NoRule):
        raise
    except Exception as error:  # a rule that fails is reported, never a crash
        shapes = [fmt_dims(s) for s in call.inputs]
        raise ConvcostError(
            f"The cost rule for layer {layer.name!r} ({type(layer).__name__}) failed: {error}. "
            f"Received: input shapes {shapes}.") from None


def sample(shape: Shape, layer: Any) -> Dims:
    """A traced shape per sample: the trace runs at batch 1, so axis 0 is dropped when it is
    1 (a tensor whose first axis merges batch and tokens, as an MoE router's, keeps it)."""
    body = tuple(shape[1:]) if shape and shape[0] in (1, None) else tuple(shape)
    if any(d is None for d in body):
        raise ConvcostError(
            f"Layer {layer.name!r} has an unknown dimension in its input or output; pass an "
            f"input shape (input_shape=..., or --input-shape; --seq-len L for token inputs). "
            f"Received: shape {fmt_dims(shape)}.")
    return tuple(int(d) for d in body)  # type: ignore[arg-type]


def own_params(layer: Any) -> int:
    """Weights a container holds itself, outside all its sub-layers."""
    inner = {id(w) for sub in sub_layers(layer) for w in getattr(sub, "weights", ())}
    return sum(elements(w.shape) for w in getattr(layer, "weights", ()) if id(w) not in inner)


def _all_params(layer: Any) -> int:
    return sum(elements(w.shape) for w in getattr(layer, "weights", ()))



def fmt_dims(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def convention_notes(report: Report) -> tuple[str, ...]:
    """Report notes giving the totals under the conventions not chosen."""
    chosen = dict(report.conventions)
    notes = []
    if any(p.variant("causal") or (p.kind == "attention" and p.variant("executed"))
           for row in report.layers for p in row.pieces):
        if chosen.get("attention") == "causal":
            notes.append("Attention: causal convention, L(L+1)/2 query-key pairs per causal "
                         f"self-attention; as executed (full LxL, without --causal): "
                         f"{report.macs_as('executed'):,} MACs in total.")
        else:
            notes.append("Attention: every score as executed (full LxL); causal convention "
                         f"(L(L+1)/2 pairs, --causal): {report.macs_as('causal'):,} MACs in "
                         "total.")
    if report.active_params != report.params:
        moe = chosen.get("moe")
        counted = "the routed top-k experts" if moe == "routed" else "every expert as executed"
        other = ("the implementation executes every expert on every token: "
                 f"{report.macs_as('executed'):,} MACs in total (--moe executed)"
                 if moe == "routed" else
                 f"routed top-k experts only: {report.macs_as('routed'):,} MACs in total "
                 "(--moe routed)")
        notes.append(f"Mixture of experts: {report.active_params:,} of {report.params:,} params "
                     f"active per token; MACs count {counted}; {other}.")
    return tuple(notes)
