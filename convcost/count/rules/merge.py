"""Merging layers (``Add``, ``Multiply``, ``Average``, ...): other FLOPs, no MACs."""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    other,
    piece,
)


def merge(layer: Any, call: Call) -> tuple[Piece, ...]:
    """n - 1 FLOPs per output element for n inputs."""
    inputs = len(call.inputs)
    return (piece("other", f.elementwise(elements(call.output), inputs - 1)),)


def average(layer: Any, call: Call) -> tuple[Piece, ...]:
    """n - 1 additions and one division per output element: n FLOPs."""
    return other(elements(call.output) * len(call.inputs))
