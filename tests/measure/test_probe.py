"""The matmul peak (hand numbers for its rate) and a real, small probe."""

from __future__ import annotations

import json

import pytest

from convcost.analysis import devices
from convcost.errors import ConvcostError
from convcost.measure.probe import Peak, peak_matmul, probe
from convcost.measure.timing import Timings


def test_peak_rate_by_hand() -> None:
    peak = Peak(2048, Timings((0.2, 0.1, 0.3)))
    assert peak.flops == 17_179_869_184  # 2 * 2048**3
    assert peak.gflops == pytest.approx(85.89934592)  # at the median, 0.2 s


def test_real_peak() -> None:
    peak = peak_matmul(size=256, repeats=3, warmup=1)
    assert len(peak.timings.seconds) == 3 and peak.gflops > 0.1


@pytest.mark.parametrize("method", ["keras", "numpy"])
def test_probe_measures_positive_numbers_and_saves_them(tmp_path, method):
    device = probe(matmul_size=64, copy_mb=1, repeats=2, method=method)
    assert device.peak_flops > 0 and device.bandwidth > 0 and device.source == "probe"
    assert device.details is not None and device.details["copy_bytes"] == 2**20
    assert device.details["method"].startswith(method)
    target = devices.save_profile(device, tmp_path / "sub" / "device.json")
    data = json.loads(target.read_text())
    assert data["peak_flops"] == device.peak_flops and data["bandwidth"] == device.bandwidth
    assert data["peak_gflops"] == pytest.approx(device.peak_flops / 1e9)
    loaded = devices.load_profile(target)
    assert (loaded.peak_flops, loaded.bandwidth) == (device.peak_flops, device.bandwidth)
    assert [p.name for p in target.parent.iterdir()] == ["device.json"]  # no temp file left


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"matmul_size": 0}, "matmul_size must be a positive integer. Received: 0"),
    ({"copy_mb": -1}, "copy_mb must be a positive integer. Received: -1"),
    ({"method": "blas"}, "Unknown probe method; use keras or numpy. Received: 'blas'"),
])
def test_probe_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConvcostError, match=message):
        probe(**kwargs)


def test_probe_refuses_sizes_that_cannot_fit_before_allocating(monkeypatch) -> None:
    from convcost.measure import machine

    monkeypatch.setattr(machine, "available_memory", lambda: 10**9)
    need = 3 * 20_000**2 * 4 + 2 * 10 * 2**20  # three 20,000² float32 matrices, 10 MiB twice
    with pytest.raises(ConvcostError, match=rf"probe would need at least {need / 1e9:.1f} GB"):
        probe(matmul_size=20_000, copy_mb=10, method="numpy")
