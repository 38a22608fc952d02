"""Which rows feed each row (``LayerCost.sources``): the graph's edges, read from Keras."""

from __future__ import annotations

import dataclasses

import keras

from convcost import analyze


def _sources(report) -> dict[str, list[str]]:
    paths = [row.path for row in report.layers]
    return {row.path: [paths[i] for i in row.sources] for row in report.layers}


def test_a_chain_and_a_branch_through_a_nested_model() -> None:
    # stem -> blk(c -> r) -> add;  stem -> side -> crop -> add
    block = keras.Sequential([keras.layers.Conv2D(4, 3, name="c"), keras.layers.ReLU(name="r")],
                             name="blk")
    inputs = keras.Input((8, 8, 3))
    stem = keras.layers.Conv2D(3, 1, name="stem")(inputs)
    side = keras.layers.Cropping2D(1, name="crop")(keras.layers.Conv2D(4, 1, name="side")(stem))
    model = keras.Model(inputs, keras.layers.Add(name="add")([block(stem), side]))
    assert _sources(analyze(model)) == {
        "stem": [], "side": ["stem"], "blk/c": ["stem"], "blk/r": ["blk/c"],
        "crop": ["side"], "add": ["blk/r", "crop"]}


def test_a_shared_layer_has_one_row_per_call_with_its_own_sources() -> None:
    dense = keras.layers.Dense(4, name="shared")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, dense(keras.layers.ReLU(name="relu")(dense(inputs))))
    report = analyze(model)
    assert [row.sources for row in report.layers] == [(), (0,), (1,)]


def test_a_subclassed_model_is_chained_in_call_order() -> None:
    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="net")
            self.a = keras.layers.Dense(8, name="a")
            self.b = keras.layers.Dense(2, name="b")

        def call(self, x):
            return self.b(self.a(x))

    report = analyze(Net(), input_shape=(4,))
    assert [row.sources for row in report.layers] == [(), (0,)]


def test_sources_take_no_part_in_equality() -> None:
    inputs = keras.Input((4,))
    report = analyze(keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs)))
    row = report.layers[0]
    assert dataclasses.replace(row, sources=(7,)) == row
