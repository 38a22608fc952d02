"""Layers defined inside ``keras.applications`` models (ConvNeXt, Inception-ResNet-v2)."""

from __future__ import annotations

from typing import Any

from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    other,
)


def layer_scale(layer: Any, call: Call) -> tuple[Piece, ...]:
    """ConvNeXt's LayerScale: x * gamma, one gamma per channel; 1 FLOP per element."""
    return other(elements(call.output), params=int(layer.projection_dim))


def custom_scale(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Inception-ResNet-v2's CustomScaleLayer: x + r * scale, 2 FLOPs per element."""
    return other(2 * elements(call.output))
