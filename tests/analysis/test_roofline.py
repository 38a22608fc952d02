"""Roofline arithmetic with hand numbers, and the fields analyze --memory/--roofline adds."""

from __future__ import annotations

import pytest

from convcost.analysis import roofline
from convcost.analysis.roofline import DeviceProfile, bound
from convcost.errors import ConvcostError

# 100 GFLOP/s and 10 GB/s: the ridge is at 10 FLOP/byte.
DEVICE = DeviceProfile(100e9, 10e9)


def test_ridge_point():
    assert DEVICE.ridge == pytest.approx(10.0)


@pytest.mark.parametrize(("flops", "moved", "compute_s", "memory_s", "seconds", "limit"), [
    # 2 GFLOP / 100 GFLOP/s = 20 ms; 0.1 GB / 10 GB/s = 10 ms -> compute-bound, 20 ms
    (2_000_000_000, 100_000_000, 0.02, 0.01, 0.02, "compute"),
    # 0.1 GFLOP -> 1 ms; 0.1 GB -> 10 ms: intensity 1 < ridge 10 -> memory-bound, 10 ms
    (100_000_000, 100_000_000, 0.001, 0.01, 0.01, "memory"),
    # exactly at the ridge (10 FLOP/B): both 1 ms; a tie counts as compute
    (100_000_000, 10_000_000, 0.001, 0.001, 0.001, "compute"),
    # a view: nothing to do, nothing to move
    (0, 0, 0.0, 0.0, 0.0, "compute"),
])
def test_bound_is_the_larger_of_two_times(flops, moved, compute_s, memory_s, seconds, limit):
    result = bound(flops, moved, DEVICE)
    assert result.compute_s == pytest.approx(compute_s)
    assert result.memory_s == pytest.approx(memory_s)
    assert result.seconds == pytest.approx(seconds)
    assert result.limit == limit


@pytest.mark.parametrize(("intensity", "attainable"), [(1.0, 10e9), (10.0, 100e9),
                                                         (50.0, 100e9)])
def test_attainable_flops(intensity, attainable):
    assert roofline.attainable_flops(intensity, DEVICE) == pytest.approx(attainable)


def test_layer_bounds_and_prediction_of_a_model():
    import keras
    from keras import layers

    from convcost.analysis.memory import memory
    from convcost.count.walker import analyze

    inputs = keras.Input(shape=(256,))
    hidden = layers.Dense(256, use_bias=False, name="a")(inputs)
    report = analyze(keras.Model(inputs, layers.Dense(256, use_bias=False, name="b")(hidden)))
    picture = memory(report, batch=1000)
    # each Dense at batch 1000: 2*1000*256*256 = 131,072,000 FLOPs -> 1.31072 ms at 100 GFLOP/s
    # bytes 4*(1000*(256 + 256) + 65536) = 2,310,144 -> 0.2310144 ms at 10 GB/s: compute-bound
    bounds = roofline.layer_bounds(picture, DEVICE)
    assert [b.limit for b in bounds] == ["compute", "compute"]
    assert [b.seconds for b in bounds] == pytest.approx([1.31072e-3, 1.31072e-3])
    assert [b.memory_s for b in bounds] == pytest.approx([2.310144e-4, 2.310144e-4])
    assert roofline.predicted_seconds(bounds) == pytest.approx(2.62144e-3)


@pytest.mark.parametrize(("peak", "bandwidth", "message"), [
    (-1.0, 10.0, "--peak-gflops must be a positive number. Received: -1.0"),
    (0.0, 10.0, "--peak-gflops must be a positive number. Received: 0.0"),
    (10.0, float("nan"), "--bandwidth-gbs must be a positive number. Received: nan"),
])
def test_user_numbers_must_be_positive(peak, bandwidth, message):
    with pytest.raises(ConvcostError, match=message):
        roofline.from_user(peak, bandwidth)


def test_user_numbers_are_giga():
    device = roofline.from_user(50.0, 20.0)
    assert (device.peak_flops, device.bandwidth, device.ridge) == (50e9, 20e9, 2.5)


def test_memory_roofline_fields_rows_totals_and_folding():
    from types import SimpleNamespace

    import keras
    from keras import layers

    from convcost.analysis.memory import memory
    from convcost.count.walker import analyze
    from convcost.render import columns as extra

    inputs = keras.Input(shape=(256,))
    hidden = layers.Dense(256, use_bias=False, name="a")(inputs)
    report = analyze(keras.Model(inputs, layers.Dense(256, use_bias=False, name="b")(hidden)))
    columns = roofline.MemoryRooflineFields(memory(report), DEVICE)
    # per sample, each Dense: bytes 4 * (256 + 256 + 65536) = 264,192; FLOPs 2 * 65,536
    # memory-bound: 264192 / 10e9 = 26.4192 µs > 131072 / 100e9 = 1.31072 µs
    plain = columns.row_fields([SimpleNamespace(folded=0), SimpleNamespace(folded=0)])
    assert [f["bytes"] for f in plain] == [264192, 264192]
    assert plain[0]["intensity"] == pytest.approx(131072 / 264192)
    assert plain[0]["macs_per_element"] == pytest.approx(65536 / 66048)
    assert plain[0]["activation_bytes"] == 4 * 256
    assert plain[0]["bound"] == "memory"
    assert plain[0]["bound_seconds"] == pytest.approx(26.4192e-6)
    (folded,) = columns.row_fields([SimpleNamespace(folded=2)])  # both calls in one row
    assert folded["bytes"] == 2 * 264192 and folded["bound_seconds"] == pytest.approx(52.8384e-6)
    totals = columns.total_fields()
    assert totals["bytes"] == 2 * 264192 and totals["weight_bytes"] == 2 * 4 * 65536
    assert totals["peak_activation_bytes"] == 4 * 512
    assert totals["predicted_seconds"] == pytest.approx(52.8384e-6)
    # batch 1000: weights once, activations x1000 -> compute-bound, as hand-computed above
    assert columns.total_fields(1000)["predicted_seconds"] == pytest.approx(2.62144e-3)
    assert extra.headers(columns) == ["bytes", "FLOP/B", "output bytes", "bound", "bound µs"]
    assert extra.cells(columns, plain[0]) == ["264,192", "0.50", "1,024", "memory", "26.4"]
    memory_only = roofline.MemoryRooflineFields(memory(report))
    assert "bound" not in memory_only.row_fields([SimpleNamespace(folded=0)] * 2)[0]
    assert len(extra.lines(memory_only, batch=8)) == 2  # per sample, per batch
