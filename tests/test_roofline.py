"""Roofline arithmetic with hand numbers, device profiles on disk, and the probe (tiny sizes)."""

from __future__ import annotations

import json

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


@pytest.mark.parametrize("method", ["keras", "numpy"])
def test_probe_measures_positive_numbers_and_saves_them(tmp_path, method):
    device = roofline.probe(matmul_size=64, copy_mb=1, repeats=2, method=method)
    assert device.peak_flops > 0 and device.bandwidth > 0 and device.source == "probe"
    assert device.details is not None and device.details["copy_bytes"] == 2**20
    assert device.details["method"].startswith(method)
    target = roofline.save_profile(device, tmp_path / "sub" / "device.json")
    data = json.loads(target.read_text())
    assert data["peak_flops"] == device.peak_flops and data["bandwidth"] == device.bandwidth
    assert data["peak_gflops"] == pytest.approx(device.peak_flops / 1e9)
    loaded = roofline.load_profile(target)
    assert (loaded.peak_flops, loaded.bandwidth) == (device.peak_flops, device.bandwidth)
    assert [p.name for p in target.parent.iterdir()] == ["device.json"]  # no temp file left


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"matmul_size": 0}, "matmul_size must be a positive integer. Received: 0"),
    ({"copy_mb": -1}, "copy_mb must be a positive integer. Received: -1"),
    ({"method": "blas"}, "Unknown probe method; use keras or numpy. Received: 'blas'"),
])
def test_probe_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConvcostError, match=message):
        roofline.probe(**kwargs)


def test_profile_in_giga_units_is_accepted(tmp_path):
    file = tmp_path / "hand.json"
    file.write_text('{"peak_gflops": 80, "bandwidth_gbs": 16}')
    device = roofline.load_profile(file)
    assert (device.peak_flops, device.bandwidth, device.ridge) == (80e9, 16e9, 5.0)


@pytest.mark.parametrize(("text", "message"), [
    (None, "Device profile not found; run 'convcost probe'"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object. Received: list"),
    ('{"peak_flops": 1e9}', "needs a positive number 'bandwidth'.*Received: None"),
    ('{"peak_flops": -5, "bandwidth": 1e9}', "needs a positive number 'peak_flops'.*"
                                              "Received: -5"),
    ('{"peak_flops": "fast", "bandwidth": 1e9}', "Received: 'fast'"),
])
def test_bad_profile_files(tmp_path, text, message):
    file = tmp_path / "device.json"
    if text is not None:
        file.write_text(text)
    with pytest.raises(ConvcostError, match=message):
        roofline.load_profile(file)


def test_resolve_uses_numbers_then_file_then_saved_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert roofline.default_profile_path() == tmp_path / "convcost" / "device.json"
    with pytest.raises(ConvcostError, match="No device profile: run 'convcost probe'"):
        roofline.resolve()
    assert roofline.resolve(required=False) is None
    assert roofline.resolve(peak_gflops=1.0, bandwidth_gbs=2.0).ridge == pytest.approx(0.5)
    roofline.save_profile(DeviceProfile(100e9, 10e9), roofline.default_profile_path())
    assert roofline.resolve().peak_flops == 100e9
    overridden = roofline.resolve(bandwidth_gbs=50.0)  # the default's peak, the user's bandwidth
    assert (overridden.peak_flops, overridden.bandwidth) == (100e9, 50e9)
    with pytest.raises(ConvcostError, match="--peak-gflops must be a positive number"):
        roofline.resolve(peak_gflops=-3.0)


def test_analyze_columns_rows_totals_and_folding():
    from types import SimpleNamespace

    import keras
    from keras import layers

    from convcost.analysis.memory import memory
    from convcost.count.walker import analyze

    inputs = keras.Input(shape=(256,))
    hidden = layers.Dense(256, use_bias=False, name="a")(inputs)
    report = analyze(keras.Model(inputs, layers.Dense(256, use_bias=False, name="b")(hidden)))
    columns = roofline.AnalyzeColumns(memory(report), DEVICE)
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
    assert columns.headers() == ["bytes", "FLOP/B", "output bytes", "bound", "bound µs"]
    assert columns.cells(plain[0]) == ["264,192", "0.50", "1,024", "memory", "26.4"]
    memory_only = roofline.AnalyzeColumns(memory(report))
    assert "bound" not in memory_only.row_fields([SimpleNamespace(folded=0)] * 2)[0]
    assert len(memory_only.lines(batch=8)) == 2  # per sample, per batch
