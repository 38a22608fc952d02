"""convcost against TensorFlow's graph profiler: the mapping of ops to layers, the verdicts,
a representative set of zoo models, and random layer configurations (property-based), where
each configuration is also checked against ``count_params()`` and a brute-force MAC count."""

from __future__ import annotations

import itertools
import resource

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras import layers as L

from convcost import ConvcostError
from convcost.analysis.verify import verify
from convcost.count.walker import analyze


def _rows(result):
    return {row.path: row for row in result.layers}


# --- mapping and verdicts --------------------------------------------------------------------


def _nested_model():
    """Scope-name traps: layers 'conv' and 'conv_1' (Keras scopes them conv_1 and conv_1_2),
    a Dense called twice, a nested Sequential, and an 'x + y' operation without a scope."""
    inner = keras.Sequential([keras.Input((10, 10, 4)), L.Conv2D(5, 3, name="c_in"),
                              L.BatchNormalization(name="bn_in")], name="inner")
    inp = keras.Input((10, 10, 3))
    x = L.Conv2D(4, 1, name="conv")(inp)
    y = L.Conv2D(4, 1, name="conv_1")(x)
    dense = L.Dense(4, name="dense_twice")
    x = dense(dense(x + y))
    x = inner(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x), name="outer")


def test_ops_are_mapped_to_the_right_layers_nested_and_repeated():
    rows = _rows(verify(_nested_model()))
    # hand counts: 2 x MACs = 2 x (positions x k*k x C_in x C_out)
    assert rows["conv"].profiler_mac_flops == 2 * 100 * 3 * 4
    assert rows["conv_1"].profiler_mac_flops == 2 * 100 * 4 * 4
    assert rows["dense_twice"].calls == 2
    assert rows["dense_twice"].profiler_mac_flops == 2 * 2 * 100 * 4 * 4
    assert rows["inner/c_in"].profiler_mac_flops == 2 * 64 * 9 * 4 * 5
    assert rows["out"].profiler_mac_flops == 2 * 5 * 3
    assert all(row.status == "agree" for row in rows.values() if row.checked)
    # the add op has no scope of its own, yet its AddV2 is found: 100*4 elements
    add = next(row for row in rows.values() if row.type == "Add")
    assert dict(add.profiler_other) == {"AddV2": 400}


def test_convention_differences_are_listed_per_layer():
    rows = _rows(verify(_nested_model()))
    assert {kind for kind, _ in rows["inner/bn_in"].profiler_other} >= {"Mul", "AddV2"}
    assert dict(rows["gap"].profiler_other) == {"Mean": 64 * 5}
    assert dict(rows["conv"].profiler_other) == {"BiasAdd": 400}
    assert rows["inner/bn_in"].status == "no MACs"


def test_verify_reports_agreement_and_a_one_line_summary(zoo_model):
    result = verify(zoo_model("v1"))
    assert result.agree
    assert len(result.checked) == 9  # conv_1, 3 x (dw, pw), fc1, output
    assert result.summary() == "v1: 9/9 layers with MACs agree exactly with TensorFlow's profiler."


def test_a_valid_transposed_conv_differs_and_the_reason_is_given():
    inp = keras.Input((5, 5, 3))
    model = keras.Model(inp, L.Conv2DTranspose(4, 3, strides=2, name="up")(inp))
    result = verify(model)
    row = _rows(result)["up"]
    assert row.status == "differs" and not result.agree
    # TF: 2 * out_elements * kernel_elements / (C_out * stride^2), out 11x11x4, kernel 3x3x4x3
    assert row.profiler_mac_flops == 2 * (11 * 11 * 4) * (3 * 3 * 4 * 3) // (4 * 2 * 2)
    assert row.macs == 9 * 3 * 4 * 25
    assert "stride^2" in row.explanation and "1 disagree" in result.summary()
    assert "\n" not in result.summary()


class Hidden(L.Layer):
    """A layer without a rule: x @ w in its call()."""

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 4))

    def call(self, x):
        return keras.ops.matmul(x, self.w)


def test_a_layer_without_rule_is_counted_from_its_ops_and_agrees():
    inp = keras.Input((6,))
    row = _rows(verify(keras.Model(inp, Hidden(name="hidden")(inp))))["hidden"]
    assert row.macs == 6 * 4 and row.profiler_mac_flops == 2 * 6 * 4 and not row.failing


def test_a_layer_convcost_cannot_see_inside_is_flagged(monkeypatch):
    from convcost.count import graph_ops

    monkeypatch.setattr(graph_ops, "available", lambda: False)  # as on another backend
    inp = keras.Input((6,))
    result = verify(keras.Model(inp, Hidden(name="hidden")(inp)))
    row = _rows(result)["hidden"]
    assert row.macs == 0 and row.profiler_mac_flops == 2 * 6 * 4
    assert row.failing and not result.agree


def test_multi_input_models_are_verified():
    a, b = keras.Input((5, 8)), keras.Input((6, 8))
    model = keras.Model([a, b], L.Attention(name="att")([a, b]))
    row = _rows(verify(model))["att"]
    assert row.status == "agree" and row.macs == 2 * 5 * 6 * 8


def test_subclassed_model_is_verified_and_its_own_ops_shown():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.conv = L.Conv2D(8, 3, padding="same", name="conv")
            self.fc = L.Dense(2, name="fc")

        def call(self, x):
            y = self.conv(x)
            return self.fc(keras.ops.mean(y + y, axis=(1, 2)))

    net = Net()
    net(np.zeros((1, 8, 8, 3), "float32"))
    result = verify(net)
    rows = _rows(result)
    assert rows["conv"].status == "agree" and rows["fc"].status == "agree"
    own = rows["(model)"]  # y + y and the mean, written in Net.call
    assert dict(own.profiler_other) == {"AddV2": 8 * 8 * 8, "Mean": 8 * 8 * 8}


def test_recurrent_layers_disagree_with_the_reason_and_the_totals():
    """TF's profiler counts a while loop's body at most once: the LSTM's 7 steps cannot agree.
    The headline says so (it used to claim agreement while the totals were far apart)."""
    inp = keras.Input((7, 3))
    result = verify(keras.Model(inp, L.LSTM(6, name="lstm")(inp)))
    row = _rows(result)["lstm"]
    assert row.status == "differs" and row.checked and not result.agree
    assert "while loop" in row.explanation
    # 7 steps x 4 gates x 6 units x (3 inputs + 6 recurrent) = 1,512 MACs, by hand
    assert row.macs == 7 * 4 * 6 * (3 + 6)
    assert "0/1 layers with MACs agree" in result.summary()
    assert f"totals: convcost {result.report.flops:,} FLOPs" in result.summary()


def test_huge_activations_are_never_allocated():
    """A 10^9-element activation (4 GB in float32) from a 4 MB input: analysis works on shapes,
    and so do tracing and the profiler. (Freezing runs Grappler, which allocates one zero
    tensor of the *input's* shape as a feed; the input here is small on purpose.)"""
    inp = keras.Input((1000, 1000, 1))
    model = keras.Model(inp, L.Conv2D(1000, 1, name="c")(inp))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = analyze(model)
    row = _rows(verify(model))["c"]
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert report.macs == 1000 * 1000 * 1000
    assert row.status == "agree"
    assert grown_mb < 500


# --- zoo models (the full table: scripts/verify_applications.py) -----------------------------


@pytest.mark.parametrize("name", ["naive", "v1", "v2",
                                  *(pytest.param(name, marks=pytest.mark.slow) for name in
                                    ("mobilenet", "mobilenet_v2", "mobilenet_v3_small"))])
def test_zoo_models_agree_with_keras_and_the_profiler(zoo_model, name):
    model = zoo_model(name)
    result = verify(model)
    assert result.agree, result.summary()
    assert result.report.params == model.count_params()
    assert result.report.unsupported == {}
    conv_dense = sum(row.macs for row in result.layers if row.checked)
    assert sum(row.profiler_mac_flops for row in result.layers) == 2 * conv_dense


def test_mobilenet_macs_equal_the_reference(zoo_model):
    result = verify(zoo_model("mobilenet"))
    assert result.report.macs == 568_740_352  # FINDINGS.md, from the profiler when planned
    assert sum(row.profiler_mac_flops for row in result.layers) == 2 * 568_740_352


def test_verify_refuses_an_input_it_cannot_trace():
    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, L.Conv2D(4, 3)(inp))
    with pytest.raises(ConvcostError, match="unknown dimension.*Received"):
        verify(model)
    assert verify(model, input_shape=(9, 9, 3)).agree


# --- property-based: random configurations vs profiler, count_params, brute force ------------
#
# The brute force counts what the formula defines: for every output position, every kernel
# tap (taps that land in 'same' padding included, as Keras and TF compute them), one MAC per
# (input channel of the group, output channel). Output positions are found by walking the
# input, not by the formula: 'valid' keeps i with i*s + (k-1)*d < n, 'same' keeps i with i*s < n.


def _positions(n: int, k: int, s: int, d: int, padding: str) -> list[int]:
    if padding == "valid":
        return [i for i in range(n) if i * s + (k - 1) * d < n]
    return [i for i in range(n) if i * s < n]


def _taps_times_positions(size, kernel, strides, dilation, padding) -> tuple[int, tuple]:
    per_dim = [_positions(n, k, s, d, padding)
               for n, k, s, d in zip(size, kernel, strides, dilation)]
    count = 0
    for _ in itertools.product(*per_dim):
        for _ in itertools.product(*[range(k) for k in kernel]):
            count += 1
    return count, tuple(len(p) for p in per_dim)


def _only_layer(model):
    result = verify(model)
    (row,) = [r for r in result.layers if r.checked]
    return result, row


SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def conv_configs(draw):
    rank = draw(st.sampled_from([1, 2]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    strided = draw(st.booleans())
    strides = tuple(draw(st.integers(1, 3)) if strided else 1 for _ in range(rank))
    dilation = tuple(1 if strided else draw(st.integers(1, 3)) for _ in range(rank))
    size = tuple(draw(st.integers(1, 12)) for _ in range(rank))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 3))
    filters = groups * draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    return rank, kernel, strides, dilation, size, groups, c_in, filters, padding


@SETTINGS
@given(conv_configs(), st.booleans())
def test_random_convs(config, bias):
    rank, kernel, strides, dilation, size, groups, c_in, filters, padding = config
    taps, out = _taps_times_positions(size, kernel, strides, dilation, padding)
    assume(all(out))
    cls = L.Conv1D if rank == 1 else L.Conv2D
    inp = keras.Input((*size, c_in))
    model = keras.Model(inp, cls(filters, kernel, strides=strides, padding=padding,
                                 dilation_rate=dilation, groups=groups, use_bias=bias)(inp))
    result, row = _only_layer(model)
    assert tuple(model.output.shape[1:-1]) == out
    assert row.macs == taps * (c_in // groups) * filters
    assert result.report.params == model.count_params()
    if row.profiler_mac_flops != 2 * row.macs:  # TF pads dilated inputs (space-to-batch)
        assert max(dilation) > 1 and row.profiler_mac_flops > 2 * row.macs
        assert "SpaceToBatchND" in row.explanation


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(1, 4),
       st.integers(1, 10), st.sampled_from(["valid", "same"]))
def test_random_depthwise(k, stride, multiplier, channels, size, padding):
    taps, out = _taps_times_positions((size, size), (k, k), (stride, stride), (1, 1), padding)
    assume(all(out))
    inp = keras.Input((size, size, channels))
    model = keras.Model(inp, L.DepthwiseConv2D(k, strides=stride, padding=padding,
                                               depth_multiplier=multiplier)(inp))
    result, row = _only_layer(model)
    assert row.macs == taps * channels * multiplier
    assert row.profiler_mac_flops == 2 * row.macs
    assert result.report.params == model.count_params()


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(1, 4),
       st.integers(1, 5), st.integers(1, 10), st.sampled_from(["valid", "same"]))
def test_random_separable(k, stride, multiplier, c_in, c_out, size, padding):
    taps, out = _taps_times_positions((size, size), (k, k), (stride, stride), (1, 1), padding)
    assume(all(out))
    inp = keras.Input((size, size, c_in))
    model = keras.Model(inp, L.SeparableConv2D(c_out, k, strides=stride, padding=padding,
                                               depth_multiplier=multiplier)(inp))
    result, row = _only_layer(model)
    positions = out[0] * out[1]
    assert row.macs == taps * c_in * multiplier + positions * c_in * multiplier * c_out
    assert row.profiler_mac_flops == 2 * row.macs
    assert result.report.params == model.count_params()


@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=0, max_size=2), st.integers(1, 16),
       st.integers(1, 16), st.booleans())
def test_random_dense(leading, units_in, units, bias):
    inp = keras.Input((*leading, units_in))
    model = keras.Model(inp, L.Dense(units, use_bias=bias)(inp))
    result, row = _only_layer(model)
    macs = 0
    for _ in itertools.product(*[range(n) for n in leading]):  # every position
        for _ in range(units):  # every output unit: a dot product of length units_in
            macs += units_in
    assert row.macs == macs
    assert row.profiler_mac_flops == 2 * macs
    assert result.report.params == model.count_params()


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 6), st.sampled_from(["same", "valid"]))
def test_random_transposed(k, stride, c_in, c_out, size, padding):
    inp = keras.Input((size, size, c_in))
    model = keras.Model(inp, L.Conv2DTranspose(c_out, k, strides=stride, padding=padding)(inp))
    result, row = _only_layer(model)
    scatters = 0  # every input position scatters every kernel tap
    for _ in itertools.product(range(size), range(size), range(k), range(k)):
        scatters += 1
    assert row.macs == scatters * c_in * c_out
    assert result.report.params == model.count_params()
    if padding == "same":  # TF's out_positions / stride^2 is exact only here
        assert row.profiler_mac_flops == 2 * row.macs
