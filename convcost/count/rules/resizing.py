"""Resizing, up-sampling and centre cropping: FLOPs of the interpolation, no MACs."""

from __future__ import annotations

from typing import Any

from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    other,
    split_channels,
)

_INTERPOLATION_FLOPS = {"nearest": 0, "bilinear": 7, "bicubic": 31, "lanczos3": 71,
                        "lanczos5": 199}
"""FLOPs per output element of resizing: 2 * taps - 1 (taps products summed); nearest copies.
Taps: bilinear 2x2, bicubic 4x4, lanczos3 6x6, lanczos5 10x10."""


def _interpolation(layer: Any, call: Call) -> tuple[Piece, ...]:
    method = getattr(layer, "interpolation", "nearest")
    if method == "area":  # each output averages its input region: one add per input element
        return other(elements(call.input))
    if method not in _INTERPOLATION_FLOPS:
        raise ValueError(f"no FLOP count for interpolation {method!r}")
    return other(_INTERPOLATION_FLOPS[method] * elements(call.output))


def resize(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Resizing: ``_INTERPOLATION_FLOPS[interpolation]`` per output element (nearest: 0)."""
    return _interpolation(layer, call)


def center_crop(layer: Any, call: Call) -> tuple[Piece, ...]:
    """A crop is a copy (0); an input smaller than the target is resized bilinearly (7/elt)."""
    in_spatial, _ = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    if all(o <= i for o, i in zip(out_spatial, in_spatial)):
        return other()
    return other(_INTERPOLATION_FLOPS["bilinear"] * elements(call.output))
