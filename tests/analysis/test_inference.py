"""Memory, fit, largest batch and roofline bounds on named devices: hand arithmetic on small
made-up phases, and the device presets and files."""

from __future__ import annotations

import json

import pytest

from convcost.analysis import inference as inf
from convcost.analysis.decode import CacheLayout, Phase, Precision, StepRow
from convcost.errors import ConvcostError
from convcost.models.devices import PRESETS, DeviceSpec

# A made-up step: 1e9 FLOPs, 2e9 weights read, 1e6 KV elements read, 1e3 written.
ROWS = (StepRow("a", "Dense", 400_000_000, 800_000_000, 2_000_000_000, 0, 0, 100),
        StepRow("b", "Attention", 100_000_000, 200_000_000, 0, 1_000_000, 1_000, 300))
PHASE = Phase("decode", 1, 1000, ROWS)
DEVICE = DeviceSpec("toy", "toy", {"bfloat16": 100e12, "float32": 10e12}, 1e12, 40e9)


def test_phase_time_memory_bound_by_hand():
    """bytes = 2e9 * 2 (16-bit weights) + (1e6 + 1e3) * 1 (8-bit KV) = 4.001001e9 at 1 TB/s."""
    bound = inf.phase_time(PHASE, DEVICE, dtype="bfloat16", batch=1,
                           precision=Precision(16, 8, 2))
    assert bound.memory_s == pytest.approx(4.001001e9 / 1e12)
    assert bound.compute_s == pytest.approx(1e9 / 100e12)
    assert bound.seconds == bound.memory_s and bound.limit == "memory"


def test_batch_scales_flops_and_kv_not_weights():
    """Batch 1000: FLOPs 1e12 (10 ms at 100 TFLOP/s); bytes 4e9 + 1000 * 1.001e6."""
    bound = inf.phase_time(PHASE, DEVICE, dtype="bfloat16", batch=1000,
                           precision=Precision(16, 8, 2))
    assert bound.compute_s == pytest.approx(1e12 / 100e12)
    assert bound.memory_s == pytest.approx((4e9 + 1000 * 1.001e6) / 1e12)
    assert bound.limit == "compute"


def test_efficiency_divides_both_limits():
    half = inf.phase_time(PHASE, DEVICE, dtype="float32", batch=1,
                          precision=Precision(32, 16, 4), efficiency=0.5)
    full = inf.phase_time(PHASE, DEVICE, dtype="float32", batch=1,
                          precision=Precision(32, 16, 4))
    assert half.seconds == pytest.approx(2 * full.seconds)


def test_memory_and_largest_batch_by_hand():
    """Weights 1e9 params at 16 bits = 2 GB; KV 1e5 elements per token x 1000 tokens at 16 bits
    = 0.2 GB per sequence; activations 300 elements x 2 B. (40e9 - 2e9) // (2e8 + 600)."""
    layout = CacheLayout(100_000, 2, None)
    precision = Precision(16, 16, 2)
    need = inf.memory(1_000_000_000, layout, PHASE, tokens=1000, batch=3, precision=precision)
    assert need.weight_bytes == 2e9
    assert need.kv_cache_bytes == 3 * 2e8
    assert need.activation_bytes == 3 * 300 * 2
    most = inf.largest_batch(DEVICE, 1_000_000_000, layout, PHASE, tokens=1000,
                             precision=precision)
    assert most == int(38e9 // (2e8 + 600))


def test_weights_alone_too_big_gives_batch_zero():
    layout = CacheLayout(100, 1, None)
    assert inf.largest_batch(DEVICE, 10**11, layout, PHASE, tokens=10,
                             precision=Precision(32, 16, 4)) == 0


def test_presets_have_every_number_sourced():
    for spec in PRESETS.values():
        assert set(spec.sources) == {"peak", "bandwidth", "memory"}, spec.id
        assert all(spec.sources.values()) and spec.peak and spec.bandwidth and spec.memory


def test_h100_sxm_numbers_from_the_datasheet():
    h100 = PRESETS["h100_sxm"]
    assert h100.bandwidth == 3.35e12 and h100.memory == 80e9
    assert h100.peak["bfloat16"] == pytest.approx(989.4e12)


def test_missing_dtype_is_an_error():
    with pytest.raises(ConvcostError, match="lists no bfloat16 peak"):
        inf.peak_for(PRESETS["t4"], "bfloat16")


def test_unknown_device():
    with pytest.raises(ConvcostError, match="Unknown device.*h100_sxm"):
        inf.resolve_device("h100")


def test_device_file_round_trip(tmp_path):
    """The JSON that 'devices --format json' prints for one device reads back the same."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(PRESETS["l4"].to_dict()))
    back = inf.resolve_device(str(path))
    assert back.peak == pytest.approx(PRESETS["l4"].peak)
    assert (back.bandwidth, back.memory) == (PRESETS["l4"].bandwidth, PRESETS["l4"].memory)


@pytest.mark.parametrize("content,pattern", [
    ("{", "cannot be read as JSON"), ("[1]", "must hold a JSON object"),
    ('{"peak_tflops": {}}', "needs 'peak_tflops'"),
    ('{"peak_tflops": {"float32": 1}, "bandwidth_gbs": -1, "memory_gb": 1}',
     "positive number 'bandwidth_gbs'")])
def test_bad_device_file(tmp_path, content, pattern):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConvcostError, match=pattern):
        inf.resolve_device(str(path))


def test_a_device_file_that_is_not_a_regular_file_is_refused_before_reading(tmp_path):
    import os

    pipe, zero = tmp_path / "pipe.json", tmp_path / "zero.json"
    os.mkfifo(pipe)  # reading it would block forever
    zero.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(ConvcostError, match=r"The device file must be a regular file, not a "
                                            r"named pipe \(FIFO\)"):
        inf.resolve_device(str(pipe))
    with pytest.raises(ConvcostError, match="not a character device"):
        inf.resolve_device(str(zero))


@pytest.mark.parametrize("value", [0.0, -1.0, 1.5])
def test_efficiency_range(value):
    with pytest.raises(ConvcostError, match="--efficiency"):
        inf.check_efficiency(value)
