"""Attention layers: projections (fully connected) and the dot-product core (kind ``attention``).

The core's pieces carry a ``"causal"`` variant when the call is causal self-attention
(:attr:`~convcost.count.rules.base.Call.causal`): the MACs and the softmax of the allowed
query-key pairs only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from convcost.count import formulas as f
from convcost.count.keras_internals import uses_gate
from convcost.count.report import Piece, Variant
from convcost.count.rules.base import (
    Call,
    causal_share,
    elements,
    piece,
)


def _attention_core(heads: int, queries: int, keys: int, key_dim: int, value_dim: int,
                    call: Call) -> Piece:
    """Scaled dot-product attention without projections, for ``heads`` heads (kind attention).

    MACs: scores ``T*S*key_dim`` + context ``T*S*value_dim`` per head; FLOPs: query scaling
    ``T*key_dim`` and softmax ``3*T*S`` per head. Causal variant: the same over the allowed
    pairs only (the query scaling unchanged).
    """
    per_pair_macs = heads * (key_dim + value_dim)
    per_pair_flops = heads * f.SOFTMAX_FLOPS_PER_ELEMENT
    scaling = heads * queries * key_dim
    full = f.dot_product_attention(queries, keys, key_dim, value_dim, heads=heads)
    core = Piece("attention", macs=full.macs, other_flops=full.other_flops)
    share = causal_share(call, queries, keys)
    if share is None:
        return core
    pairs = share[0]
    return replace(core, variants=(Variant("causal", per_pair_macs * pairs,
                                           scaling + per_pair_flops * pairs),))


def _projection(d_in: int, heads: int, size: int, positions: int, bias: bool) -> Piece:
    cost = f.dense(d_in, heads * size, positions=positions, bias=bias)
    return piece("fully_connected", cost)


def multi_head_attention(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Keras MHA, called as ``(query, value[, key])``: Q, K, V projections to
    ``num_heads x key_dim`` (V: ``value_dim``), dot-product attention per head, output
    projection back to ``output_shape`` (default: query's last size), optional sigmoid gate
    (``use_gate``: one more projection of the query and a product). T = query positions,
    S = value positions (attention over all non-batch axes but the last). With a key/value
    cache (keras-hub's ``CachedMultiHeadAttention``), K and V are projected for the T new
    positions only and the T queries attend to the cache's S keys."""
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) > 2 else value
    heads, kd = int(layer.num_heads), int(layer.key_dim)
    vd = int(layer.value_dim or kd)
    t, s, bias = elements(query[:-1]), elements(value[:-1]), layer.use_bias
    keys = s if call.cache is None else int(call.cache[1])
    d_out = int(call.output[-1])
    pieces = [_projection(int(query[-1]), heads, kd, t, bias),
              _projection(int(key[-1]), heads, kd, s, bias),
              _projection(int(value[-1]), heads, vd, s, bias),
              _attention_core(heads, t, keys, kd, vd, call),
              piece("fully_connected", f.dense(heads * vd, d_out, positions=t, bias=bias))]
    if uses_gate(layer):
        gate = _projection(int(query[-1]), heads, vd, t, bias)
        pieces.append(replace(gate, other_flops=gate.other_flops + 2 * t * heads * vd))
    return tuple(pieces)


def group_query_attention(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Grouped-query attention: Q to ``num_query_heads x head_dim``; K and V to
    ``num_key_value_heads x head_dim`` (then repeated, a copy); attention per query head;
    output projection to the query's size; optional gate as in :func:`multi_head_attention`."""
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) > 2 else value
    qh, kvh, hd = int(layer.num_query_heads), int(layer.num_key_value_heads), int(layer.head_dim)
    t, s, bias = elements(query[:-1]), elements(value[:-1]), layer.use_bias
    pieces = [_projection(int(query[-1]), qh, hd, t, bias),
              _projection(int(key[-1]), kvh, hd, s, bias),
              _projection(int(value[-1]), kvh, hd, s, bias),
              _attention_core(qh, t, s, hd, hd, call),
              piece("fully_connected", f.dense(qh * hd, int(call.output[-1]), positions=t,
                                               bias=bias))]
    if layer.use_gate:
        gate = _projection(int(query[-1]), qh, hd, t, bias)
        pieces.append(replace(gate, other_flops=gate.other_flops + 2 * t * qh * hd))
    return tuple(pieces)


def attention(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Luong attention on ``[query (Tq, d), value (Tv, dv), key (Tv, d)]``, no projections.

    ``score_mode='dot'``: Tq*Tv*d MACs (+ Tq*Tv with ``use_scale``); ``'concat'``: tanh(q + k)
    summed, 3*Tq*Tv*d FLOPs (4 with scale). Then softmax (3*Tq*Tv) and Tq*Tv*dv MACs.
    Weights: a scalar scale (``use_scale``), a scalar concat weight (``'concat'``).
    """
    query, value = call.inputs[0], call.inputs[1]
    tq, tv, d, dv = elements(query[:-1]), elements(value[:-1]), int(query[-1]), int(value[-1])
    scale = bool(layer.use_scale)
    params = int(scale) + int(layer.score_mode == "concat")
    if layer.score_mode == "dot":
        macs, flops = tq * tv * d, tq * tv * int(scale)
    else:
        macs, flops = 0, tq * tv * d * (3 + int(scale)) + tq * tv
    flops += f.SOFTMAX_FLOPS_PER_ELEMENT * tq * tv
    return (Piece("attention", params=params, macs=macs + tq * tv * dv, other_flops=flops),)


def additive_attention(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Bahdanau attention: scores = sum(scale * tanh(q + k)) over d, element-wise (no MACs):
    add, tanh, sum (+ multiply with ``use_scale``, d weights) = (3 + scale) FLOPs per
    (Tq, Tv, d) triple; then softmax (3*Tq*Tv) and Tq*Tv*dv MACs for the context."""
    query, value = call.inputs[0], call.inputs[1]
    tq, tv, d, dv = elements(query[:-1]), elements(value[:-1]), int(query[-1]), int(value[-1])
    scale = bool(layer.use_scale)
    flops = tq * tv * d * (3 + int(scale)) + f.SOFTMAX_FLOPS_PER_ELEMENT * tq * tv
    return (Piece("attention", params=d if scale else 0, macs=tq * tv * dv, other_flops=flops),)
