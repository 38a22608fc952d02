"""The calibration summary (render.calibrate): per-kind CV lines and the whole-model check."""

from __future__ import annotations

from convcost.render.calibrate import summary

PROFILE = {"runtime": "litert", "threads": 1, "batch": 1, "clock": "cpu", "fixed_seconds": 1e-6,
           "kinds": {"conv": {"samples": 40, "cv": {"rmspe": 0.152, "mape": 0.101,
                                                     "within_10": 0.55}}}}


def test_kinds_and_their_cross_validated_error():
    text = summary(PROFILE)
    assert "fixed cost per call 1.0 us" in text
    assert text.splitlines()[2].split() == ["conv", "40", "15.2%", "10.1%", "55.0%"]
    assert "whole models" not in text  # a profile from before the chains says nothing of them


def test_the_whole_model_check_states_scale_and_both_errors():
    composition = {"chains": 42, "scale": 0.8912, "rmspe": 0.12, "within_10": 0.5,
                   "rmspe_unscaled": 0.2, "within_10_unscaled": 0.4, "models": []}
    lines = summary({**PROFILE, "composition": composition}).splitlines()
    assert lines[3] == ("whole models: 42 generated chains timed; a model = fixed cost + 0.891 x "
                        "its kernels' sum")
    assert lines[4] == ("  model-level error, leave-one-out: RMSPE 12.0%, within 10% 50.0% "
                        "(unscaled sum: 20.0%, 40.0%)")
