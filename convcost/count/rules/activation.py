"""Activations and other layers applied element by element (``Masking``): other FLOPs,
no MACs. An activation is 1 FLOP per output element (softmax 3).
"""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    activation_flops,
    elements,
    other,
    piece,
)


def activation(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per output element (softmax through ``Activation``: 3)."""
    flops = activation_flops(layer, call.output) if hasattr(layer, "activation") else (
        elements(call.output))
    return (Piece("other", other_flops=flops),)


def prelu(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Learned leaky ReLU: 1 FLOP per element; one alpha per element, 1 along ``shared_axes``."""
    shape = list(call.input)
    for axis in layer.shared_axes or ():
        shape[axis - 1] = 1
    return other(elements(call.output), params=elements(tuple(shape)))


def softmax(layer: Any, call: Call) -> tuple[Piece, ...]:
    """exp, sum, divide: 3 FLOPs per element."""
    return (piece("other", f.elementwise(elements(call.output), f.SOFTMAX_FLOPS_PER_ELEMENT)),)


def masking(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Compare with ``mask_value`` and multiply by the mask: 2 FLOPs per element."""
    return other(2 * elements(call.output))
