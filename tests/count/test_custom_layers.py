"""Custom layers and models: register_rule, subclasses of built-ins, subclassed keras.Model
(traced), composite layers, and rules that fail."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers as L

import convcost
from convcost import ConvcostError
from convcost.count.report import Piece
from convcost.count.rules import layer_cost
from convcost.count.walker import analyze


class Scale(L.Layer):
    """y = x * w, one weight per channel (the docstring example of register_rule)."""

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1],))

    def call(self, x):
        return x * self.w


@convcost.register_rule(Scale)
def _scale(layer, call):
    return (Piece("other", params=call.input[-1], other_flops=math.prod(call.output)),)


def test_register_rule_counts_a_custom_layer():
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, Scale(name="scale")(inp))
    report = analyze(model)
    assert report.unsupported == {}
    assert report.params == model.count_params() == 3
    assert report.other_flops == 48


class MyConv(L.Conv2D):
    """A subclass of a built-in layer with no rule of its own."""


class MyConvWithRule(L.Conv2D):
    pass


def test_a_subclass_of_conv2d_uses_the_parent_rule():
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, MyConv(4, 3, name="mine")(inp))
    row = analyze(model).layers[-1]
    assert row.supported and row.type == "MyConv"
    assert row.macs == 9 * 3 * 4 * 36 and row.params == model.count_params() == 112


def test_a_registered_rule_takes_precedence_over_the_parent_rule():
    @convcost.register_rule(MyConvWithRule)
    def _mine(layer, call):
        return (Piece("standard", params=112, macs=7),)

    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, MyConvWithRule(4, 3)(inp))
    assert analyze(model).macs == 7
    assert layer_cost.dispatch(L.Conv2D) is not _mine  # the built-in rule is untouched


class Exploding(L.Layer):
    def call(self, x):
        return x


@convcost.register_rule(Exploding)
def _exploding(layer, call):
    raise ZeroDivisionError("division by zero")


def test_a_failing_rule_is_one_line_naming_the_layer():
    inp = keras.Input((4,))
    model = keras.Model(inp, Exploding(name="boom")(inp))
    with pytest.raises(ConvcostError, match=r"rule for layer 'boom' \(Exploding\) failed: "
                                            r"division by zero.*Received") as info:
        analyze(model)
    assert "\n" not in str(info.value)


# --- subclassed models -----------------------------------------------------------------------


class Block(L.Layer):
    """A composite layer without a rule: conv + BN with a residual add in its own call()."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = L.Conv2D(filters, 3, padding="same", name="conv")
        self.bn = L.BatchNormalization(name="bn")

    def call(self, x):
        return x + self.bn(self.conv(x))


class Net(keras.Model):
    def __init__(self):
        super().__init__(name="net")
        self.stem = L.Conv2D(8, 3, strides=2, name="stem")
        self.block = Block(8, name="block")
        self.head = keras.Sequential([L.GlobalAveragePooling2D(name="gap"),
                                      L.Dense(10, name="fc")], name="head")

    def call(self, x):
        x = self.block(self.block(self.stem(x)))  # the block is called twice
        return self.head(x)


def _built_net(shape=(32, 32, 3)):
    net = Net()
    net(np.zeros((1, *shape), "float32"))
    return net


def test_a_subclassed_model_is_traced_layer_by_layer():
    net = _built_net()
    report = analyze(net)
    paths = [row.path for row in report.layers]
    # the block's own row (after its sub-layers) holds the residual add of its call()
    assert paths == ["stem", "block/conv", "block/bn", "block", "block/conv", "block/bn",
                     "block", "head/gap", "head/fc"]
    assert report.input_shape == (32, 32, 3)
    # stem: 15x15 outputs; block conv 'same' on 15x15, twice; fc 8 -> 10
    assert report.macs == 225 * 27 * 8 + 2 * 225 * 72 * 8 + 80
    assert report.params == net.count_params()
    assert [row.call_index for row in report.layers if row.path == "block/conv"] == [0, 1]
    own = [row for row in report.layers if row.path == "block"]
    assert [row.other_flops for row in own] == [15 * 15 * 8] * 2  # x + bn(conv(x)), per call
    ops = "JAX primitives" if keras.backend.backend() == "jax" else "TensorFlow ops"
    assert all(row.supported and ops in row.note for row in own)
    assert report.unsupported == {}


def test_tracing_leaves_the_model_as_it_was():
    net = _built_net()
    before = [w.numpy().copy() for w in net.weights]
    analyze(net)
    assert all("call" not in vars(layer) for layer in net._flatten_layers())
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, net.weights))
    assert len(net._inbound_nodes) == 0  # no symbolic node was added


def test_an_input_shape_override_retraces_a_subclassed_model():
    net = _built_net()
    report = analyze(net, input_shape=(64, 64, 3))
    assert report.layers[0].macs == 31 * 31 * 27 * 8


def test_an_unbuilt_subclassed_model_needs_an_input_shape():
    with pytest.raises(ConvcostError, match=r"no known input shape.*input_shape=.*"
                                            r"--input-shape.*Received: Net 'net', never built"):
        analyze(Net())
    net = Net()
    report = analyze(net, input_shape=(32, 32, 3))  # built by one call on a zero sample
    assert report.params == net.count_params() == _built_net().count_params()


def test_a_composite_custom_layer_in_a_functional_model_is_traced():
    inp = keras.Input((16, 16, 8))
    model = keras.Model(inp, Block(8, name="blk")(inp))
    report = analyze(model)
    assert [row.path for row in report.layers][-3:] == ["blk/conv", "blk/bn", "blk"]
    assert report.macs == 256 * 9 * 8 * 8
    assert report.layers[-1].other_flops == 16 * 16 * 8  # the residual add in Block.call()
    assert report.params == model.count_params()


class OwnWeights(L.Layer):
    """A composite with a weight of its own, used in call(): counted from its ops."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(4, name="dense")

    def build(self, shape):
        self.gate = self.add_weight(shape=(4,), name="gate")

    def call(self, x):
        return self.dense(x) * self.gate


def test_weights_a_composite_uses_itself_are_counted_with_its_ops():
    inp = keras.Input((6,))
    model = keras.Model(inp, OwnWeights(name="own")(inp))
    report = analyze(model)
    assert report.unsupported == {}
    own = report.layers[-1]
    assert (own.path, own.params, own.keras_params) == ("own", 4, 4)
    assert own.other_flops == 4  # dense(x) * gate: one multiply per output
    assert report.params == model.count_params() == 6 * 4 + 4 + 4
