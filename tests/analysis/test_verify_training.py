"""The training cost against TensorFlow's gradient graph: the products a training step
executes, counted from their shapes, and TensorFlow's profiler where it counts them."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import keras
import pytest

import convcost
from convcost.analysis.training import training_cost
from convcost.analysis.verify_training import (
    UNCOUNTED,
    GradientCount,
    RoleCheck,
    check_training,
    gradient_count,
)
from convcost.models import zoo

L = keras.layers


def _chain(shape: tuple[int, ...], *layers: keras.layers.Layer) -> keras.Model:
    x = keras.Input(shape)
    y = x
    for layer in layers:
        y = layer(y)
    return keras.Model(x, y)


def _attention() -> keras.Model:
    x = keras.Input((5, 8))
    y = L.Dense(8)(x)
    return keras.Model(x, L.MultiHeadAttention(num_heads=2, key_dim=4)(y, y))


def _frozen_v1(*names: str) -> keras.Model:
    model = zoo.build("v1")
    for name in names:
        model.get_layer(name).trainable = False
    return model


def _two_inputs() -> keras.Model:
    a, b = keras.Input((4,)), keras.Input((4,))
    y = L.Concatenate()([L.Dense(4)(a), L.Dense(4)(b)])
    return keras.Model([a, b], L.Dense(2)(y))


CASES = {
    "two input branches": _two_inputs,
    "conv same s2": lambda: _chain((8, 8, 3), L.Conv2D(4, 1), L.Conv2D(8, 3, strides=2,
                                                                     padding="same")),
    "conv valid s2": lambda: _chain((9, 9, 3), L.Conv2D(4, 1), L.Conv2D(8, 3, strides=2)),
    "depthwise s2": lambda: _chain((8, 8, 3), L.Conv2D(4, 1),
                                   L.DepthwiseConv2D(3, strides=2, padding="same")),
    "dense": lambda: _chain((16,), L.Dense(8), L.Dense(4)),
    "attention": _attention,
    "lstm unrolled": lambda: _chain((4, 6), L.Dense(6), L.LSTM(5, unroll=True)),
    "v1 frozen prefix": lambda: _frozen_v1("conv_1", "dw_2", "pw_2"),
    "v1 frozen head": lambda: _frozen_v1("fc1", "bn_2", "output"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_executed_products_equal_the_training_cost(case: str) -> None:
    model = CASES[case]()
    cost = training_cost(convcost.analyze(model))
    counted = gradient_count(model)
    assert counted.hidden == ()
    assert counted.ops == {"forward": cost.forward_macs, "dx": cost.input_grad_macs,
                           "dW": cost.weight_grad_macs}


def test_profiler_is_exact_for_dense_and_same_padded_strided_conv() -> None:
    for case in ("dense", "conv same s2"):
        counted = gradient_count(CASES[case]())
        assert counted.profiler == {role: float(n) for role, n in counted.ops.items()}
        assert counted.uncounted == ()


def test_profiler_misses_depthwise_backprop_and_miscounts_valid_conv() -> None:
    depthwise = gradient_count(CASES["depthwise s2"]())
    assert set(depthwise.uncounted) == {"DepthwiseConv2dNativeBackpropInput",
                                        "DepthwiseConv2dNativeBackpropFilter"} <= UNCOUNTED
    # the depthwise backprops count 0: only the 1x1 conv's weight gradient is left
    assert depthwise.profiler["dx"] == 0
    assert depthwise.profiler["dW"] == 8 * 8 * 3 * 4
    valid = gradient_count(CASES["conv valid s2"]())
    # TF's statistic counts input positions / stride^2 (81 / 4) instead of 16 output positions
    assert valid.profiler["dx"] == 81 / 4 * 9 * 4 * 8 != valid.ops["dx"] == 16 * 9 * 4 * 8


def test_check_training_verdict_by_hand() -> None:
    """agree: every role's count equals the executed ops' and no op is hidden in a loop."""
    counted = GradientCount({"forward": 100, "dx": 40, "dW": 60},
                            {"forward": 100.0, "dx": 0.0, "dW": 60.0},
                            {"forward": ("Conv2D",), "dx": ("Conv2DBackpropInput",),
                             "dW": ("Conv2DBackpropFilter",)})
    cost = SimpleNamespace(forward_macs=100, input_grad_macs=40, weight_grad_macs=60)
    check = check_training("m", cost, counted)
    assert check.agree
    assert check.roles["dx"] == RoleCheck(40, 40, 0.0, ("Conv2DBackpropInput",))
    off = SimpleNamespace(forward_macs=100, input_grad_macs=41, weight_grad_macs=60)
    assert not check_training("m", off, counted).agree
    looped = dataclasses.replace(counted, hidden=("While",))
    assert not check_training("m", cost, looped).agree
    assert check_training("m", cost, looped).hidden_ops == ("While",)
