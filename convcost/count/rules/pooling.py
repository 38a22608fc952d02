"""Pooling (windowed, global, adaptive): other FLOPs, no MACs."""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    other,
    piece,
    split_channels,
)


def pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """prod(pool_size) FLOPs per output element (compare or add over the window)."""
    window = int(f.product(tuple(layer.pool_size)))
    return (piece("other", f.elementwise(elements(call.output), window)),)


def global_pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element."""
    return (piece("other", f.elementwise(elements(call.input))),)


def adaptive_pooling(layer: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element of each output's bin; bin i of n -> o spans
    [floor(i*n/o), ceil((i+1)*n/o)), so bins may overlap. Summed per dimension, times channels.
    """
    in_spatial, channels = split_channels(call.input, layer.data_format)
    out_spatial, _ = split_channels(call.output, layer.data_format)
    visits = f.product([_bin_total(n, o) for n, o in zip(in_spatial, out_spatial)])
    return other(int(visits) * channels)


def _bin_total(n: int, o: int) -> int:
    return sum(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
