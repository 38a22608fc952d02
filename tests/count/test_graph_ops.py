"""Arithmetic written in call(): costed from the TensorFlow ops it creates, by hand counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers as L

from convcost.count import graph_ops, walker
from convcost.count.walker import analyze


@pytest.mark.parametrize("equation, shapes, macs", [
    ("bqm,muh->bquh", [(1, 5, 8), (8, 2, 4)], 5 * 8 * 2 * 4),
    ("bquh,bkuh->buqk", [(1, 5, 2, 4), (1, 7, 2, 4)], 5 * 7 * 2 * 4),
    ("th,ehm->etm", [(6, 8), (3, 8, 10)], 3 * 6 * 8 * 10),
    ("...i,ij->...j", [(2, 3, 4), (4, 5)], 2 * 3 * 4 * 5),
    ("bi,j->bij", [(1, 5), (4,)], 20),  # an outer product: one multiply per output
])
def test_einsum_macs_is_the_product_of_all_index_sizes(equation, shapes, macs):
    assert graph_ops.einsum_macs(equation, shapes) == macs


class RawNet(keras.Model):
    """A subclassed model with arithmetic of its own: a mean and a matmul with a weight."""

    def __init__(self) -> None:
        super().__init__(name="raw")
        self.conv = L.Conv2D(8, 3, name="conv")

    def build(self, shape):
        self.w = self.add_weight(shape=(8, 16), name="w")

    def call(self, x):
        h = keras.ops.mean(self.conv(x), axis=(1, 2))  # (1, 6, 6, 8) -> (1, 8)
        return h @ self.w


def test_raw_ops_in_a_subclassed_call_are_counted_by_hand():
    net = RawNet()
    net(np.zeros((1, 8, 8, 3), "float32"))
    report = analyze(net)
    conv = 6 * 6 * 3 * 3 * 3 * 8  # valid 3x3 on 8x8 -> 6x6
    assert report.macs == conv + 8 * 16  # + h @ w
    own = report.layers[-1]
    assert (own.path, own.kind) == ("raw", "fully_connected")
    assert own.macs == 128 and own.other_flops == 6 * 6 * 8  # the mean: 1 per input element
    assert own.params == own.keras_params == 128
    assert report.params == net.count_params() and report.unsupported == {}


class TinyAttention(L.Layer):
    """Scores of two projections: an activation x activation product."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.q = L.Dense(8, use_bias=False, name="q")
        self.k = L.Dense(8, use_bias=False, name="k")

    def call(self, x):
        scores = keras.ops.matmul(self.q(x), keras.ops.transpose(self.k(x), (0, 2, 1)))
        return keras.ops.softmax(scores)


def test_a_product_of_two_activations_is_attention():
    inp = keras.Input((5, 6))
    report = analyze(keras.Model(inp, TinyAttention(name="att")(inp)))
    own = report.layers[-1]
    assert own.path == "att" and own.kind == "attention"
    assert own.macs == 5 * 5 * 8 and own.other_flops == 3 * 5 * 5  # scores; softmax
    groups = {g.key: g.macs for g in report.groups("kind")}
    assert groups["attention"] == 200 and groups["fully_connected"] == 2 * 5 * 6 * 8


class Decay(L.Layer):
    """x * exp(-position): the table depends on no input (foldable), the product does."""

    def call(self, x):
        table = keras.ops.exp(-keras.ops.arange(x.shape[1], dtype="float32"))
        return x * table


def test_work_that_depends_on_no_input_is_not_counted():
    inp = keras.Input((10,))
    row = analyze(keras.Model(inp, Decay(name="decay")(inp))).layers[-1]
    assert row.other_flops == 10  # the product only; negation and exp of the table are not


def test_without_visible_ops_a_composite_is_flagged_not_counted(monkeypatch):
    monkeypatch.setattr(walker, "op_log", lambda: None)  # as on PyTorch
    net = RawNet()
    net(np.zeros((1, 8, 8, 3), "float32"))
    report = analyze(net)
    own = report.layers[-1]
    assert not own.supported and "PyTorch backend is not supported" in own.note
    assert report.unsupported == {"RawNet": 1}
    assert any("raw (RawNet)" in note for note in report.notes)
    assert report.params == net.count_params()


class Block(L.Layer):
    """conv + residual add; sub-layers named after the block (as keras-hub names them)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conv = L.Conv2D(4, 3, padding="same", name=f"{self.name}_conv")

    def call(self, x):
        return x + self.conv(x)


class Stack(keras.Model):
    def __init__(self) -> None:
        super().__init__(name="stack")
        self.blocks = [Block(name=f"b{i}") for i in range(3)]

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return block(x)  # the last block once more: shared weights


def test_repeated_blocks_are_copied_with_their_own_names_and_weights():
    net = Stack()
    net(np.zeros((1, 6, 6, 4), "float32"))
    report = analyze(net)
    paths = [row.path for row in report.layers]
    assert paths == ["b0/b0_conv", "b0", "b1/b1_conv", "b1", "b2/b2_conv", "b2",
                     "b2/b2_conv", "b2"]
    conv = [row for row in report.layers if row.type == "Conv2D"]
    assert [row.params for row in conv] == [148, 148, 148, 0]  # 3*3*4*4 + 4; shared: once
    assert [row.operation for row in conv[:3]] == [b.conv for b in net.blocks]
    assert all(row.macs == 36 * 144 for row in conv)
    assert report.params == net.count_params()
