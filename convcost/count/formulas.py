"""Cost formulas, written once for integers and sympy symbols alike.

Every function here uses only ``+``, ``*`` and ``//`` (and ``//`` only when a divisor is not 1)
on its arguments, so the same code evaluates on exact integers (the Keras walker) and on sympy
symbols (the theory in :mod:`convcost.theory.symbolic`). Theory and practice cannot drift apart.

Conventions (per sample, i.e. batch size 1):

* ``macs`` counts multiply-accumulates of convolutions and matrix products: one fused
  multiply-add is one MAC. This is the papers' "mult-adds".
* ``other_flops`` counts element-wise work, never mixed into ``macs``: one FLOP per bias add,
  per activation output (3 for softmax: exp, sum, divide), 2 per batch-norm output (scale and
  shift of the folded inference form), ``pool_size`` per pooled output, ``n - 1`` per output of
  an n-input merge (add, multiply, ...).
* ``flops = 2 * macs + other_flops``.
* ``params`` counts every weight Keras stores, as ``count_params()`` does: bias included,
  batch-norm moving statistics included.

Spatial sizes (``out_size``, ``in_size``) are tuples with one entry per spatial dimension, so
one function serves 1-D, 2-D and 3-D layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Number = Any  # an int, or a sympy expression

SOFTMAX_FLOPS_PER_ELEMENT = 3
BATCHNORM_FLOPS_PER_ELEMENT = 2


@dataclass(frozen=True)
class Cost:
    """Params, multiply-accumulates and other FLOPs of one operation (per sample)."""

    params: Number = 0
    macs: Number = 0
    other_flops: Number = 0

    @property
    def flops(self) -> Number:
        """FLOPs = 2 x MACs (a multiply and an add) + element-wise FLOPs."""
        return 2 * self.macs + self.other_flops

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.params + other.params,
            self.macs + other.macs,
            self.other_flops + other.other_flops,
        )


def product(values: Sequence[Number]) -> Number:
    """Product of a sequence (1 for an empty one); works on ints and symbols."""
    result: Number = 1
    for value in values:
        result = result * value
    return result


def _per_group(channels: Number, groups: Number) -> Number:
    return channels if groups == 1 else channels // groups


def _bias(channels: Number, bias: bool) -> Number:
    return channels if bias else 0


def conv(
    kernel: Sequence[Number],
    c_in: Number,
    c_out: Number,
    out_size: Sequence[Number],
    *,
    groups: Number = 1,
    bias: bool = True,
) -> Cost:
    """Standard (grouped) N-D convolution: one MAC per kernel weight per output position.

    Args:
        kernel: kernel size per spatial dimension, e.g. ``(D_K, D_K)``.
        c_in: input channels (M).
        c_out: output channels (N).
        out_size: output spatial size per dimension, e.g. ``(D_H, D_W)``.
        groups: channel groups; each output channel sees ``c_in // groups`` inputs.
        bias: whether a bias vector is added (one FLOP per output element).
    """
    weights = product(kernel) * _per_group(c_in, groups) * c_out
    positions = product(out_size)
    return Cost(
        params=weights + _bias(c_out, bias),
        macs=weights * positions,
        other_flops=_bias(c_out, bias) * positions,
    )


def pointwise(
    c_in: Number, c_out: Number, out_size: Sequence[Number], *, bias: bool = True
) -> Cost:
    """1x1 convolution: M*N params and M*N*D_W*D_H MACs (plus bias)."""
    return conv((1,) * len(out_size), c_in, c_out, out_size, bias=bias)


def depthwise(
    kernel: Sequence[Number],
    c_in: Number,
    out_size: Sequence[Number],
    *,
    depth_multiplier: Number = 1,
    bias: bool = True,
) -> Cost:
    """Depthwise convolution: each input channel filtered alone, ``depth_multiplier`` times.

    D_K*D_K*M params and D_K*D_K*M*D_W*D_H MACs for a 2-D kernel and multiplier 1; the same as
    :func:`conv` with ``groups = c_in``, written without the division so it stays exact on symbols.
    """
    c_out = c_in * depth_multiplier
    weights = product(kernel) * c_out
    positions = product(out_size)
    return Cost(
        params=weights + _bias(c_out, bias),
        macs=weights * positions,
        other_flops=_bias(c_out, bias) * positions,
    )


def separable(
    kernel: Sequence[Number],
    c_in: Number,
    c_out: Number,
    out_size: Sequence[Number],
    *,
    depth_multiplier: Number = 1,
    bias: bool = True,
) -> Cost:
    """Depthwise separable convolution = depthwise (no bias) + pointwise (with bias).

    This is Keras' ``SeparableConv2D``; the MobileNet v1 block puts batch norm between the two,
    so there each part has its own bias-free conv (see :func:`depthwise` and :func:`pointwise`).
    """
    return depthwise(kernel, c_in, out_size, depth_multiplier=depth_multiplier, bias=False) + (
        pointwise(c_in * depth_multiplier, c_out, out_size, bias=bias)
    )


def conv_transpose(
    kernel: Sequence[Number],
    c_in: Number,
    c_out: Number,
    in_size: Sequence[Number],
    out_size: Sequence[Number],
    *,
    bias: bool = True,
) -> Cost:
    """Transposed convolution: each *input* position scatters ``c_in x kernel x c_out`` MACs."""
    weights = product(kernel) * c_in * c_out
    return Cost(
        params=weights + _bias(c_out, bias),
        macs=weights * product(in_size),
        other_flops=_bias(c_out, bias) * product(out_size),
    )


def dense(units_in: Number, units_out: Number, *, positions: Number = 1, bias: bool = True) -> Cost:
    """Fully connected layer applied at ``positions`` positions (1 for a flat input)."""
    weights = units_in * units_out
    return Cost(
        params=weights + _bias(units_out, bias),
        macs=weights * positions,
        other_flops=_bias(units_out, bias) * positions,
    )


def dot_product_attention(queries: Number, keys: Number, key_dim: Number, value_dim: Number,
                          *, heads: Number = 1) -> Cost:
    """Scaled dot-product attention without its projections, for ``heads`` heads.

    Per head: scores ``Q K^T`` (``queries * keys * key_dim`` MACs) and context ``A V``
    (``queries * keys * value_dim`` MACs); other FLOPs: scaling the queries
    (``queries * key_dim``) and a softmax over the scores (3 per score). A mask does not
    change the count: the products are computed in full, then masked.
    """
    macs = heads * queries * keys * (key_dim + value_dim)
    flops = heads * (queries * key_dim + SOFTMAX_FLOPS_PER_ELEMENT * queries * keys)
    return Cost(macs=macs, other_flops=flops)


def batch_norm(channels: Number, elements: Number = 0, *, center: bool = True,
               scale: bool = True) -> Cost:
    """Batch normalization: gamma, beta (if enabled) and the two moving statistics.

    At inference it folds into one scale and one shift per element, hence 2 FLOPs per element
    of the output (``elements``); it has no MACs.
    """
    trainable = (channels if center else 0) + (channels if scale else 0)
    return Cost(params=trainable + 2 * channels, other_flops=BATCHNORM_FLOPS_PER_ELEMENT * elements)


def elementwise(elements: Number, flops_per_element: Number = 1) -> Cost:
    """Element-wise work (activation, bias, scaling): no params, no MACs."""
    return Cost(other_flops=elements * flops_per_element)


def inverted_residual(
    h: Number,
    w: Number,
    d_in: Number,
    d_out: Number,
    t: Number,
    *,
    k: Number = 3,
    stride: Number = 1,
    bias: bool = False,
) -> Cost:
    """MobileNet v2 bottleneck: 1x1 expand by t (ReLU6), kxk depthwise (ReLU6), linear 1x1.

    ``h, w`` is the input map; the depthwise and projection run on ``h/stride x w/stride``
    (``stride`` must divide the map). The shortcut add, used when ``stride == 1`` and
    ``d_in == d_out``, costs no MACs. Batch norm is left out so the MACs match the paper's
    ``h*w*d'*t*(d' + k^2 + d'')`` at stride 1.
    """
    expanded = d_in * t
    out_size = (h, w) if stride == 1 else (h // stride, w // stride)
    return (
        pointwise(d_in, expanded, (h, w), bias=bias)
        + depthwise((k, k), expanded, out_size, bias=bias)
        + pointwise(expanded, d_out, out_size, bias=bias)
    )


def causal_pairs(length: int, window: int | None = None) -> int:
    """Query-key pairs a causal self-attention over ``length`` positions may use: query i sees
    keys 0..i, or only the last ``window`` of them: sum over i of min(i + 1, window).

    Integers only (it branches on the window). Without a window it is L(L+1)/2, the count behind
    Kaplan et al.'s 2 n_layer n_ctx d_attn attention FLOPs per token.
    """
    if window is None or window >= length:
        return length * (length + 1) // 2
    return window * (window + 1) // 2 + (length - window) * window


def conv_output_length(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one dimension (Keras rules)."""
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-size // stride)
    return max(0, (size - effective) // stride + 1)
