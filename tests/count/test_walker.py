"""The walker against Keras' own counts and against independent numeric MAC counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost import ConvcostError, analyze
from convcost.count import formulas as f


def test_every_layer_of_every_article_net_matches_count_params(zoo_model):
    for name in ("naive", "v1", "v2"):
        model = zoo_model(name)
        report = analyze(model)
        by_name = {layer.name: layer for layer in model.layers}
        for row in report.layers:
            assert row.supported, row.path
            assert row.params == by_name[row.name].count_params(), row.path
        assert report.params == model.count_params()


def test_naive_macs_per_layer_by_hand(zoo_model):
    rows = {row.name: row for row in analyze(zoo_model("naive")).layers}
    assert rows["conv_1"].macs == 3 * 3 * 1 * 32 * 14 * 14  # stride 2, same: 28 -> 14
    assert rows["conv_2"].macs == 3 * 3 * 32 * 64 * 14 * 14
    assert rows["conv_3"].macs == 3 * 3 * 64 * 128 * 14 * 14
    assert rows["conv_4"].macs == 3 * 3 * 128 * 128 * 7 * 7
    assert rows["fc1"].macs == 128 * 128
    assert rows["output"].macs == 128 * 10


def test_kinds_and_pieces_of_v1(zoo_model):
    rows = {row.name: row for row in analyze(zoo_model("v1")).layers}
    assert rows["conv_1"].kind == "standard"
    assert rows["dw_2"].kind == "depthwise"
    assert rows["pw_2"].kind == "pointwise"
    assert rows["fc1"].kind == "fully_connected"
    assert rows["gap"].kind == "other"


def test_trainable_split_comes_from_batch_norm(zoo_model):
    report = analyze(zoo_model("naive"))
    assert report.non_trainable_params == 2 * 128 * 2  # moving mean and variance of 2 BNs


def _tiny_block() -> keras.Model:
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    return keras.Model(inp, keras.layers.ReLU(name="relu")(x), name="inner")


def test_nested_models_are_reported_leaf_by_leaf_with_paths():
    inner = _tiny_block()
    inp = keras.Input((8, 8, 3))
    out = keras.layers.GlobalAveragePooling2D(name="gap")(inner(inp))
    outer = keras.Model(inp, out, name="outer")
    report = analyze(outer)
    assert [row.path for row in report.layers] == ["inner/conv", "inner/relu", "gap"]
    assert report.params == outer.count_params() == 3 * 3 * 3 * 4 + 4
    assert report.layers[0].macs == 9 * 3 * 4 * 64


def test_nested_sequential_is_walked():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, name="d")], name="seq")
    inp = keras.Input((4,))
    report = analyze(keras.Model(inp, inner(inp)))
    assert [row.path for row in report.layers] == ["seq/d"]
    assert report.macs == 20


def test_a_layer_called_twice_counts_macs_twice_and_params_once():
    shared = keras.layers.Dense(3, name="shared")
    a, b = keras.Input((5,)), keras.Input((5,))
    model = keras.Model([a, b], keras.layers.Add(name="add")([shared(a), shared(b)]))
    report = analyze(model)
    calls = [row for row in report.layers if row.name == "shared"]
    assert [row.macs for row in calls] == [15, 15]
    assert [row.params for row in calls] == [18, 0]
    assert report.params == model.count_params()


def test_unbuilt_sequential_needs_an_input_shape():
    model = keras.Sequential([keras.layers.Conv2D(2, 3)])
    with pytest.raises(ConvcostError, match="no input shape"):
        analyze(model)
    report = analyze(model, input_shape=(6, 6, 1))
    assert report.macs == 9 * 1 * 2 * 4 * 4


def test_input_shape_override_rescales_macs_without_changing_the_model(zoo_model):
    model = zoo_model("naive")
    nodes_before = [len(layer._inbound_nodes) for layer in model.layers]
    report = analyze(model, input_shape=(56, 56, 1))
    rows = {row.name: row for row in report.layers}
    assert rows["conv_2"].macs == 3 * 3 * 32 * 64 * 28 * 28
    assert rows["conv_2"].output_shape == (28, 28, 64)
    assert report.input_shape == (56, 56, 1)
    assert [len(layer._inbound_nodes) for layer in model.layers] == nodes_before
    assert model.input_shape == (None, 28, 28, 1)


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1, 1)])
def test_input_shape_of_the_wrong_rank_is_refused(zoo_model, shape):
    with pytest.raises(ConvcostError, match="3 dimensions.*Received"):
        analyze(zoo_model("naive"), input_shape=shape)


def test_unknown_spatial_size_needs_an_input_shape():
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, keras.layers.Conv2D(4, 3)(inp))
    with pytest.raises(ConvcostError, match="unknown dimension.*Received"):
        analyze(model)
    assert analyze(model, input_shape=(10, 10, 3)).macs == 9 * 3 * 4 * 8 * 8


class _Opaque(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_a_layer_without_rule_is_costed_from_its_tensorflow_ops():
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(_Opaque(name="opaque")(inp)))
    report = analyze(model)
    row = next(row for row in report.layers if row.name == "opaque")
    assert row.supported and row.other_flops == 4 and row.macs == 0  # x * 2.0 on 4 elements
    assert "TensorFlow ops" in row.note
    assert report.unsupported == {}


class _Looping(keras.layers.Layer):
    """A layer whose call() holds a TensorFlow loop: an op convcost has no cost for."""

    def call(self, x):
        import tensorflow as tf

        return tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * 2.0), (0, x))[1]


def test_a_layer_with_unknown_ops_is_marked_not_fully_counted():
    inp = keras.Input((4,))
    model = keras.Model(inp, _Looping(name="loop")(inp))
    report = analyze(model)
    row = report.layers[-1]
    assert not row.supported and "While" in row.note
    assert report.unsupported == {"_Looping": 1}


def test_analyze_does_not_change_weights(zoo_model):
    model = zoo_model("v1")
    before = [w.numpy().copy() for w in model.weights]
    analyze(model)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))


# --- property-based: params == count_params(), MACs == a numeric count --------------------


def _numeric_macs(layer: keras.layers.Layer, x_shape: tuple[int, ...]) -> int:
    """Count MACs by running the layer with all-ones weights on all-ones input.

    Padding is filled with ones too (explicitly, then a 'valid' conv), so every kernel tap that
    the formula counts (padded ones included, as TensorFlow does) adds exactly 1 to the output
    sum; the sum of the outputs is then the number of multiply-accumulates.
    """
    config = layer.get_config() | {"use_bias": False, "activation": None}
    pads = _same_padding(layer, x_shape) if config.get("padding") == "same" else None
    config["padding"] = "valid"
    clone = type(layer).from_config(config)
    x = np.ones((1, *x_shape), dtype="float64")
    if pads is not None:
        x = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=1.0)
    clone.build(x.shape)
    clone.set_weights([np.ones(w.shape) for w in clone.weights])
    return round(float(np.sum(keras.ops.convert_to_numpy(clone(x.astype("float32"))))))


def _same_padding(layer, x_shape):
    pads = []
    for size, k, s, d in zip(x_shape[:-1], layer.kernel_size, layer.strides, layer.dilation_rate):
        out = f.conv_output_length(size, k, s, "same", d)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


conv_configs = st.fixed_dictionaries({
    "size": st.integers(3, 12),
    "kernel": st.integers(1, 4),
    "stride": st.integers(1, 3),
    "dilation": st.integers(1, 2),
    "padding": st.sampled_from(["same", "valid"]),
    "groups": st.sampled_from([1, 2]),
    "c_in": st.sampled_from([2, 4]),
    "c_out": st.sampled_from([2, 6]),
    "bias": st.booleans(),
})


def _valid(cfg) -> bool:
    effective = (cfg["kernel"] - 1) * cfg["dilation"] + 1
    fits = cfg["padding"] == "same" or effective <= cfg["size"]
    return fits and (cfg["dilation"] == 1 or cfg["stride"] == 1)


def _model_of(layer, shape):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(inp))


@settings(max_examples=25, deadline=None)
@given(conv_configs.filter(_valid))
def test_conv2d_params_and_macs(cfg):
    layer = keras.layers.Conv2D(cfg["c_out"], cfg["kernel"], strides=cfg["stride"],
                                padding=cfg["padding"], dilation_rate=cfg["dilation"],
                                groups=cfg["groups"], use_bias=cfg["bias"])
    shape = (cfg["size"], cfg["size"], cfg["c_in"])
    report = analyze(_model_of(layer, shape))
    assert report.params == layer.count_params()
    assert report.macs == _numeric_macs(layer, shape)


@settings(max_examples=20, deadline=None)
@given(conv_configs.filter(_valid), st.sampled_from([1, 2]))
def test_depthwise_params_and_macs(cfg, multiplier):
    layer = keras.layers.DepthwiseConv2D(cfg["kernel"], strides=cfg["stride"],
                                         padding=cfg["padding"], dilation_rate=cfg["dilation"],
                                         depth_multiplier=multiplier, use_bias=cfg["bias"])
    shape = (cfg["size"], cfg["size"], cfg["c_in"])
    report = analyze(_model_of(layer, shape))
    assert report.params == layer.count_params()
    assert report.macs == _numeric_macs(layer, shape)


@settings(max_examples=15, deadline=None)
@given(conv_configs.filter(_valid))
def test_separable_is_its_depthwise_plus_its_pointwise(cfg):
    kwargs = dict(strides=cfg["stride"], padding=cfg["padding"], dilation_rate=cfg["dilation"])
    layer = keras.layers.SeparableConv2D(cfg["c_out"], cfg["kernel"], use_bias=cfg["bias"],
                                         **kwargs)
    shape = (cfg["size"], cfg["size"], cfg["c_in"])
    report = analyze(_model_of(layer, shape))
    depthwise = keras.layers.DepthwiseConv2D(cfg["kernel"], use_bias=False, **kwargs)
    out = report.layers[0].output_shape
    pointwise = keras.layers.Conv2D(cfg["c_out"], 1, use_bias=False)
    expected = _numeric_macs(depthwise, shape) + _numeric_macs(pointwise, (*out[:-1], cfg["c_in"]))
    assert report.params == layer.count_params()
    assert report.macs == expected
    assert report.layers[0].pieces[0].kind == "depthwise"


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 5), st.integers(1, 40), st.integers(1, 40), st.booleans())
def test_dense_on_sequences(steps, units_in, units_out, bias):
    layer = keras.layers.Dense(units_out, use_bias=bias)
    report = analyze(_model_of(layer, (steps, units_in)))
    assert report.params == layer.count_params()
    assert report.macs == steps * units_in * units_out
