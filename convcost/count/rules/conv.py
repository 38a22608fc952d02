"""Convolutions: standard (grouped), transposed, depthwise and separable, 1-D to 3-D."""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    activation_flops,
    conv_kind,
    piece,
    split_channels,
)


def conv(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Grouped N-D conv: k^d * (C_in/groups) * C_out weights, each used at every output position.

    MACs = prod(kernel) * C_in/groups * C_out * prod(out spatial); + C_out bias per position.
    """
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    kernel = tuple(layer.kernel_size)
    cost = f.conv(kernel, c_in, c_out, out_spatial, groups=layer.groups, bias=layer.use_bias)
    kind = "standard" if layer.groups != 1 else conv_kind(kernel, out_spatial)
    return (piece(kind, cost, activation_flops(layer, call.output)),)


def conv_transpose(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Transposed conv: every input position scatters prod(kernel) * C_in * C_out MACs.

    MACs = prod(kernel) * C_in * C_out * prod(in spatial) (the taps that fall in the cropped
    border are counted too); bias: C_out per output position.
    """
    in_spatial, c_in = split_channels(call.input, layer.data_format)
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    kernel = tuple(layer.kernel_size)
    cost = f.conv_transpose(kernel, c_in, c_out, in_spatial, out_spatial, bias=layer.use_bias)
    return (piece("standard", cost, activation_flops(layer, call.output)),)


def depthwise(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Depthwise conv: prod(kernel) * C_in * multiplier weights; MACs = weights * out positions."""
    out_spatial, _ = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    cost = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                       depth_multiplier=layer.depth_multiplier, bias=layer.use_bias)
    return (piece("depthwise", cost, activation_flops(layer, call.output)),)


def separable(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Separable conv = depthwise (no bias) + pointwise C_in*multiplier -> C_out (with bias)."""
    out_spatial, c_out = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    multiplier = layer.depth_multiplier
    dw = f.depthwise(tuple(layer.kernel_size), c_in, out_spatial,
                     depth_multiplier=multiplier, bias=False)
    pw = f.pointwise(c_in * multiplier, c_out, out_spatial, bias=layer.use_bias)
    pw_kind = conv_kind((1,), out_spatial)
    return (piece("depthwise", dw), piece(pw_kind, pw, activation_flops(layer, call.output)))
