"""Recurrent layers: one step of the cell, times the sequence length (kind ``recurrent``)."""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    layer_cost,
    other,
    repeated,
    split_channels,
)


def simple_rnn_cell(layer: Any, call: Call) -> tuple[Piece, ...]:
    """One step of h = act(x W + h U + b): MACs u*(d + u); FLOPs: bias u, add u, act u."""
    d, u = int(call.input[-1]), int(layer.units)
    bias = layer.use_bias
    return (Piece("recurrent", params=u * (d + u) + (u if bias else 0), macs=u * (d + u),
                  other_flops=u * (2 + int(bias))),)


def lstm_cell(layer: Any, call: Call) -> tuple[Piece, ...]:
    """One LSTM step, 4 gates (i, f, c~, o): z = x W + h U + b, W: d x 4u, U: u x 4u.

    MACs 4u*(d + u). FLOPs: bias 4u, add 4u, gate activations 4u (3 sigmoid, 1 tanh),
    c = f*c + i*c~ 3u, h = o * tanh(c) 2u: 17u with bias, 13u without.
    """
    d, u = int(call.input[-1]), int(layer.units)
    bias = layer.use_bias
    return (Piece("recurrent", params=4 * u * (d + u) + (4 * u if bias else 0),
                  macs=4 * u * (d + u), other_flops=u * (13 + 4 * int(bias))),)


def gru_cell(layer: Any, call: Call) -> tuple[Piece, ...]:
    """One GRU step, 3 gates (z, r, h~): W: d x 3u, U: u x 3u, MACs 3u*(d + u).

    ``reset_after=True`` (Keras default): two biases (input and recurrent, 6u weights),
    h~ = tanh(x W_h + r * (h U_h + b_h)); ``False``: one bias (3u), h~ = tanh(x W_h + (r*h) U_h).
    FLOPs: biases (6u or 3u), z and r pre-activation adds 2u, h~ add u and reset product u,
    activations 3u, h = z*h + (1-z)*h~ 4u.
    """
    d, u = int(call.input[-1]), int(layer.units)
    biases = (2 if layer.reset_after else 1) * 3 * u if layer.use_bias else 0
    return (Piece("recurrent", params=3 * u * (d + u) + biases, macs=3 * u * (d + u),
                  other_flops=biases + 11 * u),)


def stacked_cells(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Each cell on the previous one's output."""
    pieces: list[Piece] = []
    size = call.input
    for cell in layer.cells:
        out = (*size[:-1], _cell_units(cell))
        pieces.extend(layer_cost(cell, Call((size,), (out,))))
        size = out
    return tuple(pieces)


def _cell_units(cell: Any) -> int:
    size = getattr(cell, "output_size", None) or getattr(cell, "units", None)
    if size is None:
        raise ValueError(f"cannot tell the output size of cell {type(cell).__name__}")
    return int(size)


def rnn(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Sequence layer (SimpleRNN, LSTM, GRU, ConvLSTM, RNN(cell)): the cell's cost for one
    step, times the sequence length (the input's first axis)."""
    steps, step_in = int(call.input[0]), call.input[1:]
    step_out = call.output[1:] if layer.return_sequences else call.output
    return repeated(layer_cost(layer.cell, Call((step_in,), (step_out,))), steps)


def conv_lstm_cell(layer: Any, call: Call) -> tuple[Piece, ...]:
    """One ConvLSTM step: the input conv (layer's strides/padding) to 4*filters and the
    recurrent 'same' conv filters -> 4*filters, both with the layer's kernel, at the output
    positions; then the LSTM gate arithmetic (17 or 13 FLOPs per output element)."""
    out_spatial, filters = split_channels(call.output, layer.data_format)
    _, c_in = split_channels(call.input, layer.data_format)
    kernel = tuple(layer.kernel_size)
    x = f.conv(kernel, c_in, 4 * filters, out_spatial, bias=layer.use_bias)
    h = f.conv(kernel, filters, 4 * filters, out_spatial, bias=False)
    positions = int(f.product(out_spatial))
    gates = positions * filters * (13 + 4 * int(layer.use_bias))
    return (Piece("recurrent", params=int(x.params + h.params), macs=int(x.macs + h.macs),
                  other_flops=gates),)


def bidirectional(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Forward and backward layers on the same input; merge: concat 0, sum/mul 1, ave 2 FLOPs
    per output element."""
    out = call.output
    if layer.merge_mode == "concat":
        out = (*out[:-1], int(out[-1]) // 2)
    one = Call(call.inputs[:1], (out,))
    pieces = layer_cost(layer.forward_layer, one) + layer_cost(layer.backward_layer, one)
    merge = {"sum": 1, "mul": 1, "ave": 2}.get(layer.merge_mode or "", 0)
    return (*pieces, *other(merge * elements(call.output)))


def time_distributed(layer: Any, call: Call) -> tuple[Piece, ...]:
    """The wrapped layer's cost on one time step, times the steps (the first axis)."""
    steps = int(call.input[0])
    step = Call(tuple(s[1:] for s in call.inputs), tuple(s[1:] for s in call.outputs))
    return repeated(layer_cost(layer.layer, step), steps)
