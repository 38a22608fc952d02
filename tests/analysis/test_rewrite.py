"""separate / merge: structure and params against independent nets, graphs, weights, errors.

Expected structures come from zoo's article nets (naive, v1 — the article's published code),
expected params from Keras' ``count_params()`` and hand calculations written out below, and
Conv MobileNet's totals from Table 4 of the MobileNet v1 paper.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
from keras import layers

from convcost import ConvcostError
from convcost.analysis.rewrite import check_output_path, merge, save_model, separate
from convcost.count.walker import analyze
from convcost.models import zoo
from convcost.models.loader import load_model

# --- helpers ----------------------------------------------------------------------------------


def structure(model):
    """(class, config without name) of every layer, in model order."""
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in model.layers]


def by_name(model):
    return {layer.name: (type(layer).__name__, layer.get_config()) for layer in model.layers}


def snapshot(model):
    """Everything a rewrite must leave alone: layer objects, variables, values, graph nodes."""
    return ([(id(layer), layer.name, len(layer._inbound_nodes)) for layer in model.layers],
            [id(w) for w in model.weights], [np.array(w) for w in model.get_weights()])


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after[:2] == before[:2]
    assert all(np.array_equal(a, b) for a, b in zip(after[2], before[2]))


def randomize(model, seed=0):
    """Non-default values everywhere (BN statistics included), so copies are recognisable."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in model.get_weights()])


def sample(model, seed=1):
    shape = tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(seed).random((2, *shape)).astype("float32")


def replaced(log):
    return [item.removed for item in log.replaced]


def skipped(log):
    return {skip.path: skip.reason for skip in log.skipped}


# --- the article's conversion, both ways ------------------------------------------------------


@pytest.mark.parametrize("alpha", [None, 0.5, 0.25])
def test_separate_naive_gives_the_articles_v1(alpha):
    naive = zoo.build("naive", alpha=alpha)
    v1 = zoo.build("v1", alpha=alpha)
    new, log = separate(naive)
    assert structure(new) == structure(v1)
    assert new.count_params() == v1.count_params()
    assert replaced(log) == [("conv_2",), ("conv_3",), ("conv_4",)]
    assert list(skipped(log)) == ["conv_1"]
    assert [layer.name for layer in new.layers][2:8] == [
        "conv_2_dw", "conv_2_pw", "conv_3_dw", "conv_3_pw", "conv_4_dw", "conv_4_pw"]


def test_separate_naive_has_the_articles_param_counts():
    new, _ = separate(zoo.build("naive"))
    # The article: v1 has 48,330 params; the converted part 239,936 -> 29,184.
    # conv_2..4 as separable: (9*32+32 + 32*64+64) + (9*64+64 + 64*128+128)
    #                          + (9*128+128 + 128*128+128) = 2,432 + 8,960 + 17,792 = 29,184
    assert new.count_params() == 48_330
    assert new.count_params() == 259_082 - 239_936 + 29_184


@pytest.mark.parametrize("alpha", [None, 0.5])
def test_merge_v1_gives_back_naive(alpha):
    v1, naive = zoo.build("v1", alpha=alpha), zoo.build("naive", alpha=alpha)
    new, log = merge(v1)
    assert structure(new) == structure(naive)
    assert new.count_params() == naive.count_params()
    assert replaced(log) == [("dw_2", "pw_2"), ("dw_3", "pw_3"), ("dw_4", "pw_4")]
    if alpha is None:
        assert new.count_params() == 259_082


def test_round_trip_restores_names_and_configs():
    naive = zoo.build("naive")
    back, _ = merge(separate(naive)[0])
    assert by_name(back) == by_name(naive)


# --- graphs: residual adds, nested and shared models, Sequential ------------------------------


def resnet_like():
    inp = keras.Input((16, 16, 3), name="input")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    y = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="a")(x)
    y = layers.BatchNormalization(name="a_bn")(y)
    y = layers.ReLU(name="a_relu")(y)
    y = layers.Conv2D(16, 3, padding="same", name="b")(y)
    shortcut = layers.Conv2D(16, 1, strides=2, name="shortcut")(x)
    z = layers.Add(name="add")([y, shortcut])
    z = layers.GlobalAveragePooling2D(name="gap")(z)
    return keras.Model(inp, layers.Dense(4, name="out")(z), name="resnet_like")


def test_separate_keeps_a_residual_block():
    model = resnet_like()
    randomize(model)
    before = snapshot(model)
    new, log = separate(model)
    # stem 3*3*3*8+8 = 224, a 3*3*8*16 = 1,152 (no bias), a_bn 4*16 = 64, b 3*3*16*16+16 = 2,320,
    # shortcut 8*16+16 = 144, out 16*4+4 = 68: 3,972 in all.
    assert model.count_params() == 224 + 1_152 + 64 + 2_320 + 144 + 68
    # a -> dw 3*3*8 + pw 8*16 (no biases) = 200; b -> dw 3*3*16+16 + pw 16*16+16 = 432.
    assert new.count_params() == 224 + 200 + 64 + 432 + 144 + 68
    assert replaced(log) == [("a",), ("b",)]
    assert skipped(log) == {"stem": "first k×k conv, kept by default (include_first / "
                                    "--include-first)",
                            "shortcut": "1x1 kernel (already pointwise)"}
    add_inputs = [t._keras_history.operation.name for t in new.get_layer("add").input]
    assert add_inputs == ["b_pw", "shortcut"]
    assert new(sample(model)).shape == model(sample(model)).shape
    for name in ("stem", "a_bn", "shortcut", "out"):
        for kept, original in zip(new.get_layer(name).get_weights(),
                                  model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(kept, original)
    assert_unchanged(model, before)


def test_separate_then_merge_restores_the_residual_block():
    model = resnet_like()
    back, log = merge(separate(model)[0])
    assert by_name(back) == by_name(model)
    assert replaced(log) == [("a_dw", "a_pw"), ("b_dw", "b_pw")]


def test_nested_sequential_is_rewritten_inside():
    inner = keras.Sequential([keras.Input((8, 8, 4)),
                              layers.Conv2D(4, 3, padding="same", name="c1"),
                              layers.Conv2D(4, 3, padding="same", name="c2")], name="inner")
    inp = keras.Input((8, 8, 3), name="input")
    x = layers.Conv2D(4, 3, padding="same", name="stem")(inp)
    model = keras.Model(inp, layers.Flatten(name="flat")(inner(x)))
    randomize(model)
    before, inner_before = snapshot(model), snapshot(inner)
    new, log = separate(model)
    assert replaced(log) == [("c1",), ("c2",)]
    assert [item.path for item in log.replaced] == ["inner/c1", "inner/c2"]
    new_inner = new.get_layer("inner")
    assert isinstance(new_inner, keras.Sequential)
    assert [layer.name for layer in new_inner.layers] == ["c1_dw", "c1_pw", "c2_dw", "c2_pw"]
    # stem 3*3*3*4+4 = 112; each inner conv 3*3*4*4+4 = 148 -> dw 3*3*4+4 + pw 4*4+4 = 60.
    assert model.count_params() == 112 + 2 * 148
    assert new.count_params() == 112 + 2 * 60
    np.testing.assert_array_equal(new.get_layer("stem").get_weights()[0],
                                  model.get_layer("stem").get_weights()[0])
    assert new(sample(model)).shape == model(sample(model)).shape
    assert_unchanged(model, before)
    assert_unchanged(inner, inner_before)


def test_nested_model_called_twice_stays_shared():
    block_in = keras.Input((8, 8, 4))
    block = keras.Model(block_in, layers.Conv2D(4, 3, padding="same", name="c")(block_in),
                        name="block")
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="stem")(inp)
    model = keras.Model(inp, block(block(x)))
    new, log = separate(model)
    assert replaced(log) == [("c",)]
    assert [layer.name for layer in new.layers] == [new.layers[0].name, "stem", "block"]
    # stem 112, block once: 3*3*4*4+4 = 148 -> 60 (see above), shared by both calls.
    assert (model.count_params(), new.count_params()) == (112 + 148, 112 + 60)
    assert new(sample(model)).shape == (2, 8, 8, 4)


def test_shared_conv_becomes_a_shared_pair():
    a, b = keras.Input((8, 8, 4), name="a"), keras.Input((8, 8, 4), name="b")
    shared = layers.Conv2D(6, 3, padding="same", name="shared")
    model = keras.Model([a, b], layers.Add(name="add")([shared(a), shared(b)]))
    new, _ = separate(model, include_first=True)
    # dw 3*3*4+4 = 40, pw 4*6+6 = 30, each once although called twice.
    assert new.count_params() == 40 + 30
    assert [x.name for x in new.inputs] == ["a", "b"]
    assert new([sample(model), sample(model)]).shape == (2, 8, 8, 6)


def test_sequential_stays_sequential():
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, name="c1"),
                              layers.Conv2D(4, 3, name="c2"), layers.Flatten(name="flat")],
                             name="seq")
    new, _ = separate(model)
    assert isinstance(new, keras.Sequential) and new.name == "seq"
    assert [type(layer).__name__ for layer in new.layers] == [
        "Conv2D", "DepthwiseConv2D", "Conv2D", "Flatten"]
    assert new(sample(model)).shape == model(sample(model)).shape


# --- choosing layers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "include_first", "expected"),
    [
        ("conv_[23]", False, ["conv_2", "conv_3"]),  # regular expression
        ("conv_*", False, ["conv_2", "conv_3", "conv_4"]),  # glob; conv_1 kept as first
        (".*_4", False, ["conv_4"]),
        (None, True, ["conv_1", "conv_2", "conv_3", "conv_4"]),
        ("conv_1", True, ["conv_1"]),
    ],
)
def test_layers_pattern_and_include_first(pattern, include_first, expected):
    _, log = separate(zoo.build("naive"), layers=pattern, include_first=include_first)
    assert [names[0] for names in replaced(log)] == expected


@pytest.mark.parametrize(
    ("pattern", "expected", "params"),
    [
        # dw_3 (9*64+64) + pw_3 (64*128+128) -> one 3x3 conv 9*64*128+128
        ("dw_3", [("dw_3", "pw_3")], 48_330 - 640 - 8_320 + 73_856),
        # dw_2 + pw_2 (320 + 2,112) -> 9*32*64+64; dw_4 + pw_4 (1,280 + 16,512) -> 9*128*128+128
        ("pw_[24]", [("dw_2", "pw_2"), ("dw_4", "pw_4")],
         48_330 - 320 - 2_112 + 18_496 - 1_280 - 16_512 + 147_584),
    ],
)
def test_merge_pattern_matches_the_depthwise_or_the_pointwise(pattern, expected, params):
    new, log = merge(zoo.build("v1"), layers=pattern)
    assert replaced(log) == expected
    assert new.count_params() == params


def test_include_first_separates_conv_1_too():
    new, _ = separate(zoo.build("naive"), include_first=True)
    # conv_1 (3*3*1*32+32 = 320) -> dw 3*3*1+1 = 10, pw 1*32+32 = 64.
    assert new.count_params() == 48_330 - 320 + 10 + 64


# --- what is left alone, and why --------------------------------------------------------------


class MyConv(layers.Conv2D):
    """A Conv2D subclass: its behaviour is not known to the rewrite."""


@pytest.mark.parametrize(
    ("shape", "make", "reason"),
    [
        ((8, 8, 4), lambda: layers.Conv2D(8, 3, groups=2, name="conv"),
         r"grouped conv \(groups=2\)"),
        ((8, 8, 4), lambda: layers.Conv2D(8, 1, name="conv"), "1x1 kernel"),
        ((8, 8, 4), lambda: layers.Conv2DTranspose(8, 3, name="conv"),
         "Conv2DTranspose: only Conv2D is separated"),
        ((8, 8, 4), lambda: MyConv(8, 3, name="conv"), "MyConv subclasses Conv2D"),
        ((16, 4), lambda: layers.Conv1D(8, 3, name="conv"), "Conv1D: only Conv2D is separated"),
        ((4, 4, 4, 2), lambda: layers.Conv3D(8, 3, name="conv"),
         "Conv3D: only Conv2D is separated"),
    ],
)
def test_ineligible_convs_are_listed_with_the_reason(shape, make, reason):
    inp = keras.Input(shape)
    model = keras.Model(inp, make()(inp), name="m")
    with pytest.raises(ConvcostError, match=f"No eligible layer to separate: conv: {reason}"):
        separate(model, include_first=True)


def test_separate_v1_says_why_nothing_is_eligible():
    message = (r"^No eligible layer to separate: conv_1: first k×k conv, kept by default "
               r"\(include_first / --include-first\); pw_2, pw_3, pw_4: 1x1 kernel "
               r"\(already pointwise\)\. Received: model 'v1'\.$")
    with pytest.raises(ConvcostError, match=message):
        separate(zoo.build("v1"))


@pytest.mark.parametrize(
    ("action", "model", "message"),
    [
        (separate, "naive", "The layers pattern matches no layer of the model .* Received: 'nope'"),
        (merge, "v1", "The layers pattern matches no layer of the model .* Received: 'nope'"),
    ],
)
def test_pattern_matching_nothing_is_an_error(action, model, message):
    with pytest.raises(ConvcostError, match=message):
        action(zoo.build(model), layers="nope")


def test_merge_on_a_net_without_depthwise_convs():
    with pytest.raises(ConvcostError, match="No eligible layer to merge: the model has no "
                                            "DepthwiseConv2D to consider. Received: model 'naive'"):
        merge(zoo.build("naive"))


def _dw_then(tail):
    inp = keras.Input((8, 8, 4), name="input")
    dw = layers.DepthwiseConv2D(3, padding="same", name="dw")
    return keras.Model(inp, tail(dw(inp), inp), name="m")


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (lambda d, x: layers.Add(name="add")([layers.Conv2D(4, 1, name="pw")(d), d]),
         "the output of dw feeds 2 layers"),
        (lambda d, x: layers.Add(name="add")([d, x]),
         r"followed by add \(Add\), not a 1x1 Conv2D with strides 1"),
        (lambda d, x: layers.Conv2D(4, 1, strides=2, name="pw")(d),
         r"followed by pw \(Conv2D\), not a 1x1 Conv2D with strides 1"),
        (lambda d, x: d, "the output of dw is a model output"),
        (lambda d, x: layers.Conv2D(4, 1, name="pw")(layers.ZeroPadding2D(1, name="pad")(d)),
         r"merging would change the output shape from \(None, 10, 10, 4\) to \(None, 8, 8, 4\)"),
    ],
)
def test_merge_leaves_pairs_it_cannot_merge(tail, reason):
    with pytest.raises(ConvcostError, match=f"No eligible layer to merge: dw: {reason}"):
        merge(_dw_then(tail))


def test_merge_skips_a_shared_pointwise_conv():
    inp = keras.Input((8, 8, 4))
    pw = layers.Conv2D(4, 1, name="pw")
    d = layers.DepthwiseConv2D(3, padding="same", name="dw")(inp)
    model = keras.Model(inp, layers.Add(name="add")([pw(d), pw(inp)]))
    with pytest.raises(ConvcostError, match=r"dw: pw is shared \(called 2 times\)"):
        merge(model)


def test_merge_drops_the_layers_between_and_keeps_what_follows():
    inp = keras.Input((8, 8, 4), name="input")
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(inp)
    x = layers.BatchNormalization(name="dw_bn")(x)
    x = layers.ReLU(name="dw_relu")(x)
    x = layers.Dropout(0.1, name="drop")(x)
    x = layers.Conv2D(6, 1, use_bias=False, name="pw")(x)
    x = layers.BatchNormalization(name="pw_bn")(x)
    model = keras.Model(inp, layers.ReLU(name="pw_relu")(x))
    new, log = merge(model)
    assert replaced(log) == [("dw", "dw_bn", "dw_relu", "drop", "pw")]
    assert [layer.name for layer in new.layers] == ["input", "pw_merged", "pw_bn", "pw_relu"]
    # merged: 3*3*4*6 (no bias, as pw) = 216; pw_bn 4*6 = 24.
    assert new.count_params() == 216 + 24
    np.testing.assert_array_equal(new.get_layer("pw_bn").get_weights()[0],
                                  model.get_layer("pw_bn").get_weights()[0])


def test_separable_conv2d_is_not_merged():
    inp = keras.Input((8, 8, 4))
    model = keras.Model(inp, layers.SeparableConv2D(4, 3, name="sep")(inp))
    with pytest.raises(ConvcostError, match="sep: SeparableConv2D: only DepthwiseConv2D"):
        merge(model)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (keras.Sequential([layers.Dense(2)], name="unbuilt"),
         "The Sequential model is not built.*Received: model 'unbuilt' unbuilt"),
        (type("Sub", (keras.Model,), {"call": lambda self, x: x})(),
         "Only functional and Sequential models can be rewritten.*Received: Sub"),
    ],
)
def test_models_without_a_graph_are_refused(model, message):
    with pytest.raises(ConvcostError, match=message):
        separate(model)


# --- real models ------------------------------------------------------------------------------


def test_merge_mobilenet_gives_the_papers_conv_mobilenet():
    mobilenet = zoo.build("mobilenet")
    new, log = merge(mobilenet)
    assert len(log.replaced) == 13 and not log.skipped
    # Each pair (M in, N out): -dw 3*3*M -dw_bn 4*M -pw M*N (no biases) +merged 3*3*M*N.
    pairs = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512),
             *[(512, 512)] * 5, (512, 1024), (1024, 1024)]
    assert new.count_params() == mobilenet.count_params() + sum(
        8 * m * n - 13 * m for m, n in pairs)
    # Table 4 of the MobileNet v1 paper: Conv MobileNet 29.3M params, 4866M mult-adds.
    assert round(new.count_params() / 1e6, 1) == 29.3
    standard = next(g for g in analyze(new).groups("kind") if g.key == "standard")
    assert round(standard.macs / 1e6) == 4866
    kinds = [type(layer).__name__ for layer in new.layers]
    assert kinds.count("DepthwiseConv2D") == 0
    assert kinds.count("ZeroPadding2D") == 4  # before each strided depthwise: kept
    assert kinds.count("BatchNormalization") == 27 - 13


@pytest.mark.slow
def test_separate_resnet50_saves_what_the_formula_says():
    resnet = zoo.build("resnet50")
    new, log = separate(resnet)
    assert len(log.replaced) == 16
    # Each 3x3 conv C->C with bias: 9C²+C -> (9C+C) + (C²+C), saving 8C²-10C;
    # ResNet50 has 3, 4, 6, 3 of them at C = 64, 128, 256, 512.
    saving = sum(n * (8 * c * c - 10 * c) for n, c in [(3, 64), (4, 128), (6, 256), (3, 512)])
    assert new.count_params() == resnet.count_params() - saving


# --- files -----------------------------------------------------------------------------------


def test_a_loaded_model_is_rewritten_and_saves_and_loads_safely(tmp_path):
    naive = zoo.build("naive")
    randomize(naive)
    naive.save(tmp_path / "naive.keras")
    loaded = load_model(tmp_path / "naive.keras")
    new, _ = separate(loaded)
    assert structure(new) == structure(zoo.build("v1"))
    np.testing.assert_array_equal(new.get_layer("conv_1").get_weights()[0],
                                  naive.get_layer("conv_1").get_weights()[0])
    target = save_model(new, tmp_path / "v1ish.keras")
    again = load_model(target, safe_mode=True)
    x = sample(naive)
    np.testing.assert_allclose(again.predict(x, verbose=0), new.predict(x, verbose=0),
                               rtol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["naive.keras", "v1ish.keras"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "out.h5", r"The output file must end in \.keras\. Received: '.*out\.h5'"),
        (lambda p: p / "missing" / "out.keras", "The output folder does not exist"),
        (lambda p: (p / "file").write_text("x") and p / "file" / "out.keras",
         "The output folder is not a directory"),
        (lambda p: (p / "dir.keras").mkdir() or p / "dir.keras",
         "The output path is a directory"),
    ],
)
def test_bad_output_paths(tmp_path, make, message):
    with pytest.raises(ConvcostError, match=message):
        check_output_path(make(tmp_path))


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    class Broken:
        def save(self, path):
            with open(path, "wb") as handle:
                handle.write(b"half")
            raise OSError("disk full")

    with pytest.raises(ConvcostError, match="Could not save the model: OSError: disk full"):
        save_model(Broken(), tmp_path / "out.keras")
    assert os.listdir(tmp_path) == []
