"""``convcost probe``'s lines from a hand-made device: 100 GFLOP/s over 20 GB/s is ridge 5."""

from __future__ import annotations

from convcost.analysis.roofline import DeviceProfile
from convcost.render.probe import Probed, render


def test_probe_lines_by_hand() -> None:
    data = Probed(DeviceProfile(100e9, 20e9), "numpy", 2048, 256, 5, "/tmp/device.json")
    assert render(data, "text").splitlines() == [
        "peak           100.0 GFLOP/s  (numpy float32 2048x2048 matmul, best of 5)",
        "bandwidth       20.0 GB/s     (copy of 256 MiB, read + write, best of 5)",
        "ridge           5.00 FLOP/byte",
        "saved to  /tmp/device.json"]
