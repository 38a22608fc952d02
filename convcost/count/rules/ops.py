"""``keras.ops`` operations that appear as nodes of functional graphs (``x + y``, ``ops.relu``)."""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.keras_internals import op_classes
from convcost.count.report import Piece
from convcost.count.rules.base import (
    Call,
    elements,
    other,
)

ELEMENTWISE_OPS = (
    op_classes("numpy", "Abs Absolute Add Subtract Multiply Divide TrueDivide DivideNoNan "
               "FloorDivide Maximum Minimum Power Negative Sqrt Square Exp Log Log1p Expm1 Tanh "
               "Sin Cos Reciprocal Clip Sign Floor Ceil Round Mod Where")
    + op_classes("nn", "Relu Relu6 Sigmoid HardSigmoid Silu HardSilu Gelu Elu Selu LeakyRelu "
                 "Softplus Softsign Celu HardTanh LogSigmoid")
    + op_classes("math", "Rsqrt Erf")
)
"""keras.ops applied element by element: 1 FLOP per output element."""


def elementwise_op(op: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per output element."""
    return other(elements(call.output))


def softmax_op(op: Any, call: Call) -> tuple[Piece, ...]:
    """3 FLOPs per element."""
    return other(f.SOFTMAX_FLOPS_PER_ELEMENT * elements(call.output))


def reduction_op(op: Any, call: Call) -> tuple[Piece, ...]:
    """1 FLOP per input element."""
    return other(elements(call.input))


def matmul_op(op: Any, call: Call) -> tuple[Piece, ...]:
    """a @ b: MACs = output elements * contracted size (a's last axis); kind ``attention``
    when both operands are graph tensors (activations), else ``fully_connected``."""
    kind = "attention" if len(call.inputs) > 1 else "fully_connected"
    return (Piece(kind, macs=elements(call.output) * int(call.inputs[0][-1])),)
