"""Matrix products: Dense, EinsumDense, ``Dot`` (of two activations: kind ``attention``); and
embeddings (a lookup is a copy: 0 FLOPs, kind ``embedding``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    Dims,
    activation_flops,
    axis_size,
    elements,
    piece,
)


def dense(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Dense on the last axis: d_in * units weights, used at every other position."""
    units_in = int(call.input[-1])
    positions = elements(call.input[:-1])
    cost = f.dense(units_in, layer.units, positions=positions, bias=layer.use_bias)
    return (piece("fully_connected", cost, activation_flops(layer, call.output)),)


def einsum_dense(layer: Any, call: Call) -> tuple[Piece, ...]:
    """``einsum(equation, x, kernel)``: MACs = product of the sizes of all distinct indices.

    Index sizes come from the input and output shapes (batch = 1); the kernel holds the
    product of its indices' sizes; the bias (``bias_axes``) one weight per bias index value,
    added once per output element.
    """
    lhs, out_spec = layer.equation.split("->")
    in_spec, kernel_spec = lhs.split(",")
    sizes = _index_sizes(in_spec, (1, *call.input)) | _index_sizes(out_spec, (1, *call.output))
    all_indices = set(in_spec + kernel_spec + out_spec) - {"."}
    macs = int(f.product([sizes[i] for i in all_indices])) * _ellipsis(in_spec, call.input)
    weights = int(f.product([sizes[i] for i in kernel_spec]))
    bias = int(f.product([sizes[i] for i in layer.bias_axes])) if layer.bias_axes else 0
    flops = (elements(call.output) if bias else 0) + activation_flops(layer, call.output)
    return (Piece("fully_connected", params=weights + bias, macs=macs, other_flops=flops),)


def _index_sizes(spec: str, shape: Sequence) -> dict[str, int]:
    """Map each einsum index letter to its size; ``...`` covers the middle dimensions."""
    if "..." in spec:
        head, tail = spec.split("...")
        letters = list(head) + list(tail)
        dims = list(shape[: len(head)]) + list(shape[len(shape) - len(tail):])
    else:
        letters, dims = list(spec), list(shape)
    return {letter: int(d) for letter, d in zip(letters, dims)}


def _ellipsis(spec: str, shape: Dims) -> int:
    """Product of the dimensions an input ``...`` stands for (1 without one)."""
    if "..." not in spec:
        return 1
    head, tail = spec.split("...")
    full = (1, *shape)
    return elements(tuple(full[len(head): len(full) - len(tail)]))


def dot(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Batched dot product: MACs = output elements * contracted size; ``normalize`` adds the
    L2 normalization of both inputs (3 FLOPs per input element)."""
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else (layer.axes, layer.axes)
    contracted = axis_size(call.inputs[0], axes[0])
    flops = 3 * sum(elements(s) for s in call.inputs) if layer.normalize else 0
    return (Piece("attention", macs=max(1, elements(call.output)) * contracted,
                  other_flops=flops),)


def embedding(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Embedding: input_dim * output_dim weights; a lookup is a copy (0 FLOPs)."""
    return (Piece("embedding", params=int(layer.input_dim) * int(layer.output_dim)),)


def reversible_embedding(layer: Any, call: Call) -> tuple[Piece, ...]:
    """ReversibleEmbedding: a lookup forward; ``reverse=True`` is a dense to the vocabulary.

    Params: input_dim * output_dim, twice when ``tie_weights=False``. Reverse call: MACs =
    positions * output_dim * input_dim (told apart by the output's last size).
    """
    vocab, dim = int(layer.input_dim), int(layer.output_dim)
    params = vocab * dim * (1 if layer.tie_weights else 2)
    reverse = call.output[-1] == vocab and call.input[-1] == dim
    if not reverse:
        return (Piece("embedding", params=params),)
    return (Piece("fully_connected", params=params, macs=elements(call.input[:-1]) * vocab * dim),)
