"""Memory traffic, intensity and activation memory against hand calculations.

Every expected number is worked out in the test from the layer's shapes (the ShuffleNet v2
"memory access cost": each input, output and weight element touched once).
"""

from __future__ import annotations

import pytest

from convcost.analysis.memory import dtype_bytes, memory
from convcost.errors import ConvcostError


def _single_layer_report(layer, input_shape):
    import keras

    from convcost.count.walker import analyze

    inputs = keras.Input(shape=input_shape)
    return analyze(keras.Model(inputs, layer(inputs)))


def _only(picture, type_name):
    (row,) = [layer for layer in picture.layers if layer.row.type == type_name]
    return row


def test_depthwise_3x3_traffic_by_hand():
    from keras import layers

    report = _single_layer_report(
        layers.DepthwiseConv2D(3, padding="same", use_bias=False), (14, 14, 32))
    layer = _only(memory(report), "DepthwiseConv2D")
    # in 14*14*32 = 6272, out 14*14*32 = 6272, weights 3*3*32 = 288
    assert (layer.input_elements, layer.output_elements, layer.weight_elements) == (
        6272, 6272, 288)
    assert layer.elements() == 6272 + 6272 + 288 == 12832
    assert layer.bytes() == 12832 * 4 == 51328  # float32
    assert layer.bytes(dtype="float16") == 12832 * 2
    macs = 9 * 14 * 14 * 32  # 56448
    assert layer.macs_per_element() == pytest.approx(macs / 12832)  # 4.399 < k²/2 = 4.5
    assert layer.intensity() == pytest.approx(2 * macs / 51328)  # no bias, no activation
    # batch 8: activations x8, weights once: 8 * 12544 + 288
    assert layer.elements(8) == 8 * 12544 + 288 == 100640
    assert layer.macs_per_element(8) == pytest.approx(8 * macs / 100640)


def test_pointwise_traffic_is_shufflenet_mac():
    from keras import layers

    report = _single_layer_report(layers.Conv2D(128, 1, use_bias=True), (14, 14, 64))
    layer = _only(memory(report, dtype="bfloat16"), "Conv2D")
    # ShuffleNet v2: hw(c1 + c2) + c1c2, plus the 128 biases: 196*192 + 8192 + 128
    assert layer.elements() == 196 * 192 + 64 * 128 + 128 == 45952
    assert layer.bytes(dtype="bfloat16") == 45952 * 2
    macs, bias_flops = 196 * 64 * 128, 196 * 128
    assert layer.flops() == 2 * macs + bias_flops
    assert layer.intensity(dtype="bfloat16") == pytest.approx((2 * macs + bias_flops) / 91904)


def test_dense_traffic_per_sample_and_per_batch():
    from keras import layers

    report = _single_layer_report(layers.Dense(10), (256,))
    layer = _only(memory(report), "Dense")
    weights = 256 * 10 + 10
    assert layer.elements() == 256 + 10 + weights == 2836
    # batch 32: weights read once per batch, activations 32 times
    assert layer.elements(32) == 32 * 266 + 2570 == 11082
    assert layer.macs_per_element(32) == pytest.approx(32 * 2560 / 11082)
    assert layer.intensity(32) == pytest.approx(32 * (2 * 2560 + 10) / (11082 * 4))


def test_views_move_nothing_and_elementwise_layers_read_and_write():
    import keras
    from keras import layers

    from convcost.count.walker import analyze

    inputs = keras.Input(shape=(14, 14, 32))
    x = layers.BatchNormalization(name="bn")(inputs)
    x = layers.ReLU(name="relu")(x)
    x = layers.Dropout(0.5, name="drop")(x)
    x = layers.Flatten(name="flat")(x)
    x = layers.Reshape((196, 32), name="reshape")(x)
    picture = memory(analyze(keras.Model(inputs, x)))
    by_name = {layer.row.name: layer for layer in picture.layers}
    # BN: 6272 in, 6272 out, 4 * 32 params (gamma, beta, moving mean, moving variance)
    assert by_name["bn"].elements() == 6272 + 6272 + 128
    assert by_name["relu"].elements() == 6272 + 6272
    for view in ("drop", "flat", "reshape"):
        assert by_name[view].is_view and by_name[view].elements() == 0
        assert by_name[view].activation_elements == 6272  # the tensor still exists
    assert picture.bytes == 4 * (2 * 6272 + 128 + 2 * 6272)
    assert picture.elements == sum(layer.elements() for layer in picture.layers)


def test_shared_layer_reads_its_weights_on_every_call():
    import keras
    from keras import layers

    from convcost.count.walker import analyze

    a, b = keras.Input(shape=(8,)), keras.Input(shape=(8,))
    shared = layers.Dense(4, name="shared")
    report = analyze(keras.Model([a, b], layers.Add()([shared(a), shared(b)])))
    calls = [layer for layer in memory(report).layers if layer.row.name == "shared"]
    assert [c.row.keras_params for c in calls] == [36, 0]  # Keras counts the weights once
    assert [c.weight_elements for c in calls] == [36, 36]  # ... but each call reads them
    assert all(c.elements() == 8 + 4 + 36 for c in calls)


def test_peak_memory_of_a_residual_net_by_hand():
    import keras
    from keras import layers

    from convcost.count.walker import analyze

    inputs = keras.Input(shape=(8, 8, 4))
    a = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)  # 256 in + 512 out = 768
    b = layers.Conv2D(8, 1, name="c2")(a)  # 512 + 512 = 1024
    s = layers.Add(name="add")([a, b])  # 512 + 512 in + 512 out = 1536  <- the peak
    g = layers.GlobalAveragePooling2D(name="gap")(s)  # 512 + 8 = 520
    out = layers.Dense(10, name="fc")(g)  # 8 + 10 = 18
    report = analyze(keras.Model(inputs, out))
    per_sample, per_batch = memory(report), memory(report, batch=4, dtype="float16")
    assert per_sample.peak_layer is not None and per_sample.peak_layer.row.name == "add"
    assert per_sample.peak_bytes == 1536 * 4
    assert per_batch.peak_bytes == 4 * 1536 * 2
    live = {layer.row.name: layer.live_elements() for layer in per_sample.layers}
    assert live == {"c1": 768, "c2": 1024, "add": 1536, "gap": 520, "fc": 18}
    activations = {layer.row.name: per_batch.activation_bytes(layer)
                   for layer in per_batch.layers}
    assert activations == {"c1": 4 * 512 * 2, "c2": 4 * 512 * 2, "add": 4 * 512 * 2,
                           "gap": 4 * 8 * 2, "fc": 4 * 10 * 2}


def test_model_totals_are_sums_of_layers():
    import keras
    from keras import layers

    from convcost.count.walker import analyze

    inputs = keras.Input(shape=(8, 8, 3))
    x = layers.Conv2D(4, 3, name="c")(inputs)
    x = layers.Flatten()(x)
    report = analyze(keras.Model(inputs, layers.Dense(2)(x)))
    picture = memory(report, batch=16)
    assert picture.bytes == sum(picture.layer_bytes(layer) for layer in picture.layers)
    assert picture.flops == 16 * report.flops
    assert picture.intensity == pytest.approx(picture.flops / picture.bytes)
    assert picture.macs_per_element == pytest.approx(16 * report.macs / picture.elements)


@pytest.mark.parametrize(("dtype", "size"), [("float32", 4), ("float16", 2), ("bfloat16", 2)])
def test_dtype_bytes(dtype, size):
    assert dtype_bytes(dtype) == size


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dtype": "int8"}, "Unknown dtype.*Received: 'int8'"),
    ({"batch": 0}, "batch size must be a positive integer. Received: 0"),
    ({"batch": 2.5}, "batch size must be a positive integer. Received: 2.5"),
])
def test_bad_arguments(kwargs, message):
    from convcost.count.report import Report

    with pytest.raises(ConvcostError, match=message):
        memory(Report("empty", (1,), (), 0), **kwargs)


def test_mobilenet_depthwise_below_k2_over_2_pointwise_far_above(zoo_model):
    """MobileNet 1.0-224, batch 1, float32.

    Intensity here is MACs per element moved (the symbolic model's). A 3x3 depthwise conv on an
    h x w x c map at stride 1 does 9hwc MACs and moves hwc + hwc + 9c elements, so it stays
    below k²/2 = 4.5; at stride 2 (padded input ≈ 4x the output) it is ≈ k²/5 = 1.8. Keras'
    MobileNet depthwise convs have no bias and no fused activation, so FLOPs = 2 x MACs and in
    float32 the FLOP/byte intensity is MACs/element / 2 <= 2.25. A 1x1 conv moves
    hw(c1 + c2) + c1c2 elements for hw·c1·c2 MACs: >= 21 for every pointwise layer here.
    """
    from convcost.count.walker import analyze

    picture = memory(analyze(zoo_model("mobilenet")))
    depthwise = [layer for layer in picture.layers if layer.row.type == "DepthwiseConv2D"]
    pointwise = [layer for layer in picture.layers if layer.row.kind == "pointwise"]
    assert len(depthwise) == 13 and len(pointwise) == 13
    for layer in depthwise:
        assert layer.macs_per_element() <= 4.5, layer.row.path
        assert layer.intensity() <= 2.25, layer.row.path
    for layer in pointwise:
        assert layer.macs_per_element() >= 4 * 4.5, layer.row.path
    by_name = {layer.row.name: layer for layer in picture.layers}
    # conv_dw_1: 112x112x32, stride 1: 9*112*112*32 MACs / (2*112*112*32 + 9*32) elements
    assert by_name["conv_dw_1"].macs_per_element() == pytest.approx(
        9 * 112 * 112 * 32 / (2 * 112 * 112 * 32 + 9 * 32))
    # conv_dw_2: zero-padded 113x113x64 in, stride 2, 56x56x64 out: ≈ k²/5
    assert by_name["conv_dw_2"].macs_per_element() == pytest.approx(
        9 * 56 * 56 * 64 / (113 * 113 * 64 + 56 * 56 * 64 + 9 * 64))
    # conv_pw_1: 112x112, 32 -> 64: hw·c1·c2 / (hw(c1 + c2) + c1c2)
    assert by_name["conv_pw_1"].macs_per_element() == pytest.approx(
        112 * 112 * 32 * 64 / (112 * 112 * 96 + 32 * 64))
