"""Latency predictors (analysis.latency) and a model's prediction (analysis.predict), on a
profile fitted to a known formula (tests.conftest.synthetic_profile): no clock involved."""

from __future__ import annotations

import json
import shutil

import pytest

from convcost.analysis import latency
from convcost.analysis.kernels import kernels_of
from convcost.analysis.predict import predict_report
from convcost.errors import ConvcostError
from tests.conftest import SYNTHETIC_FIXED_S, synthetic_seconds

COMMAND = "convcost calibrate --runtime litert --threads 1 --batch-size 1"


@pytest.fixture(scope="module")
def profile(synthetic_profile):
    return latency.load(synthetic_profile, command=COMMAND)


def _model(c_in: int = 32, c_out: int = 64, size: int = 28):
    import keras
    from keras import layers

    x = keras.Input((size, size, c_in))
    y = layers.BatchNormalization()(layers.Conv2D(c_out, 3, padding="same", use_bias=False)(x))
    y = layers.ReLU()(y)
    z = layers.Conv2D(c_out, 1, activation="relu")(layers.DepthwiseConv2D(3, padding="same")(y))
    y = layers.GlobalAveragePooling2D()(layers.Add()([y, z]))
    return keras.Model(x, layers.Dense(10, activation="softmax")(y))


def test_prediction_follows_the_formula_the_profile_was_fitted_on(profile):
    from convcost.count.walker import analyze

    report = analyze(_model())
    truth = SYNTHETIC_FIXED_S + sum(synthetic_seconds(k.shape)
                                    for k in kernels_of(report, "litert") if k.kind != "none")
    predicted = predict_report(report, profile)
    assert predicted.predicted_ms == pytest.approx(truth * 1e3, rel=0.25)
    assert predicted.fixed_ms == pytest.approx(SYNTHETIC_FIXED_S * 1e3)


def test_rows_add_up_to_the_total_and_fused_rows_say_where(profile):
    from convcost.count.walker import analyze

    predicted = predict_report(analyze(_model()), profile)
    assert predicted.predicted_ms == pytest.approx(
        predicted.fixed_ms + sum(row.predicted_ms for row in predicted.rows))
    by_path = {row.path: row for row in predicted.rows}
    conv = predicted.rows[0]
    fused = [row for row in predicted.rows if row.fused_into]
    assert [row.type for row in fused] == ["BatchNormalization", "ReLU"]
    assert all(row.fused_into == conv.path and row.predicted_ms == 0 for row in fused)
    assert by_path[conv.path].predicted_ms > 0


def test_a_shape_outside_the_calibrated_range_is_flagged_on_its_row(profile):
    from convcost.count.walker import analyze

    wide = profile.kinds["conv"].ranges["c_in"][1] * 4
    predicted = predict_report(analyze(_model(c_in=int(wide))), profile)
    conv = predicted.rows[0]
    assert any(flag.startswith(f"c_in={int(wide)} not in") for flag in conv.flags)
    assert predicted.flagged_rows >= 1


def test_a_kind_without_predictor_gets_its_roofline_and_a_flag(profile):
    import keras

    from convcost.analysis.roofline import bound
    from convcost.count.walker import analyze

    x = keras.Input((8, 8, 4))
    report = analyze(keras.Model(x, keras.layers.UpSampling2D()(x)))
    (row,) = predict_report(report, profile).rows
    (kernel,) = kernels_of(report, "litert")
    expected = bound(kernel.shape.flops, kernel.shape.bytes_moved(1), profile.device).seconds
    assert row.predicted_ms == pytest.approx(expected * 1e3)
    assert "roofline bound" in row.flags[0] and "UpSampling2D" in row.flags[0]


def test_saved_profile_has_versions_samples_and_cv_errors(synthetic_profile, profile):
    data = json.loads(synthetic_profile.read_text())
    assert data["format"] == latency.FORMAT_VERSION and data["runtime"] == "litert"
    assert data["sklearn"] and data["model_file"].endswith(".joblib")
    for entry in data["kinds"].values():
        assert entry["samples"] == 16 and 0 <= entry["cv"]["within_10"] <= 1
    assert set(profile.kinds) == set(data["kinds"])


def test_missing_profile_names_the_calibrate_line(tmp_path):
    with pytest.raises(ConvcostError, match=f"run '{COMMAND}'"):
        latency.load(tmp_path / "none.json", command=COMMAND)


def test_a_profile_that_is_not_a_regular_file_is_refused_before_opening(tmp_path):
    import os

    pipe = tmp_path / "latency-litert-t1-b1.json"
    os.mkfifo(pipe)  # opening it to read would block forever
    pattern = r"latency profile must be a regular file.*pipe"
    with pytest.raises(ConvcostError, match=pattern) as info:
        latency.load(pipe, command=COMMAND)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("damage", ["json", "format", "checksum", "blob"])
def test_a_damaged_profile_is_one_line_error(synthetic_profile, tmp_path, damage):
    copy = tmp_path / "p.json"
    shutil.copy(synthetic_profile, copy)
    blob = synthetic_profile.with_suffix(".joblib")
    shutil.copy(blob, tmp_path / blob.name)
    data = json.loads(copy.read_text())
    if damage == "json":
        copy.write_text("{not json")
    elif damage == "format":
        copy.write_text(json.dumps({**data, "format": 99}))
    elif damage == "checksum":
        (tmp_path / blob.name).write_bytes(blob.read_bytes() + b"x")
    else:
        (tmp_path / blob.name).unlink()
    with pytest.raises(ConvcostError, match=f"run '{COMMAND}' again") as error:
        latency.load(copy, command=COMMAND)
    assert "\n" not in str(error.value)


def test_fit_scale_recovers_a_known_factor_and_says_the_plain_error():
    sums = [1e-3, 2e-3, 4e-3, 8e-4, 3e-4]
    fixed = 1e-6
    measured = [fixed + 0.8 * s for s in sums]  # every model is 0.8 x its kernels' sum
    fitted = latency.fit_scale(sums, measured, fixed)
    assert fitted["scale"] == pytest.approx(0.8, rel=1e-9)
    assert fitted["rmspe"] == pytest.approx(0.0, abs=1e-9) and fitted["within_10"] == 1.0
    # the plain sum over-predicts each by (fixed + s) / (fixed + 0.8 s) - 1, about +25 %
    plain = [(fixed + s) / (fixed + 0.8 * s) - 1 for s in sums]
    assert fitted["rmspe_unscaled"] == pytest.approx((sum(e * e for e in plain) / 5) ** 0.5)
    assert fitted["within_10_unscaled"] == 0.0 and fitted["chains"] == 5
    assert fitted["applied"] and fitted["fitted_scale"] == fitted["scale"]


def test_a_factor_that_does_not_help_held_out_chains_is_not_applied():
    sums = [1e-3, 2e-3, 4e-3, 8e-4, 3e-4, 5e-4]
    measured = [s * (1.05 if i % 2 else 0.95) for i, s in enumerate(sums)]  # no bias, ±5 %
    fitted = latency.fit_scale(sums, measured, 0.0)
    assert not fitted["applied"] and fitted["scale"] == 1.0
    assert fitted["fitted_scale"] == pytest.approx(1.0, abs=0.03)
    assert fitted["rmspe"] >= fitted["rmspe_unscaled"] - latency.MIN_GAIN


def test_a_factor_that_helps_a_few_chains_and_hurts_most_is_not_applied():
    # run G3's 22 chains, measured / kernels' sum (rounded): most near 1, six with 15-310 MB
    # of weights at 1.5-3.2x (read from memory in the chain, from cache when timed alone)
    ratios = [0.94, 0.98, 1.00, 1.01, 1.03, 1.03, 1.04, 1.05, 1.05, 1.06, 1.07, 1.08, 1.10,
              1.26, 1.29, 1.39, 1.48, 1.52, 1.70, 1.75, 2.10, 3.17]
    fitted = latency.fit_scale([1e-3] * 22, [1e-3 * r for r in ratios], 0.0)
    # the factor lowers the held-out RMSPE by more than MIN_GAIN (the big six) ...
    assert fitted["rmspe"] < fitted["rmspe_unscaled"] - latency.MIN_GAIN
    # ... but makes most chains worse: 7 of the 22 within ±10 % held out, 13 for the plain sum
    assert fitted["within_10"] < fitted["within_10_unscaled"]
    assert fitted["p_value"] > latency.MAX_P_VALUE and not fitted["applied"]
    assert fitted["scale"] == 1.0 and fitted["fitted_scale"] > 1.1


def test_fit_scale_with_one_chain_is_its_ratio_and_has_no_held_out_error():
    fitted = latency.fit_scale([2e-3], [1.8e-3 + 1e-6], 1e-6)
    assert fitted["scale"] == pytest.approx(0.9)
    assert fitted["rmspe"] != fitted["rmspe"]  # NaN: nothing held out under 3 chains
    assert latency.fit_scale([], [], 1e-6)["scale"] == 1.0


def test_fit_scale_recovers_a_factor_and_a_time_per_kernel():
    sums = [1e-3, 2e-3, 4e-3, 8e-4, 3e-4, 5e-4, 6e-3]
    counts = [12, 30, 25, 40, 8, 60, 15]
    fixed = 2e-4  # each model: 0.9 x its kernels' sum + 12 us per kernel (TensorFlow-like)
    measured = [fixed + 0.9 * s + 12e-6 * n for s, n in zip(sums, counts)]
    fitted = latency.fit_scale(sums, measured, fixed, counts)
    assert fitted["scale"] == pytest.approx(0.9, rel=1e-6)
    assert fitted["offset"] == pytest.approx(12e-6, rel=1e-6)
    assert fitted["rmspe"] == pytest.approx(0.0, abs=1e-9) and fitted["applied"]
    alone = latency.fit_scale(sums, measured, fixed)  # without counts: the factor only
    assert alone["offset"] == 0.0 and alone["rmspe"] > 0.05


def test_the_time_per_kernel_is_added_to_each_predicted_kernel(profile):
    import dataclasses

    from convcost.count.walker import analyze

    report = analyze(_model())
    plain = predict_report(report, profile)
    shifted = predict_report(report, dataclasses.replace(profile, scale=0.5, offset=5e-6))
    predicted = [row for row in plain.rows if row.predicted_ms > 0]
    # 5 us = 5e-3 ms per kernel; the head's row is two kernels (dense+softmax)
    assert [row.predicted_ms for row in shifted.rows if row.predicted_ms > 0] == pytest.approx(
        [0.5 * row.predicted_ms + 5e-3 * (row.kernel.count("+") + 1) for row in predicted])
    assert predicted[-1].kernel == "dense+softmax"


def _chain(model, seconds_per_truth: float) -> dict:
    from dataclasses import asdict

    from convcost.count.walker import analyze

    kernels = [k for k in kernels_of(analyze(model), "litert") if k.kind != "none"]
    truth = sum(synthetic_seconds(k.shape) for k in kernels)
    return {"name": model.name, "seconds": SYNTHETIC_FIXED_S + seconds_per_truth * truth,
            "kernels": [{"kind": k.kind, **asdict(k.shape)} for k in kernels]}


def test_compose_scales_rows_and_survives_refit_and_saving(profile, tmp_path):
    from convcost.count.walker import analyze

    chains = [_chain(_model(c, 2 * c, size), 0.5) for c, size in ((8, 14), (16, 28), (32, 20))]
    composed = latency.compose(profile, chains)
    assert composed.scale == pytest.approx(0.5, rel=0.25)  # the forests are ~exact here
    report = analyze(_model())
    plain, scaled = predict_report(report, profile), predict_report(report, composed)
    assert scaled.predicted_ms - scaled.fixed_ms == pytest.approx(
        composed.scale * (plain.predicted_ms - plain.fixed_ms))
    loaded = latency.load(latency.save(composed, tmp_path / "c.json"), command=COMMAND)
    assert loaded.scale == composed.scale
    assert loaded.meta["composition"]["models"] == chains
    (add,) = [{k: v for k, v in row.items() if k != "kind"} for row in chains[0]["kernels"]
              if row["kind"] == "add"]
    with_samples = latency.LatencyProfile(
        composed.runtime, 1, 1, composed.device, composed.fixed_seconds, {},
        meta={"samples": {"add": [{**add, "seconds": 3e-6}] * 4},
              "composition": composed.meta["composition"]})
    assert latency.refit(with_samples).meta["composition"]["chains"] == 3


def test_padding_is_the_share_of_lanes_paid_for():
    assert latency.padding(32, 16) == 1.0 and latency.padding(17, 16) == 32 / 17
    assert latency.padding(3, 4) == 4 / 3 and latency.padding(24, 16) == 32 / 24
    from convcost.analysis.kernels import KernelShape
    from convcost.analysis.roofline import DeviceProfile

    shape = KernelShape(24, 17, 8, 8, 8, 8, elements_in=1536, elements_out=1088, flops=1)
    row = latency.features(shape, 1, 1, DeviceProfile(1e9, 1e9))
    assert row[-6:] == [1.0, 1.0, 32 / 24, 20 / 17, 24 / 17, 32 / 17]  # in: 4, 8, 16; out


def test_an_older_profile_format_asks_for_a_new_calibration(synthetic_profile, tmp_path):
    copy = tmp_path / "p.json"
    blob = synthetic_profile.with_suffix(".joblib")
    shutil.copy(blob, tmp_path / blob.name)
    copy.write_text(json.dumps({**json.loads(synthetic_profile.read_text()), "format": 1}))
    with pytest.raises(ConvcostError, match=f"not a format {latency.FORMAT_VERSION} latency "
                                            f"profile.*run '{COMMAND}' again"):
        latency.load(copy, command=COMMAND)


def _pointwise_shapes(count: int, seed: int = 0) -> list:
    import random

    from convcost.analysis.kernels import KernelShape

    rng, shapes = random.Random(seed), []
    for _ in range(count):
        c_in, c_out, h = rng.randint(4, 300), rng.randint(4, 300), rng.randint(2, 40)
        shapes.append(KernelShape(c_in, c_out, h, h, h, h, elements_in=h * h * c_in,
                                  elements_out=h * h * c_out, weights=c_in * c_out,
                                  flops=2 * h * h * c_in * c_out))
    return shapes


def _lane_time(shape) -> float:
    """3 ns per multiply-add with the output channels padded to 16, plus 2 us per op."""
    padded_out = -(-shape.c_out // 16) * 16
    return 3e-9 * shape.h_out * shape.w_out * shape.c_in * padded_out + 2e-6


def test_a_kind_linear_in_its_padded_work_gets_the_linear_baseline():
    from convcost.analysis.kernels import KernelShape
    from convcost.analysis.roofline import DeviceProfile

    device, shapes = DeviceProfile(1e11, 1e10), _pointwise_shapes(80)
    model = latency.fit_kind(shapes, [_lane_time(s) for s in shapes], batch=1, threads=1,
                             device=device)
    assert model.method.endswith("/linear") and model.cv["rmspe"] < 0.02
    unseen = KernelShape(100, 50, 20, 20, 20, 20, elements_in=40_000, elements_out=20_000,
                         weights=5_000, flops=4_000_000)
    (seconds,) = latency.predict_shapes(model, [unseen], 1, 1, device)
    assert seconds == pytest.approx(3e-9 * 400 * 100 * 64 + 2e-6, rel=0.03)  # 7.70 ms


def test_a_small_kind_keeps_the_first_method():
    from convcost.analysis.roofline import DeviceProfile

    shapes = _pointwise_shapes(latency.MIN_TO_CHOOSE - 1)
    model = latency.fit_kind(shapes, [_lane_time(s) for s in shapes], batch=1, threads=1,
                             device=DeviceProfile(1e11, 1e10))
    assert (model.method, model.baseline) == (latency.METHODS[0], None)


def test_a_linear_baseline_survives_saving(profile, tmp_path):
    import dataclasses

    from convcost.count.walker import analyze

    shapes = _pointwise_shapes(60)
    fitted = latency.fit_kind(shapes, [_lane_time(s) for s in shapes], batch=1, threads=1,
                              device=profile.device, methods=("extra-trees/linear",))
    mine = dataclasses.replace(profile, kinds={**profile.kinds, "pointwise": fitted})
    loaded = latency.load(latency.save(mine, tmp_path / "p.json"), command=COMMAND)
    assert loaded.kinds["pointwise"].baseline == pytest.approx(fitted.baseline)
    assert loaded.kinds["pointwise"].method == "extra-trees/linear"
    report = analyze(_model())
    assert predict_report(report, loaded).predicted_ms == pytest.approx(
        predict_report(report, mine).predicted_ms)


def _dense_model():
    import keras

    x = keras.Input((100,))
    y = keras.layers.Dense(50, activation="relu", name="d1")(x)
    return keras.Model(x, keras.layers.Dense(10, name="d2")(y))


def test_weights_beyond_the_cache_cost_each_kernel_its_bytes(profile):
    import dataclasses

    from convcost.count.walker import analyze

    model = _dense_model()
    weights = [model.get_layer(name).count_params() for name in ("d1", "d2")]  # 5050, 510
    overflow = latency.CacheOverflow(4 * sum(weights), 1e-9, 4, 0, 0.0, 0, 0.0)
    report = analyze(model)
    plain = predict_report(report, profile)
    fits = predict_report(report, dataclasses.replace(profile, overflow=overflow))
    assert [r.predicted_ms for r in fits.rows] == [r.predicted_ms for r in plain.rows]
    assert fits.notes == ()
    smaller = dataclasses.replace(overflow, cache_bytes=4 * sum(weights) - 1)
    spills = predict_report(report, dataclasses.replace(profile, overflow=smaller))
    # 4 bytes per weight at 1 ns per byte, in ms
    assert [s.predicted_ms - p.predicted_ms for s, p in zip(spills.rows, plain.rows)] == \
        pytest.approx([4e-6 * weights[0], 4e-6 * weights[1]])
    (note,) = spills.notes
    assert note == ("its weights (0.0 MB) exceed the 0.0212 MiB cache: 0.022 ms of the prediction "
                    "reads them from memory")
    int8 = dataclasses.replace(smaller, itemsize=1)  # 5,560 bytes fit in 22,239
    assert predict_report(report, dataclasses.replace(profile, overflow=int8)).notes == ()


def test_the_overflow_is_the_difference_of_two_times_per_byte_and_never_negative():
    within, beyond = (16 << 20, (16 << 20) / 119e9), (128 << 20, (128 << 20) / 50e9)
    overflow = latency.overflow_of(within, beyond, 32 << 20, 4)
    assert overflow.seconds_per_byte == pytest.approx(1 / 50e9 - 1 / 119e9)
    assert (overflow.small_bytes, overflow.large_bytes, overflow.itemsize) == (
        16 << 20, 128 << 20, 4)
    assert latency.overflow_of(beyond, within, 32 << 20, 4).seconds_per_byte == 0.0


def test_the_overflow_survives_saving_and_a_damaged_one_is_one_line(profile, tmp_path):
    import dataclasses

    overflow = latency.CacheOverflow(32 << 20, 1.2e-11, 4, 16 << 20, 1.4e-4, 128 << 20, 2.7e-3)
    path = latency.save(dataclasses.replace(profile, overflow=overflow), tmp_path / "o.json")
    assert latency.load(path, command=COMMAND).overflow == overflow
    data = json.loads(path.read_text())
    del data["overflow"]["itemsize"]
    path.write_text(json.dumps(data))
    with pytest.raises(ConvcostError, match=r"broken \(ConvcostError: an overflow of the "
                                            r"fields cache_bytes, .*again") as error:
        latency.load(path, command=COMMAND)
    assert "\n" not in str(error.value)
