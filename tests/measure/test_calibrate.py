"""Calibration (measure.calibrate): the kernel models map to one kernel of their kind, and a
tiny real calibration runs the whole path: measure -> fit -> save -> load -> predict."""

from __future__ import annotations

import dataclasses
import random

import pytest

import convcost
from convcost.analysis.kernels import KINDS, KernelShape, kernels_of
from convcost.measure.calibrate import (
    MAX_MACS,
    Setting,
    _macs,
    calibrate,
    chain_model,
    draw,
    kernel_model,
)
from convcost.measure.sentinel import FIRST_CHECKS


@pytest.mark.parametrize("runtime", ["litert", "litert-int8", "tf"])
def test_every_calibration_model_is_one_kernel_of_its_kind(runtime):
    from convcost.count.walker import analyze

    rng = random.Random(3)
    for kind in KINDS:
        for _ in range(2):
            with convcost.shape_only():  # the mapping needs shapes, not weights
                model = kernel_model(draw(kind, rng))
            kernels = [k for k in kernels_of(analyze(model), runtime) if k.kind != "none"]
            assert [k.kind for k in kernels] == [kind]


def test_half_of_the_compute_kernels_have_channels_as_models_have_them():
    rng = random.Random(1)
    drawn = [draw(kind, rng) for kind in ("conv", "pointwise", "depthwise", "dense")
             for _ in range(100)]
    aligned = [c for c in drawn if all(c[k] % 8 == 0 for k in ("c_in", "c_out") if c[k] > 3)]
    assert 0.4 < len(aligned) / len(drawn) < 0.75  # half drawn aligned, a few by chance
    assert any(c["c_in"] % 8 and c["c_in"] > 3 for c in drawn)  # and unaligned ones too


def test_perturbing_walks_never_leave_the_drawn_channel_range():
    from convcost.measure.calibrate import MAX_CHANNELS, perturb

    rng = random.Random(2)
    for kind, most in (("depthwise", 2048), ("pointwise", 2048), ("dense", 4096)):
        assert max(max(c["c_in"], c["c_out"]) for c in (draw(kind, rng) for _ in range(300))
                   ) <= MAX_CHANNELS.get(kind, 2048) == most  # draw's own upper bounds
        config = {"kind": kind, "h": 6, "c_in": 2000, "c_out": 1900, "k": 3, "stride": 1,
                  "batch": 1}
        for _ in range(200):  # the adaptive step perturbs perturbed samples again
            config = perturb(config, rng)
            assert config["c_in"] <= most and config["c_out"] <= most


def test_drawn_shapes_stay_under_the_work_cap_and_scale_with_the_batch():
    rng = random.Random(0)
    for _ in range(200):
        config = draw("conv", rng)
        assert _macs(config) <= MAX_MACS or config["h"] == 1
    big = [draw("conv", random.Random(i), batch=32) for i in range(50)]
    assert all(_macs(c) <= MAX_MACS / 8 or c["h"] == 1 for c in big)  # per call up to batch 8
    assert any(_macs(c) > MAX_MACS / 32 for c in big)  # then per sample


def test_tiny_calibration_end_to_end(tmp_path):
    import keras

    from convcost.analysis import latency
    from convcost.analysis.predict import predict_report
    from convcost.analysis.roofline import DeviceProfile
    from convcost.count.walker import analyze

    seen = []
    profile = calibrate(Setting("litert"), DeviceProfile(50e9, 20e9), budget_s=600,
                        kinds=("pointwise", "add"), first_round=1, chains=1,
                        progress=lambda what, share: seen.append(what), cache_bytes=1 << 18)
    # at least 3 per kind in the first round (the weights would give 3 and 1)
    assert {k: m.samples for k, m in profile.kinds.items()} == {"pointwise": 3, "add": 3}
    # the cache's dense layers, one report per kernel, one for the chain, then fitting
    assert len(seen) == 1 + 6 + 1 + 1 and seen[-1] == "fitting"
    # dense layers of 1,024 x 32 and 1,024 x 256 weights: 128 KiB and 1 MiB
    overflow = profile.overflow
    assert (overflow.cache_bytes, overflow.small_bytes, overflow.large_bytes) == (
        1 << 18, 1 << 17, 1 << 20)
    assert overflow.small_seconds > 0 and overflow.large_seconds > 0
    (chain,) = profile.meta["composition"]["models"]
    assert chain["name"].startswith("chain_") and chain["seconds"] > 0 and chain["kernels"]
    plain = dataclasses.replace(profile, scale=1.0)
    kernel_sum = sum(p.seconds for p in latency.predict_kernels(plain,
                                                                latency.chain_kernels(chain)))
    # one chain: the scale is what makes its kernels' sum its measured time
    assert profile.scale == pytest.approx((chain["seconds"] - profile.fixed_seconds) / kernel_sum)
    assert profile.fixed_seconds > 0
    # every timing (fixed cost, 6 kernels, the chain) first checked the machine's speed
    guard = profile.meta["sentinel"]
    assert guard["checks"] >= FIRST_CHECKS + 1 + 6 + 1 and guard["usual_seconds"] > 0
    path = latency.save(profile, tmp_path / "p.json")
    loaded = latency.load(path, command="convcost calibrate")
    x = keras.Input((14, 14, 32))
    y = keras.layers.Conv2D(32, 1, activation="relu")(x)
    report = analyze(keras.Model(x, keras.layers.Add()([x, y])))
    first, second = predict_report(report, profile), predict_report(report, loaded)
    assert first.predicted_ms == pytest.approx(second.predicted_ms)  # same forests after I/O
    assert loaded.scale == profile.scale and loaded.meta["sentinel"] == guard
    assert loaded.overflow == overflow
    plain = predict_report(report, dataclasses.replace(profile, scale=1.0))
    assert [r.predicted_ms for r in first.rows] == pytest.approx(
        [r.predicted_ms * profile.scale for r in plain.rows])
    assert [row.kernel for row in first.rows] == ["pointwise", "add"]
    assert all(row.predicted_ms > 0 for row in first.rows)


def test_an_extended_calibration_starts_from_the_kept_samples():
    from dataclasses import asdict

    from convcost.analysis import latency
    from convcost.analysis.roofline import DeviceProfile
    from convcost.measure.calibrate import Samples

    shape = KernelShape(8, 16, 4, 4, 4, 4, elements_in=128, elements_out=256, flops=4096)
    kept = {"pointwise": [{**asdict(shape), "seconds": 2e-6}] * 3}
    profile = latency.LatencyProfile("litert", 1, 1, DeviceProfile(1e9, 1e9), 1e-6, {},
                                     meta={"samples": kept})
    samples = Samples.kept(profile)
    assert samples.count() == 3 and samples.shapes["pointwise"][0] == shape
    assert samples.configs["pointwise"] == [None] * 3  # no shape to perturb from
    assert Samples.kept(None).count() == 0


def test_chains_are_seeded_generated_models():
    from convcost.count.walker import analyze

    first, again, other = chain_model(7), chain_model(7), chain_model(8)
    assert analyze(first).macs == analyze(again).macs != analyze(other).macs
    assert first.name == "chain_7"
    with convcost.shape_only():
        types = {layer.__class__.__name__ for seed in range(12)
                 for layer in chain_model(seed).layers}
    assert {"Conv2D", "DepthwiseConv2D", "Add", "GlobalAveragePooling2D", "Dense"} <= types


def test_chains_reach_the_depth_of_zoo_models_within_the_work_cap(monkeypatch):
    from convcost.count.walker import analyze
    from convcost.measure import calibrate as module

    with convcost.shape_only():
        reports = [analyze(chain_model(seed)) for seed in range(12)]
    depths = [len([k for k in kernels_of(r, "litert") if k.kind != "none"]) for r in reports]
    assert min(depths) < 20 and max(depths) > 50  # MobileNetV2 runs 65 kernels
    # the shallowest chains under and over a cap of 1e8 (the small one over 1e8 / 8)
    small = min((d, seed) for seed, (d, r) in enumerate(zip(depths, reports))
                if 1.25e7 < r.macs < 1e8)[1]
    large = min((d, seed) for seed, (d, r) in enumerate(zip(depths, reports)) if r.macs > 1e8)[1]
    monkeypatch.setattr(module, "MAX_CHAIN_MACS", 1e8)
    assert module.measure_chain(small, Setting("litert", clock="cpu")) is not None
    assert module.measure_chain(large, Setting("litert")) is None  # not timed: over the cap
    assert module.measure_chain(small, Setting("litert", batch=16)) is None  # per sample > 8
    weights = chain_model(small).count_params()
    monkeypatch.setattr(module, "MAX_CHAIN_WEIGHTS", weights - 1)
    assert module.measure_chain(small, Setting("litert")) is None  # one weight too many
    monkeypatch.setattr(module, "MAX_CHAIN_WEIGHTS", weights)
    assert module.measure_chain(small, Setting("litert", clock="cpu")) is not None


def test_small_tensorflow_kernels_are_timed_as_copies_in_one_call():
    from convcost.measure.calibrate import MAX_COPIES, copies

    small = {"kind": "pointwise", "h": 8, "c_in": 16, "c_out": 16, "k": 1, "stride": 1}
    large = {**small, "h": 56, "c_in": 256, "c_out": 256}  # 205 M multiply-adds
    assert copies(small, Setting("tf")) == MAX_COPIES  # 16,384 multiply-adds
    assert copies(large, Setting("tf")) == 1
    assert copies(small, Setting("litert")) == copies(small, Setting("tf-train")) == 1
    assert copies(small, Setting("tf", batch=32)) == 1  # batch 1 only


@pytest.mark.parametrize("config", [
    {"kind": "activation", "h": 4, "c_in": 8, "act": "relu"},
    {"kind": "add", "h": 4, "c_in": 8, "op": "add", "form": "two"},
    {"kind": "concat", "h": 4, "c_in": 8, "inputs": 2},
    {"kind": "depthwise", "h": 4, "c_in": 8, "c_out": 8, "k": 3, "stride": 1}])
def test_copies_are_independent_ops_of_one_shape(config):
    """Each copy reads its own inputs: the same weightless op on one tensor would run once."""
    from convcost.count.walker import analyze

    one, three = kernel_model(config), kernel_model(config, 3)
    assert len(three.inputs) == 3 * len(one.inputs) and len(three.outputs) == 3
    (kernel,) = [k for k in kernels_of(analyze(one), "tf") if k.kind != "none"]
    kernels = [k for k in kernels_of(analyze(three), "tf") if k.kind != "none"]
    assert [(k.kind, k.shape) for k in kernels] == [(kernel.kind, kernel.shape)] * 3


def test_a_kernel_of_copies_is_the_time_beyond_the_call_divided_among_them(monkeypatch):
    from convcost.measure import calibrate as module

    # a call of n copies takes 200 us + 5 us each (hand numbers)
    monkeypatch.setattr(module, "time_model",
                        lambda model, setting, target=0.0, sentinel=None:
                        200e-6 + 5e-6 * len(model.outputs))
    config = {"kind": "activation", "h": 4, "c_in": 8, "act": "relu", "k": 1, "stride": 1}
    kind, _, seconds = module.measure_kernel(config, Setting("tf"), fixed=200e-6)
    assert (kind, module.copies(config, Setting("tf"))) == ("activation", module.MAX_COPIES)
    assert seconds == pytest.approx(5e-6)


def test_unknown_kernel_kind_is_one_line(tmp_path):
    from tests.conftest import assert_one_line_error, run_cli

    result = run_cli("calibrate", "--kinds", "conv,warp", "--output", str(tmp_path / "p.json"))
    assert_one_line_error(result, 1, r"Unknown kernel kind; use conv, .*Received: --kinds "
                                     r"'conv,warp'")
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("runtime", ["tf", "tf-train"])
def test_a_two_input_kernel_is_timed_on_tensorflow(runtime):
    from convcost.measure.calibrate import time_model

    config = {"kind": "add", "h": 8, "c_in": 16, "op": "add", "form": "two"}
    assert time_model(kernel_model(config), Setting(runtime, clock="cpu"), target=0.01) > 0


def test_int8_timing_quantizes_every_input_of_a_kernel():
    from ai_edge_litert.interpreter import Interpreter

    from convcost.measure.calibrate import time_model
    from convcost.measure.convert import to_tflite
    from convcost.measure.runtimes import timing_representative

    concat = kernel_model({"kind": "concat", "h": 8, "c_in": 24, "inputs": 3})
    blob = to_tflite(concat, "int8", timing_representative(concat))
    inputs = Interpreter(model_content=blob).get_input_details()
    assert [d["dtype"].__name__ for d in inputs] == ["int8"] * 3
    # the converter's inputs come in another order than the model's: (1, 1, 16) first here
    add = kernel_model({"kind": "add", "h": 8, "c_in": 16, "op": "add", "form": "broadcast"})
    assert time_model(add, Setting("litert-int8", clock="cpu"), target=0.01) > 0


def test_a_tiny_int8_calibration_predicts_and_checks():
    import keras

    from convcost.analysis.predict import predict_report
    from convcost.analysis.roofline import DeviceProfile
    from convcost.count.walker import analyze
    from convcost.measure.predicting import measure

    profile = calibrate(Setting("litert-int8", clock="cpu"), DeviceProfile(50e9, 20e9),
                        budget_s=600, kinds=("depthwise",), first_round=1, chains=1,
                        cache_bytes=0)
    assert (profile.runtime, profile.kinds["depthwise"].samples) == ("litert-int8", 3)
    assert profile.overflow is None  # not asked for
    x = keras.Input((28, 28, 32))
    model = keras.Model(x, keras.layers.DepthwiseConv2D(3, activation="relu")(x))
    prediction = predict_report(analyze(model), profile)
    (checked,) = measure([model], [prediction], profile, repeats=3)  # converted to int8 here
    assert [row.kernel for row in prediction.rows if row.kernel != "none"] == ["depthwise"]
    assert prediction.predicted_ms > 0 and checked.measured_ms > 0


def test_a_tiny_training_step_calibration():
    from convcost.analysis.roofline import DeviceProfile

    profile = calibrate(Setting("tf-train", batch=4, clock="cpu"), DeviceProfile(50e9, 20e9),
                        budget_s=600, kinds=("pool",), first_round=1, chains=1)
    assert (profile.runtime, profile.batch, profile.kinds["pool"].samples) == ("tf-train", 4, 3)
    (chain,) = profile.meta["composition"]["models"]
    assert chain["seconds"] > profile.fixed_seconds > 0
    assert "sentinel" not in profile.meta  # only LiteRT's timings are guarded
    assert profile.overflow is None  # not measured for training steps


def _pointwise(kind: str, c_in: int, c_out: int, h: int) -> tuple[dict, KernelShape]:
    config = {"kind": kind, "h": h, "c_in": c_in, "c_out": c_out, "k": 1, "stride": 1,
              "batch": 1}
    shape = KernelShape(c_in=c_in, c_out=c_out, h_in=h, w_in=h, h_out=h, w_out=h, k=1,
                        stride=1, groups=1, inputs=1, act=0, elements_in=h * h * c_in,
                        elements_out=h * h * c_out, weights=c_in * c_out,
                        flops=2 * h * h * c_in * c_out)
    return config, shape


def test_the_adaptive_step_samples_the_worst_predicted_kind_and_refits_only_it(monkeypatch):
    from convcost.analysis.latency import roofline_seconds
    from convcost.analysis.roofline import DeviceProfile
    from convcost.measure import calibrate as module

    rng, samples = random.Random(0), module.Samples()
    device, scores, kinds = DeviceProfile(1e11, 1e10), {}, ("pointwise", "dense")
    for kind, noisy in (("pointwise", False), ("dense", True)):
        for _ in range(24):  # pointwise: twice its roofline; dense: 0.2..5 times it
            config, shape = _pointwise(kind, rng.randint(8, 256), rng.randint(8, 256),
                                       rng.randint(2, 32))
            factor = rng.uniform(0.2, 5.0) if noisy else 2.0
            samples.add(kind, config, shape, factor * roofline_seconds(shape, 1, device))
    setting = Setting("litert")
    configs = module._adaptive(samples, setting, device, rng, kinds, scores, worst=1,
                               per_kind=6)
    assert [c["kind"] for c in configs] == ["dense"] * 6  # the noisy kind, not the exact one
    assert max(scores["dense"][1]) > 0.5 > 0.1 > max(scores["pointwise"][1])

    refitted, real = [], module._held_out_errors
    monkeypatch.setattr(module, "_held_out_errors",
                        lambda *args: refitted.append(args[1]) or real(*args))
    samples.add("dense", *_pointwise("dense", 64, 64, 4), 1e-5)
    module._adaptive(samples, setting, device, rng, kinds, scores, worst=1)
    assert refitted == ["dense"]  # pointwise's errors are cached by its unchanged count


def test_the_adaptive_step_does_not_chase_kernels_below_a_calls_jitter():
    from convcost.analysis.roofline import DeviceProfile
    from convcost.measure import calibrate as module

    rng, samples = random.Random(2), module.Samples()
    device, kinds = DeviceProfile(1e11, 1e10), ("pointwise", "dense")
    for _ in range(24):  # pointwise: 26..420 us, ±20 % noise; dense: 0.1..2 us of pure jitter
        config, shape = _pointwise("pointwise", rng.randint(64, 256), rng.randint(64, 256), 4)
        samples.add("pointwise", config, shape, shape.flops * 2e-10 * rng.uniform(0.8, 1.2))
        config, shape = _pointwise("dense", rng.randint(8, 256), rng.randint(8, 256), 4)
        samples.add("dense", config, shape, rng.uniform(1e-7, 2e-6))
    chosen = {floor: {c["kind"] for c in module._adaptive(
        samples, Setting("tf"), device, rng, kinds, {}, worst=1, per_kind=4, floor=floor)}
        for floor in (1e-6, 20e-6)}  # 20 us: a tenth of TensorFlow's 200 us call
    assert chosen == {1e-6: {"dense"}, 20e-6: {"pointwise"}}


@pytest.mark.parametrize("runtime, small, large", [
    ("litert", 16 << 20, 128 << 20),  # 4 bytes a weight: 4,096 and 32,768 outputs
    ("litert-int8", 16 << 20, 64 << 20),  # 1 byte: 4 x the cache would be 2**27 weights
    ("tf", 16 << 20, 128 << 20)])
def test_the_overflow_dense_layers_span_the_cache(monkeypatch, runtime, small, large):
    from convcost.measure import calibrate as module

    timed = []

    def fake(config, setting, fixed, sentinel=None):
        timed.append(config)
        return "dense", None, config["c_in"] * config["c_out"] * 1e-11

    monkeypatch.setattr(module, "measure_kernel", fake)
    overflow = module.measure_overflow(Setting(runtime), 32 << 20, 0.0)
    itemsize = 1 if runtime == "litert-int8" else 4
    assert [(c["kind"], c["c_in"] * c["c_out"] * itemsize) for c in timed] == [
        ("dense", small), ("dense", large)]
    assert (overflow.small_bytes, overflow.large_bytes, overflow.itemsize) == (
        small, large, itemsize)
    # 1e-11 s per weight either way: no extra cost per byte
    assert overflow.seconds_per_byte == pytest.approx(0.0, abs=1e-20)
    assert module.measure_overflow(Setting("tf-train", batch=4), 32 << 20, 0.0) is None
    assert module.measure_overflow(Setting(runtime), None, 0.0) is None
    monkeypatch.setattr(module, "MAX_OVERFLOW_WEIGHTS", (48 << 20) // itemsize)
    assert module.measure_overflow(Setting(runtime), 32 << 20, 0.0) is None  # < 2 x the cache


@pytest.mark.parametrize("config, op", [
    ({"kind": "pool", "h": 28, "c_in": 44, "k": 3, "stride": 1, "op": "average"},
     "AVERAGE_POOL_2D"),  # NASNet's normal cells
    ({"kind": "pool", "h": 56, "c_in": 44, "k": 1, "stride": 2, "op": "average"},
     "AVERAGE_POOL_2D"),  # NASNet's adjusting path
    ({"kind": "concat", "h": 14, "c_in": 528, "inputs": 6}, "CONCATENATION")])
def test_nasnet_pools_and_six_way_concats_are_one_litert_op(tmp_path, config, op):
    from convcost.count.tflite import read_tflite
    from convcost.count.walker import analyze
    from convcost.measure.convert import to_tflite

    model = kernel_model({"c_out": config["c_in"], "batch": 1, **config})
    (kernel,) = [k for k in kernels_of(analyze(model), "litert") if k.kind != "none"]
    path = tmp_path / "k.tflite"
    path.write_bytes(to_tflite(model))
    assert [o.name for o in read_tflite(path).ops] == [op]
    assert (kernel.kind, kernel.shape.k, kernel.shape.stride, kernel.shape.inputs) == (
        config["kind"], config.get("k", 1), config.get("stride", 1), config.get("inputs", 1))


def test_pools_are_drawn_as_models_have_them():
    rng = random.Random(0)
    pools = [draw("pool", rng) for _ in range(200)]
    assert {(c["k"], c["stride"]) for c in pools} == {(1, 2), (2, 2), (3, 1), (3, 2)}
    assert {draw("concat", rng)["inputs"] for _ in range(200)} == {2, 3, 4, 6}


def test_a_quarter_of_cnn_like_convs_have_a_narrow_output_whatever_their_input():
    from convcost.measure.calibrate import _cnn_like

    rng = random.Random(0)
    drawn = [_cnn_like(rng) for _ in range(400)]
    narrow = [c for c in drawn
              if c["c_out"] in (16, 24, 32, 48, 64) and c["c_in"] >= 4 * c["c_out"]]
    assert 0.1 < len(narrow) / len(drawn) < 0.3  # DenseNet's 128 -> 32 among them
