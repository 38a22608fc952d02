"""Device profiles on disk: giga units, bad files, and which profile a command resolves."""

from __future__ import annotations

import pytest

from convcost.analysis import devices
from convcost.analysis.roofline import DeviceProfile
from convcost.errors import ConvcostError


def test_profile_in_giga_units_is_accepted(tmp_path):
    file = tmp_path / "hand.json"
    file.write_text('{"peak_gflops": 80, "bandwidth_gbs": 16}')
    device = devices.load_profile(file)
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
        devices.load_profile(file)


def test_resolve_uses_numbers_then_file_then_saved_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert devices.default_profile_path() == tmp_path / "convcost" / "device.json"
    with pytest.raises(ConvcostError, match="No device profile: run 'convcost probe'"):
        devices.resolve()
    assert devices.resolve(required=False) is None
    assert devices.resolve(peak_gflops=1.0, bandwidth_gbs=2.0).ridge == pytest.approx(0.5)
    devices.save_profile(DeviceProfile(100e9, 10e9), devices.default_profile_path())
    assert devices.resolve().peak_flops == 100e9
    overridden = devices.resolve(bandwidth_gbs=50.0)  # the default's peak, the user's bandwidth
    assert (overridden.peak_flops, overridden.bandwidth) == (100e9, 50e9)
    with pytest.raises(ConvcostError, match="--peak-gflops must be a positive number"):
        devices.resolve(peak_gflops=-3.0)
