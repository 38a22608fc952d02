"""Normalizations (batch, layer, group, RMS, unit, adapted), rescaling, spectral norm.

A normalization costs its statistics (2 FLOPs per input element: a sum and a sum of
squares) plus 2 per element to normalize (subtract, scale by 1/std) plus 1 per element for
each of scale and shift; batch norm at inference folds into one scale and one shift.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    axis_size,
    elements,
    layer_cost,
    other,
    piece,
)


def batch_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Batch norm: gamma, beta, moving mean and variance per channel; 2 FLOPs per element."""
    channels = axis_size(call.input, layer.axis)
    cost = f.batch_norm(channels, elements(call.output), center=layer.center, scale=layer.scale)
    return (piece("other", cost),)


def _norm_flops(n: int, *, scale: bool, center: bool) -> int:
    """Statistics (2/elt) + normalize (2/elt) + scale (1/elt) + shift (1/elt)."""
    return n * (4 + int(scale) + int(center))


def layer_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Layer norm over ``axis``: gamma and beta of the normalized size; (4 + scale + center)/elt.

    ``rms_scaling`` (deprecated) keeps gamma only and skips the mean: 4 FLOPs per element.
    """
    size = axis_size(call.input, layer.axis)
    rms = bool(getattr(layer, "rms_scaling", False))
    scale, center = layer.scale or rms, layer.center and not rms
    n = elements(call.output)
    flops = 4 * n if rms else _norm_flops(n, scale=scale, center=center)
    return other(flops, params=size * (int(scale) + int(center)))


def group_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Group norm: gamma and beta per channel; statistics per group: (4 + scale + center)/elt."""
    channels = axis_size(call.input, layer.axis)
    params = channels * (int(layer.scale) + int(layer.center))
    return other(_norm_flops(elements(call.output), scale=layer.scale, center=layer.center),
                 params=params)


def rms_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """RMS norm: a scale per normalized element; square, sum, times 1/rms, scale: 4 per element."""
    return other(4 * elements(call.output), params=axis_size(call.input, layer.axis))


def unit_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """x / ||x||: square, sum, divide = 3 FLOPs per element; no weights."""
    return other(3 * elements(call.output))


def normalization(layer: Any, call: Call) -> tuple[Piece, ...]:
    """(x - mean) / std: 2 FLOPs per element; adapted mean, variance (kept-axis size) and count.

    With ``mean``/``variance`` given as constants the layer holds no weights.
    """
    keep = [a for a in (layer.axis or ())]
    size = axis_size(call.input, keep) if keep else 1
    params = 2 * size + 1 if getattr(layer, "input_mean", None) is None else 0
    return other(2 * elements(call.output), params=params)


def rescaling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """x * scale (+ offset): 1 FLOP per element, 2 with a non-zero offset."""
    offset = layer.offset
    has_offset = not (isinstance(offset, (int, float)) and offset == 0)
    return other(elements(call.output) * (1 + int(has_offset)))


def spectral_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """At inference the wrapped layer's cost; + a power-iteration vector u (kernel's last size)."""
    inner = layer_cost(layer.layer, call)
    u = int(layer.layer.kernel.shape[-1])
    return (replace(inner[0], params=inner[0].params + u), *inner[1:])
