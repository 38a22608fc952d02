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
    composition = {"chains": 42, "scale": 0.8912, "fitted_scale": 0.8912, "applied": True,
                   "rmspe": 0.12, "within_10": 0.5, "rmspe_unscaled": 0.2,
                   "within_10_unscaled": 0.4, "models": []}
    lines = summary({**PROFILE, "composition": composition}).splitlines()
    assert lines[3] == ("whole models: 42 generated chains timed; a model = fixed cost + 0.891 x "
                        "its kernels' sum")
    assert lines[4] == ("  model-level error: plain sum RMSPE 20.0%, within 10% 40.0%; with the "
                        "factor, leave-one-out: 12.0%, 50.0%")
    kept = {**composition, "scale": 1.0, "fitted_scale": 1.048, "applied": False}
    line = summary({**PROFILE, "composition": kept}).splitlines()[3]
    assert line.endswith("fixed cost + 1.000 x its kernels' sum (a factor of 1.048 did not "
                         "predict held-out chains better)")


def test_the_time_per_kernel_is_stated_with_its_own_sign():
    composition = {"chains": 9, "scale": 0.761, "fitted_scale": 0.761, "applied": True,
                   "rmspe": 0.25, "within_10": 0.33, "rmspe_unscaled": 0.99,
                   "within_10_unscaled": 0.06, "models": []}
    for offset, said in ((13.0e-6, "+ 13.0 us per kernel"), (-10.7e-6, "- 10.7 us per kernel")):
        line = summary({**PROFILE, "composition": {**composition, "offset": offset}})
        assert line.splitlines()[3].endswith(f"0.761 x its kernels' sum {said}")


def test_the_bursts_waited_out_are_stated():
    guard = {"checks": 2100, "usual_seconds": 98.2e-6, "waited_s": 12.5, "waits": 7, "busy": 1}
    line = summary({**PROFILE, "sentinel": guard}).splitlines()[-1]
    assert line == ("bursts of load: 7 timings waited 12.5 s for them to pass, 1 went ahead in one "
                    "(sentinel kernel 98.2 us, 2100 checks)")
    assert "bursts" not in summary(PROFILE)  # profiles from before the sentinel


def test_the_cost_of_weights_beyond_the_cache_is_stated():
    overflow = {"cache_bytes": 32 << 20, "seconds_per_byte": 1.16e-11, "itemsize": 4,
                "small_bytes": 16 << 20, "small_seconds": 16 * 2**20 / 119e9,
                "large_bytes": 128 << 20, "large_seconds": 128 * 2**20 / 50e9}
    lines = summary({**PROFILE, "overflow": overflow}).splitlines()
    assert lines[-1] == ("weights beyond the 32 MiB cache: 11.6 ps more per byte (a dense layer "
                         "reads 119.0 GB/s within it, 50.0 GB/s beyond)")
    assert "cache" not in summary({**PROFILE, "overflow": None})
