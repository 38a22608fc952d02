"""Rule coverage of keras.layers, and each rule's params and MACs against independent counts.

Params are checked against Keras' own ``count_params()``; MACs and FLOPs against hand
calculations written out in the tests (TensorFlow's profiler checks are in test_verify.py).
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
from keras import layers as L

from convcost.count.rules import NOT_APPLICABLE, RULES, ZERO_COST, layer_cost
from convcost.count.walker import analyze

# --- coverage --------------------------------------------------------------------------------


def _keras_layer_classes() -> list[type]:
    found = {id(c): c for c in vars(keras.layers).values()
             if inspect.isclass(c) and issubclass(c, keras.layers.Layer)}
    return sorted(found.values(), key=lambda c: c.__name__)


def _coverage() -> dict[str, list[str]]:
    zero = set(ZERO_COST)
    groups: dict[str, list[str]] = {"ruled": [], "zero_cost": [], "not_applicable": [],
                                    "missing": []}
    for cls in _keras_layer_classes():
        if cls in zero:
            groups["zero_cost"].append(cls.__name__)
        elif cls.__name__ in NOT_APPLICABLE:
            groups["not_applicable"].append(cls.__name__)
        elif layer_cost.dispatch(cls) is not layer_cost.dispatch(object):
            groups["ruled"].append(cls.__name__)
        else:
            groups["missing"].append(cls.__name__)
    return groups


def test_every_keras_layer_is_ruled_zero_cost_or_not_applicable_on_purpose():
    groups = _coverage()
    assert groups["missing"] == []
    # the counts reported to the lead; a new Keras adds classes and this test says which
    assert len(_keras_layer_classes()) == sum(len(names) for names in groups.values())
    assert len(groups["ruled"]) >= 70  # 74 ruled, 48 zero-cost, 21 not applicable (Keras 3.15)


def test_not_applicable_classes_have_no_rule_and_a_reason():
    by_name = {c.__name__: c for c in _keras_layer_classes()}
    for name, reason in NOT_APPLICABLE.items():
        assert name in by_name, f"{name} is not a keras.layers class"
        assert layer_cost.dispatch(by_name[name]) is layer_cost.dispatch(object), name
        assert len(reason) > 20



def test_the_catalog_table_is_the_rule_table():
    """Every class of catalog.RULES dispatches to the rule the table names, and every
    built-in keras.layers class with a rule is in the table (the table is the whole list)."""
    wrong = [c.__name__ for c, rule in RULES.items() if c and layer_cost.dispatch(c) is not rule]
    assert wrong == []
    ruled = [c for c in _keras_layer_classes() if _ruled(c) and c not in RULES
             and not any(issubclass(c, parent) for parent in RULES if parent)]
    assert ruled == []

def _ruled(cls: type) -> bool:
    return layer_cost.dispatch(cls) is not layer_cost.dispatch(object)


def test_the_issue_list_is_ruled():
    names = ("Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose "
             "DepthwiseConv1D DepthwiseConv2D SeparableConv1D SeparableConv2D Dense EinsumDense "
             "Embedding BatchNormalization LayerNormalization GroupNormalization "
             "UnitNormalization RMSNormalization MaxPooling1D AveragePooling3D "
             "GlobalAveragePooling2D AdaptiveAveragePooling2D AdaptiveMaxPooling3D Activation "
             "ReLU PReLU ELU LeakyReLU Softmax Add Subtract Multiply Average Maximum Minimum Dot "
             "Rescaling Normalization Resizing CenterCrop MultiHeadAttention Attention "
             "AdditiveAttention SimpleRNN LSTM GRU Bidirectional TimeDistributed UpSampling2D")
    assert [n for n in names.split() if not _ruled(getattr(L, n))] == []
    zero = ("Concatenate Flatten Reshape Permute RepeatVector Cropping2D ZeroPadding2D "
            "UpSampling1D Dropout GaussianNoise SpatialDropout2D")
    assert [n for n in zero.split() if getattr(L, n) not in ZERO_COST] == []


# Random augmentation is declared zero-cost because it is the identity at inference.
_AUGMENTATION_ARGS = {"RandomCrop": (8, 8), "RandomRotation": (0.3,), "RandomZoom": (0.3,),
                      "RandomTranslation": (0.3, 0.3), "RandomPosterization": (4,),
                      "RandomColorJitter": ()}


@pytest.mark.parametrize("cls", [c for c in ZERO_COST if c.__name__.startswith(
    ("Random", "AugMix", "CutMix", "MixUp", "RandAugment"))], ids=lambda c: c.__name__)
def test_zero_cost_augmentation_is_the_identity_at_inference(cls):
    args = _AUGMENTATION_ARGS.get(cls.__name__)
    if args is None:
        params = inspect.signature(cls.__init__).parameters
        required = [p for p in params.values() if p.default is p.empty
                    and p.name not in ("self", "kwargs") and p.kind == p.POSITIONAL_OR_KEYWORD]
        args = (0.5,) * len(required)
    x = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    y = np.asarray(cls(*args)(x, training=False))
    assert y.shape == x.shape and np.allclose(y, x)


# --- params vs count_params, MACs by hand ----------------------------------------------------


def _single(layer, shape, **kwargs):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(inp, **kwargs))


def _pair(layer, first, second, unpack=False):
    a, b = keras.Input(first), keras.Input(second)
    return keras.Model([a, b], layer(a, b) if unpack else layer([a, b]))


# (id, model factory, expected MACs by hand, expected other FLOPs by hand or None)
CASES = [
    ("conv1d", lambda: _single(L.Conv1D(4, 3, strides=2), (20, 3)),
     3 * 3 * 4 * 9, 4 * 9),                        # k*C_in*C_out*L_out; bias per output
    ("conv3d", lambda: _single(L.Conv3D(4, 3, padding="same"), (6, 6, 6, 2)),
     27 * 2 * 4 * 216, 4 * 216),
    ("grouped", lambda: _single(L.Conv2D(8, 3, groups=2), (9, 9, 4)),
     9 * 2 * 8 * 49, 8 * 49),                       # C_in/groups = 2
    ("conv2d_t_same", lambda: _single(L.Conv2DTranspose(4, 3, strides=2, padding="same"),
                                      (5, 5, 3)), 9 * 3 * 4 * 25, 4 * 100),
    ("conv2d_t_valid", lambda: _single(L.Conv2DTranspose(4, 3, strides=2), (5, 5, 3)),
     9 * 3 * 4 * 25, 4 * 121),                      # out (5-1)*2+3 = 11
    ("conv3d_t", lambda: _single(L.Conv3DTranspose(2, 2, strides=2), (3, 3, 3, 3)),
     8 * 3 * 2 * 27, 2 * 216),
    ("depthwise1d", lambda: _single(L.DepthwiseConv1D(3, depth_multiplier=2), (12, 3)),
     3 * 3 * 2 * 10, 6 * 10),
    ("separable1d", lambda: _single(L.SeparableConv1D(5, 3, depth_multiplier=2), (12, 3)),
     3 * 6 * 10 + 6 * 5 * 10, 5 * 10),
    ("einsum_dense", lambda: _single(L.EinsumDense("abc,cd->abd", output_shape=(None, 6),
                                                   bias_axes="d"), (5, 4)), 5 * 4 * 6, 30),
    ("einsum_ellipsis", lambda: _single(L.EinsumDense("...b,bc->...c", output_shape=7,
                                                      bias_axes="c"), (3, 5, 4)),
     15 * 4 * 7, 105),
    ("embedding", lambda: _single(L.Embedding(100, 8), (5,)), 0, 0),
    ("layer_norm", lambda: _single(L.LayerNormalization(), (5, 8)), 0, 40 * 6),
    ("group_norm", lambda: _single(L.GroupNormalization(groups=2), (4, 4, 8)), 0, 128 * 6),
    ("rms_norm", lambda: _single(L.RMSNormalization(), (5, 8)), 0, 40 * 4),
    ("unit_norm", lambda: _single(L.UnitNormalization(), (8,)), 0, 8 * 3),
    ("prelu_shared", lambda: _single(L.PReLU(shared_axes=[1, 2]), (4, 4, 3)), 0, 48),
    ("prelu", lambda: _single(L.PReLU(), (4, 4, 3)), 0, 48),
    ("normalization", lambda: _single(L.Normalization(), (4, 4, 3)), 0, 96),
    ("rescaling_offset", lambda: _single(L.Rescaling(1 / 127.5, offset=-1), (4, 4, 3)), 0, 96),
    ("rescaling", lambda: _single(L.Rescaling(1 / 255), (4, 4, 3)), 0, 48),
    ("resizing", lambda: _single(L.Resizing(8, 8), (4, 4, 3)), 0, 7 * 192),
    ("center_crop", lambda: _single(L.CenterCrop(3, 3), (4, 4, 3)), 0, 0),
    ("up_bilinear", lambda: _single(L.UpSampling2D(interpolation="bilinear"), (4, 4, 2)),
     0, 7 * 128),
    ("up_nearest", lambda: _single(L.UpSampling2D(), (4, 4, 2)), 0, 0),
    ("adaptive_avg", lambda: _single(L.AdaptiveAveragePooling2D((3, 2)), (7, 5, 2)),
     0, 9 * 6 * 2),   # bins of 7->3: [0,3) [2,5) [4,7) = 9 rows; 5->2: [0,3) [2,5) = 6 cols
    ("avg_pool", lambda: _single(L.AveragePooling2D(2), (6, 6, 3)), 0, 27 * 4),
    ("global_max", lambda: _single(L.GlobalMaxPooling2D(), (6, 6, 3)), 0, 108),
    ("mha", lambda: _pair(L.MultiHeadAttention(2, 4), (5, 8), (6, 8), unpack=True),
     # Q 5*8*8, K 6*8*8, V 6*8*8, scores 2*5*6*4, context 2*5*6*4, output 5*8*8
     320 + 384 + 384 + 240 + 240 + 320,
     # biases 40+48+48+40, query scaling 2*5*4, softmax 3*2*5*6
     176 + 40 + 180),
    ("gqa", lambda: _pair(L.GroupQueryAttention(4, 4, 2), (5, 8), (6, 8), unpack=True),
     # Q 5*8*16, K 6*8*8, V 6*8*8, scores/context 4*5*6*4 each, output 5*16*8
     640 + 384 + 384 + 480 + 480 + 640, None),
    ("attention", lambda: _pair(L.Attention(use_scale=True), (5, 8), (6, 8)),
     5 * 6 * 8 + 5 * 6 * 8, 30 + 90),
    ("additive", lambda: _pair(L.AdditiveAttention(), (5, 8), (6, 8)),
     5 * 6 * 8, 240 * 4 + 90),
    ("dot", lambda: _pair(L.Dot(axes=-1), (5, 8), (6, 8)), 5 * 6 * 8, 0),
    ("simple_rnn", lambda: _single(L.SimpleRNN(6), (7, 3)), 7 * 6 * (3 + 6), 7 * 6 * 3),
    ("lstm", lambda: _single(L.LSTM(6, return_sequences=True), (7, 3)),
     7 * 4 * 6 * (3 + 6), 7 * 17 * 6),
    ("gru", lambda: _single(L.GRU(6), (7, 3)), 7 * 3 * 6 * (3 + 6), 7 * (36 + 66)),
    ("gru_reset_before", lambda: _single(L.GRU(6, reset_after=False), (7, 3)),
     7 * 3 * 6 * (3 + 6), 7 * (18 + 66)),
    ("bidirectional", lambda: _single(L.Bidirectional(L.LSTM(6)), (7, 3)),
     2 * 7 * 4 * 6 * (3 + 6), 2 * 7 * 17 * 6),
    ("time_distributed", lambda: _single(L.TimeDistributed(L.Dense(5)), (7, 3)),
     7 * 3 * 5, 35),
    ("conv_lstm", lambda: _single(L.ConvLSTM2D(4, 3), (3, 6, 6, 2)),
     # per step: input conv 9*2*16 and recurrent conv 9*4*16 at 4x4 outputs
     3 * 16 * (9 * 2 * 16 + 9 * 4 * 16), 3 * 16 * 4 * 17),
    ("stacked_cells", lambda: _single(L.RNN(L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(3)])),
                                      (5, 2)),
     5 * (4 * 4 * (2 + 4) + 3 * 3 * (4 + 3)), None),
    ("spectral", lambda: _single(L.SpectralNormalization(L.Dense(4)), (6,)), 24, 4),
    ("reversible_embedding", lambda: _single(L.ReversibleEmbedding(50, 8), (4,)), 0, 0),
    ("masking", lambda: _single(L.Masking(), (5, 3)), 0, 30),
]


@pytest.mark.parametrize(("factory", "macs", "flops"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_params_equal_count_params_and_macs_the_hand_count(factory, macs, flops):
    model = factory()
    report = analyze(model)
    assert report.unsupported == {}
    assert [r.path for r in report.layers if not r.params_match] == []
    assert report.params == model.count_params()
    assert report.macs == macs
    if flops is not None:
        assert report.other_flops == flops


def test_reversible_embedding_reverse_is_a_dense_to_the_vocabulary():
    layer = L.ReversibleEmbedding(50, 8, tie_weights=False)
    inp = keras.Input((4,))
    emb = layer(inp)
    model = keras.Model(inp, layer(emb, reverse=True))
    report = analyze(model)
    assert report.params == model.count_params() == 2 * 50 * 8
    assert report.macs == 4 * 8 * 50


def test_keras_ops_in_a_functional_graph_are_costed():
    inp = keras.Input((4, 4, 3))
    x = keras.ops.relu(inp + 3.0) * (1.0 / 6.0)
    out = keras.ops.mean(keras.ops.reshape(x, (-1, 48)), axis=-1)
    report = analyze(keras.Model(inp, out))
    assert report.unsupported == {}
    assert report.other_flops == 48 * 3 + 48  # add, relu, multiply; mean over 48


@pytest.mark.parametrize(("name", "rows"), [("convnext_tiny", "LayerScale"),
                                            ("inception_resnet_v2", "CustomScaleLayer")])
def test_application_layers_are_ruled(name, rows):
    module = {"convnext_tiny": "convnext", "inception_resnet_v2": "inception_resnet_v2"}[name]
    assert _ruled(getattr(__import__(f"keras.src.applications.{module}", fromlist=[rows]), rows))


# --- kinds -----------------------------------------------------------------------------------


def test_recurrent_attention_and_embedding_kinds():
    ids = keras.Input((6,), dtype="int32")
    x = L.Embedding(20, 8, name="embed")(ids)
    x = L.LSTM(4, return_sequences=True, name="lstm")(x)
    x = L.MultiHeadAttention(2, 2, name="mha")(x, x)
    report = analyze(keras.Model(ids, x))
    rows = {row.name: row for row in report.layers}
    assert rows["embed"].kind == "embedding" and rows["embed"].params == 160
    assert rows["lstm"].kind == "recurrent"
    assert {p.kind for p in rows["mha"].pieces} == {"fully_connected", "attention"}
    groups = {g.key: g for g in report.groups("kind")}
    assert groups["attention"].macs == 2 * 6 * 6 * (2 + 2)  # scores and values, per head
    assert groups["recurrent"].macs == 6 * 4 * 4 * (8 + 4)  # 4 gates, input + state, 6 steps
    assert groups["embedding"].params == 160 and groups["embedding"].macs == 0
