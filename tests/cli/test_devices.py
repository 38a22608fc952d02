"""``convcost devices``: every preset, every number with its source."""

from __future__ import annotations

import sys

from tests.conftest import cli_json, cli_ok

REQUIRED = {"h100_sxm", "h100_pcie", "a100_40gb", "a100_80gb", "l4", "t4", "rtx_4090",
            "tpu_v5e", "apple_m2", "apple_m3", "raspberry_pi_5"}


def test_devices_json_lists_numbers_and_sources():
    devices = {d["id"]: d for d in cli_json("devices")}
    assert set(devices) >= REQUIRED
    for device in devices.values():
        assert device["peak_tflops"] and device["bandwidth_gbs"] > 0 and device["memory_gb"] > 0
        assert {"peak", "bandwidth", "memory"} <= set(device["sources"])
    assert devices["h100_sxm"]["bandwidth_gbs"] == 3350
    assert devices["a100_80gb"]["bandwidth_gbs"] == 2039


def test_devices_table_names_the_sources():
    text = cli_ok("devices")
    assert "h100_sxm" in text and "NVIDIA H100 Tensor Core GPU datasheet" in text


def test_devices_imports_no_tensorflow():
    before = "tensorflow" in sys.modules
    cli_ok("devices", "--format", "json")
    assert before or "tensorflow" not in sys.modules
