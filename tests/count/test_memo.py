"""When two calls cost the same: keys from class, configuration, weights and argument shapes."""

from __future__ import annotations

import keras

from convcost.count.memo import call_key, layer_key


def _dense(units: int, name: str) -> keras.layers.Dense:
    layer = keras.layers.Dense(units, name=name)
    layer.build((None, 3))
    return layer


def test_names_do_not_matter_configurations_and_shapes_do():
    x = keras.KerasTensor((1, 3))
    assert call_key(_dense(4, "a"), (x,), {}) == call_key(_dense(4, "b"), (x,), {})
    assert call_key(_dense(4, "a"), (x,), {}) != call_key(_dense(5, "a"), (x,), {})
    assert call_key(_dense(4, "a"), (x,), {}) != call_key(_dense(4, "a"),
                                                          (keras.KerasTensor((2, 3)),), {})
    assert call_key(_dense(4, "a"), (x,), {"training": False}) != call_key(
        _dense(4, "a"), (x,), {"training": True})


class _NoConfig(keras.layers.Layer):
    """get_config() raises (as keras-hub 0.32's LlamaTransformerDecoder does)."""

    def __init__(self, width: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width = width

    def get_config(self):
        raise AttributeError("no config")


def test_a_layer_whose_config_raises_is_keyed_by_its_attributes():
    assert layer_key(_NoConfig(3, name="a")) == layer_key(_NoConfig(3, name="b"))
    assert layer_key(_NoConfig(3)) != layer_key(_NoConfig(4))


def test_an_argument_that_cannot_be_described_gives_no_key():
    assert call_key(_dense(4, "a"), (object(),), {}) is None
