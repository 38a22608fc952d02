"""Per-layer latency: every row timed (or skipped on purpose), sums and shares consistent.

Times are real but tiny (batch 2, two repeats); the tests check the bookkeeping, not speed.
"""

from __future__ import annotations

import pytest

from convcost.analysis.roofline import DeviceProfile
from convcost.errors import ConvcostError

DEVICE = DeviceProfile(100e9, 10e9)
BATCH = 2


def _net():
    """conv -> nested (depthwise, pointwise) -> residual add -> flatten -> dropout -> dense."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(8, 8, 3))
    a = layers.Conv2D(8, 3, padding="same", use_bias=False, name="c1")(inputs)
    block = keras.Sequential([keras.Input(shape=(8, 8, 8)),
                              layers.DepthwiseConv2D(3, padding="same", use_bias=False,
                                                     name="dw"),
                              layers.Conv2D(8, 1, use_bias=False, name="pw")], name="block")
    x = layers.Add(name="add")([a, block(a)])
    x = layers.Flatten(name="flat")(x)
    x = layers.Dropout(0.5, name="drop")(x)
    return keras.Model(inputs, layers.Dense(4, name="fc")(x), name="tiny")


@pytest.fixture(scope="module")
def latency():
    from convcost.measure.profiling import profile

    return profile(_net(), DEVICE, batch=BATCH, repeats=2, warmup=1)


# MACs per sample, by hand: c1 3*3*3*8 * 64 positions; dw 3*3*8 * 64; pw 8*8 * 64; fc 512*4
MACS = {"c1": 13824, "block/dw": 4608, "block/pw": 4096, "fc": 2048}


def test_every_row_is_timed_except_views(latency):
    paths = [layer.path for layer in latency.layers]
    assert paths == ["c1", "block/dw", "block/pw", "add", "flat", "drop", "fc"]
    for layer in latency.layers:
        if layer.path in ("flat", "drop"):
            assert layer.seconds is None and layer.note == "view: not timed"
            assert layer.gflops_per_s is None and layer.roofline_fraction is None
        else:  # including the 2-input add and the nested model's leaves
            assert layer.seconds is not None and layer.seconds > 0, layer.note
    assert latency.timed_layers == 5
    assert latency.model_seconds > 0 and latency.call_overhead_seconds > 0


def test_counts_per_batch_match_hand_numbers(latency):
    by_path = {layer.path: layer for layer in latency.layers}
    for path, macs in MACS.items():
        assert by_path[path].flops >= BATCH * 2 * macs
    assert latency.macs == BATCH * sum(MACS.values())
    fc = by_path["fc"]
    # batch 2: 2 x (2*2048 MACs + 4 bias adds); bytes 4 x (2 x (512 + 4) + 2052 weights)
    assert fc.flops == 2 * (2 * 2048 + 4) == 8200
    assert fc.bytes == 4 * (2 * (512 + 4) + 2052) == 12336
    assert fc.bound.compute_s == pytest.approx(8200 / 100e9)
    assert fc.bound.memory_s == pytest.approx(12336 / 10e9)
    assert fc.bound.limit == "memory"


def test_derived_numbers(latency):
    for layer in latency.layers:
        if layer.seconds:
            assert layer.gflops_per_s == pytest.approx(layer.flops / layer.seconds / 1e9)
            assert layer.roofline_fraction == pytest.approx(layer.bound.seconds / layer.seconds)
    assert latency.layer_seconds == pytest.approx(sum(x.seconds or 0 for x in latency.layers))
    assert latency.predicted_seconds == pytest.approx(
        sum(x.bound.seconds for x in latency.layers))


def test_kind_aggregation_sums_and_shares(latency):
    kinds = {k.kind: k for k in latency.kinds()}
    assert list(kinds) == ["standard", "depthwise", "pointwise", "fully_connected", "other"]
    assert {k: v.layers for k, v in kinds.items()} == {
        "standard": 1, "depthwise": 1, "pointwise": 1, "fully_connected": 1, "other": 3}
    assert kinds["standard"].macs == BATCH * MACS["c1"]
    assert kinds["depthwise"].macs == BATCH * MACS["block/dw"]
    assert kinds["pointwise"].macs == BATCH * MACS["block/pw"]
    assert kinds["fully_connected"].macs == BATCH * MACS["fc"]
    assert sum(k.macs_share for k in kinds.values()) == pytest.approx(1.0)
    assert sum(k.time_share for k in kinds.values()) == pytest.approx(1.0)
    assert sum(k.seconds for k in kinds.values()) == pytest.approx(latency.layer_seconds)
    assert sum(k.flops for k in kinds.values()) == latency.flops
    assert kinds["depthwise"].macs_share == pytest.approx(4608 / 24576)
    by_path = {layer.path: layer for layer in latency.layers}
    assert kinds["other"].seconds == pytest.approx(by_path["add"].seconds)  # views add 0


def test_latency_dict_totals_are_sums_of_rows(latency):
    from convcost.render.profile import latency_dict

    data = latency_dict(latency)
    assert data["batch_size"] == BATCH and data["model"] == "tiny"
    rows = data["layers"]
    assert sum(r["batch_macs"] for r in rows) == data["totals"]["batch_macs"] == 2 * 24576
    assert sum(r["batch_bytes"] for r in rows) == data["totals"]["batch_bytes"]
    assert sum(r["seconds"] or 0 for r in rows) == pytest.approx(data["totals"]["layer_seconds"])
    assert sum(k["time_share"] for k in data["kinds"]) == pytest.approx(1.0)
    assert {r["path"]: r["bound"] for r in rows}["fc"] == "memory"


def test_rows_carry_the_operation_at_their_path():
    from convcost.count.walker import analyze

    rows = {row.path: row for row in analyze(_net()).layers}
    assert rows["block/dw"].operation.name == "dw"
    assert rows["fc"].operation.name == "fc"
    assert "block/missing" not in rows


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batch": 0}, "batch size must be a positive integer. Received: 0"),
    ({"repeats": 0}, "repeats must be a positive integer. Received: 0"),
    ({"warmup": -1}, "warmup must be a non-negative integer. Received: -1"),
])
def test_bad_arguments(kwargs, message):
    from convcost.measure.profiling import profile

    with pytest.raises(ConvcostError, match=message):
        profile(object(), DEVICE, **kwargs)
