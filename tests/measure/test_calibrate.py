"""Calibration (measure.calibrate): the kernel models map to one kernel of their kind, and a
tiny real calibration runs the whole path: measure -> fit -> save -> load -> predict."""

from __future__ import annotations

import random

import pytest

from convcost.analysis.kernels import KINDS, kernels_of
from convcost.measure.calibrate import MAX_MACS, Setting, _macs, calibrate, draw, kernel_model


@pytest.mark.parametrize("runtime", ["litert", "tf"])
def test_every_calibration_model_is_one_kernel_of_its_kind(runtime):
    from convcost.count.walker import analyze

    rng = random.Random(3)
    for kind in KINDS:
        for _ in range(2):
            kernels = [k for k in kernels_of(analyze(kernel_model(draw(kind, rng))), runtime)
                       if k.kind != "none"]
            assert [k.kind for k in kernels] == [kind]


def test_drawn_shapes_stay_under_the_work_cap_and_scale_with_the_batch():
    rng = random.Random(0)
    for _ in range(200):
        config = draw("conv", rng)
        assert _macs(config) <= MAX_MACS or config["h"] == 1
    big = [draw("conv", random.Random(i), batch=32) for i in range(50)]
    assert all(_macs(c) <= MAX_MACS / 32 or c["h"] == 1 for c in big)


def test_tiny_calibration_end_to_end(tmp_path):
    import keras

    from convcost.analysis import latency
    from convcost.analysis.predict import predict_report
    from convcost.analysis.roofline import DeviceProfile
    from convcost.count.walker import analyze

    seen = []
    profile = calibrate(Setting("litert"), DeviceProfile(50e9, 20e9), budget_s=600,
                        kinds=("pointwise", "add"), first_round=2,
                        progress=lambda what, share: seen.append(what))
    assert {k: m.samples for k, m in profile.kinds.items()} == {"pointwise": 6, "add": 3}
    assert len(seen) == 9 + 1 and seen[-1] == "fitting"  # one report per kernel, then fitting
    assert profile.fixed_seconds > 0
    path = latency.save(profile, tmp_path / "p.json")
    loaded = latency.load(path, command="convcost calibrate")
    x = keras.Input((14, 14, 32))
    y = keras.layers.Conv2D(32, 1, activation="relu")(x)
    report = analyze(keras.Model(x, keras.layers.Add()([x, y])))
    first, second = predict_report(report, profile), predict_report(report, loaded)
    assert first.predicted_ms == pytest.approx(second.predicted_ms)  # same forests after I/O
    assert [row.kernel for row in first.rows] == ["pointwise", "add"]
    assert all(row.predicted_ms > 0 for row in first.rows)
