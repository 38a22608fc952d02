"""``convcost calibrate``: time single kernels on this machine, fit one predictor per kind.

Each sample is a tiny Keras model of one kernel (a conv with its bias and ReLU, a depthwise
conv, a pooling, an add, ...), never a zoo model, so zoo models stay a fair test set. It is
made ready and timed by the same code as ``convcost bench --runtime``
(:func:`convcost.measure.runtimes.prepare`: LiteRT converts it with
:func:`convcost.measure.convert.to_tflite`; ``tf`` compiles ``model(x, training=False)``) and
timed by the same harness (:func:`convcost.measure.runtimes.time_runners`, median of the
runs). The sample's features come from the same walker and kernel mapping as ``predict``
(:func:`convcost.analysis.kernels.kernels_of`): what is calibrated is what is predicted.

Shapes are drawn at random (seeded) over what CNNs use: channels 3..2048, spatial 1..224,
kernels 1/3/5/7, strides 1/2, capped at a work size that keeps one sample under ~0.1 s. After a
first round over every kind, the rest of the budget goes where the cross-validated error is
highest (nn-Meter's adaptive sampling): new shapes near the worst-predicted samples of the
worst kinds. The fixed cost of one call (a one-element model) is measured first and taken off
every sample; on TensorFlow at batch 1 a small kernel is timed as several independent copies
in one call (:func:`copies`), since its call costs far more than it does. Last, whole
*generated chains* of kernels (:func:`chain_model`: random stems, separable, inverted-residual,
basic and pooling blocks; never a zoo model) are timed, and how their kernels' predicted sum
becomes their measured time (a factor, and a time per kernel where it helps) is fitted
(:func:`convcost.analysis.latency.compose`), with its leave-one-out error over the chains.
Every timing waits until a sentinel kernel runs at its usual speed
(:mod:`convcost.measure.sentinel`): this machine is shared, and its bursts of load last seconds.
Two dense layers, with weights of half and four times the last-level cache, measure what a
weight byte costs more when a model's weights do not fit in it (:func:`measure_overflow`).
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convcost.analysis import latency
from convcost.analysis.kernels import KINDS, KernelShape, kernels_of
from convcost.analysis.roofline import DeviceProfile
from convcost.errors import ConvcostError
from convcost.measure.machine import last_level_cache_bytes
from convcost.measure.sentinel import Sentinel

MAX_MACS = 4e8  # one sample stays well under a tenth of a second on a laptop core
MAX_DEPTHWISE = 3.5e7  # MACs of a depthwise conv
MAX_ELEMENTS = 6e6  # elements of an element-wise kernel
#: The caps are per call up to this batch, per sample beyond it: a batch of 32 or 128 gets
#: kernels as large per sample as models have (a call then takes longer, up to ~0.5 s).
BATCH_SHARE = 8
TARGET_SECONDS = 0.12  # timed seconds per sample (runs = this / one run, within bounds)
WEIGHTS = {"conv": 3, "pointwise": 3, "depthwise": 3, "dense": 1.5, "add": 1.5, "pool": 1,
           "global_pool": 1, "concat": 1, "activation": 2, "batchnorm": 1, "pad": 1,
           "reshape": 0.5, "softmax": 0.5}
SCORING_TREES = 40  # the adaptive step's forests: only to rank samples, kept cheap
#: The adaptive step ranks errors above this share of the fixed cost per call: a kernel far
#: below one call's jitter is noise to the clock (TensorFlow: 200 us calls) and more samples of
#: it teach nothing. Only the ranking: the fits keep the 1 us floor (a larger one there let
#: every small kernel of a model be off by microseconds; see docs/results/predict.md).
RANKING_FLOOR_SHARE = 0.1
ACTIVATIONS = ("relu", "relu6", "sigmoid", "swish", "hard_swish", "tanh")
MAX_BLOCKS = 30  # blocks of a generated chain
#: The most channels :func:`draw` gives a kind (2048 for the others).
MAX_CHANNELS = {"dense": 4096, "softmax": 4096, "global_pool": 2560}
#: Where a sentinel guards the timings. Not TensorFlow: the median of 50 of its ~0.3 ms calls
#: went over 1.25x its usual value in 69 % of checks on a quiet machine (its own noise, not
#: bursts: run T1h waited 458 s of 498 at 1.08x); nor training steps (a check costs a step).
SENTINEL_RUNTIMES = ("litert", "litert-int8")
#: The largest dense layer :func:`measure_overflow` builds (2**26 weights: 256 MB in Keras,
#: ~11 s to convert to int8 here); its weights must reach twice the cache.
MAX_OVERFLOW_WEIGHTS = 1 << 26
OVERFLOW_WIDTH = 1024  # inputs of its dense layers
#: TensorFlow: a small kernel is timed as up to MAX_COPIES copies in one call, up to about
#: COPIES_WORK multiply-adds (an element-wise kernel: COPIES_WORK x COPIES_ELEMENTS_SHARE
#: elements), about 0.5 ms of work on one core: well above the call's jitter.
MAX_COPIES = 8
COPIES_WORK = 2e7
COPIES_ELEMENTS_SHARE = 0.05
MAX_CHAIN_MACS = 2e9  # a chain as large as ResNet50 at most (a few tens of ms per call)
#: ... and with at most ResNet50's weights (25.6 M): run I85's int8 conversion of a chain of
#: 55 M (convs on 1 x 1 maps of up to 5,832 channels) was still running after 10 minutes.
MAX_CHAIN_WEIGHTS = 26e6


@dataclass
class Samples:
    """The kernels measured so far, per kind: configurations (None: kept from an earlier
    calibration), shapes, seconds."""

    configs: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)
    shapes: dict[str, list[KernelShape]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, config: dict[str, Any] | None, shape: KernelShape,
            seconds: float) -> None:
        self.configs.setdefault(kind, []).append(config)
        self.shapes.setdefault(kind, []).append(shape)
        self.seconds.setdefault(kind, []).append(seconds)

    def count(self) -> int:
        return sum(len(v) for v in self.seconds.values())

    @classmethod
    def kept(cls, profile: latency.LatencyProfile | None) -> Samples:
        """The samples an earlier profile keeps (none without a profile)."""
        samples = cls()
        for kind, rows in ((profile.meta.get("samples") or {}) if profile else {}).items():
            for row in rows:
                samples.add(kind, None, KernelShape.from_row(row), row["seconds"])
        return samples


# --- shapes ----------------------------------------------------------------------------------


def _log_int(rng: random.Random, low: int, high: int) -> int:
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def draw(kind: str, rng: random.Random, batch: int = 1) -> dict[str, Any]:
    """A random configuration of one kernel of ``kind`` (shrunk to its kind's work cap, which
    is divided by the batch size up to :data:`BATCH_SHARE`)."""
    c = _log_int(rng, 4, 1024)
    config: dict[str, Any] = {"kind": kind, "h": _log_int(rng, 2, 224), "c_in": c,
                              "c_out": _log_int(rng, 4, 1024), "k": rng.choice((3, 3, 5, 7)),
                              "stride": rng.choice((1, 1, 2)), "batch": batch}
    if kind == "conv":
        config["c_in"] = rng.choice((1, 3, c, c, c))
        config["k"] = rng.choice((2, 3, 3, 3, 5, 7))
        if config["c_in"] <= 3:  # a stem: the image itself, up to 320 x 320
            config.update(h=_log_int(rng, 28, 320), c_out=_log_int(rng, 8, 64))
    elif kind == "pointwise":
        config.update(k=1, c_in=_log_int(rng, 4, 2048), c_out=_log_int(rng, 4, 2048),
                      h=_log_int(rng, 1, 112), stride=rng.choice((1, 1, 1, 2)))
    elif kind == "depthwise":
        config["c_in"] = _log_int(rng, 4, 2048)
    elif kind == "dense":
        config.update(c_in=_log_int(rng, 8, 4096), c_out=_log_int(rng, 2, 4096), h=1)
    if kind in ("conv", "pointwise", "depthwise") and config["c_in"] > 3 and rng.random() < 0.5:
        config.update(_cnn_like(rng))
    if kind in ("conv", "pointwise", "depthwise", "dense") and rng.random() < 0.5:
        config.update(_aligned(config, rng))
    if kind in ("pool", "global_pool"):
        k = rng.choice((1, 2, 3, 3))  # 3 x 3 of stride 1 and 1 x 1 of stride 2: NASNet's
        config.update(k=k, stride=2 if k < 3 else rng.choice((1, 2)),
                      op=rng.choice(("max", "average")), h=_log_int(rng, 2, 114))
        if kind == "global_pool":
            config["c_in"] = _log_int(rng, 8, 2560)
    elif kind == "add":
        config.update(op=rng.choice(("add", "multiply")),
                      form=rng.choice(("two", "two", "broadcast", "constant")))
    elif kind == "concat":
        config["inputs"] = rng.choice((2, 2, 3, 4, 6))  # NASNet's cells join 6
    elif kind == "activation":
        config["act"] = rng.choice(ACTIVATIONS)
    elif kind == "pad":
        config["pad"] = rng.choice(((1, 1), (0, 1), (3, 3)))
        if rng.random() < 0.2:  # the image itself, padded before a stem
            config.update(c_in=3, h=_log_int(rng, 96, 320))
    elif kind in ("reshape", "softmax"):
        config.update(h=1 if kind == "softmax" else _log_int(rng, 1, 14),
                      c_in=_log_int(rng, 2, 4096 if kind == "softmax" else 2048))
    return shrink(config)


def _cnn_like(rng: random.Random) -> dict[str, int]:
    """Channels and map size as CNNs pair them (nn-Meter samples where models live): maps
    of 7..112 with about 32 x 112 / size channels, times a random factor of 1/3..3; the output
    a 1/6..6 multiple of the input (expansion and projection layers), or a quarter of the time
    a narrow 16..64 whatever the input (growth and branch layers: DenseNet's 3 x 3 convs add 32
    channels to inputs of 128; run G6 had 2 such convs among 446)."""
    size = max(2, round(rng.choice((7, 14, 28, 56, 112)) * rng.uniform(0.8, 1.25)))
    c_in = min(2048, max(8, round(32 * 112 / size * 2 ** rng.gauss(0, 0.8))))
    c_out = min(2048, max(8, round(c_in * rng.choice((1 / 6, 1 / 4, 1 / 2, 1, 1, 2, 4, 6)))))
    if rng.random() < 0.25:
        c_out = rng.choice((16, 24, 32, 48, 64))
    return {"h": size, "c_in": c_in, "c_out": c_out}


def _aligned(config: dict[str, Any], rng: random.Random) -> dict[str, int]:
    """Channels rounded to a multiple of 8 or 16, as models have them (half of the samples of
    the compute kinds; the other half keep any count, so both sides of the padding feature are
    seen). A stem's 1 or 3 input channels stay."""
    step = rng.choice((8, 16))
    return {key: max(step, round(config[key] / step) * step) for key in ("c_in", "c_out")
            if config[key] > 3}


def shrink(config: dict[str, Any]) -> dict[str, Any]:
    """Shrink the spatial size until the kernel's work is at most its kind's cap."""
    cap = {"conv": MAX_MACS, "pointwise": MAX_MACS, "dense": MAX_MACS,
           "depthwise": MAX_DEPTHWISE}.get(config["kind"], MAX_ELEMENTS)
    cap /= min(config.get("batch", 1), BATCH_SHARE)
    while config["h"] > 1 and _macs(config) > cap:
        config["h"] = max(1, config["h"] * 3 // 4)
    return config


def _macs(config: dict[str, Any]) -> float:
    k, h, stride = config["k"], config["h"], config["stride"]
    out = (h / stride) ** 2
    if config["kind"] in ("conv", "pointwise"):
        return out * k * k * config["c_in"] * config["c_out"]
    if config["kind"] == "dense":
        return float(config["c_in"] * config["c_out"])
    if config["kind"] == "depthwise":
        return out * k * k * config["c_in"]
    return h * h * config["c_in"]  # elements of an element-wise kernel


def perturb(config: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A shape near ``config``: channels and spatial size scaled by 0.7..1.4, channels no more
    than :func:`draw` gives the kind (a sample perturbed from a perturbed one would otherwise
    walk on: an int8 depthwise of 6,476 channels took minutes to convert)."""
    near = dict(config)
    most = MAX_CHANNELS.get(near["kind"], 2048)
    for key in ("c_in", "c_out", "h"):
        if near[key] > 3:
            near[key] = max(1, round(near[key] * math.exp(rng.uniform(-0.35, 0.35))))
    near.update(c_in=min(near["c_in"], most), c_out=min(near["c_out"], most))
    return shrink(near)


# --- one kernel as a Keras model ---------------------------------------------------------------


def kernel_model(config: dict[str, Any], copies: int = 1) -> Any:
    """The tiny Keras model of one kernel (its inputs, its one layer); with ``copies``, that
    many independent copies side by side, each with its own inputs and weights (so that no
    two are the same op, which the runtime would compute once), their outputs all returned."""
    import keras

    built = [_kernel(config) for _ in range(copies)]
    inputs = [x for copy_inputs, _ in built for x in copy_inputs]
    outputs = [y for _, y in built]
    kind = config["kind"]
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0],
                        outputs if len(outputs) > 1 else outputs[0],
                        name=f"kernel_{kind}" + (f"_x{copies}" if copies > 1 else ""))
    if kind == "batchnorm":  # trained-looking: a zero beta would let the converter drop the ADD
        _randomize(model)
    return model


def _kernel(config: dict[str, Any]) -> tuple[list[Any], Any]:
    """The inputs and output of one kernel of ``config`` (see :func:`kernel_model`)."""
    import keras

    layers, kind, h, c = keras.layers, config["kind"], config["h"], config["c_in"]
    spatial = (h, h, c)
    x = keras.Input(spatial if kind not in ("dense", "softmax") else (c,))
    inputs = [x]
    if kind in ("conv", "pointwise"):
        y = layers.Conv2D(config["c_out"], config["k"], strides=config["stride"], padding="same",
                          activation="relu")(x)
    elif kind == "depthwise":
        y = layers.DepthwiseConv2D(config["k"], strides=config["stride"], padding="same",
                                   activation="relu")(x)
    elif kind == "dense":
        y = layers.Dense(config["c_out"], activation="relu")(x)
    elif kind == "pool":
        pool = layers.MaxPooling2D if config["op"] == "max" else layers.AveragePooling2D
        y = pool(config["k"], strides=config["stride"], padding="same")(x)
    elif kind == "global_pool":
        pool = (layers.GlobalMaxPooling2D if config["op"] == "max"
                else layers.GlobalAveragePooling2D)
        y = pool(keepdims=bool(h % 2))(x)
    elif kind == "add":
        y, inputs = _binary(config, x)
    elif kind == "concat":
        inputs = [keras.Input((h, h, max(1, c // config["inputs"]))) for _ in
                  range(config["inputs"])]
        y = layers.Concatenate()(inputs)
    elif kind == "activation":
        y = layers.Activation(config["act"])(x) if config["act"] != "relu6" else \
            layers.ReLU(6.0)(x)
    elif kind == "batchnorm":
        y = layers.BatchNormalization()(x)
    elif kind == "pad":
        y = layers.ZeroPadding2D((config["pad"], config["pad"]))(x)
    elif kind == "reshape":
        y = layers.Flatten()(x)
    elif kind == "softmax":
        y = layers.Softmax()(x)
    else:
        raise ConvcostError(f"Unknown kernel kind; use {', '.join(KINDS)}. Received: {kind!r}.")
    return inputs, y


def chain_model(seed: int) -> Any:
    """A generated CNN of 2..:data:`MAX_BLOCKS` random blocks (never a zoo model): a strided
    stem on a 32..224 image, then separable (depthwise + pointwise), inverted-residual
    (expand, depthwise, linear projection, residual add), basic (3x3 conv, residual add) or
    max-pool blocks of random width and stride, BN and ReLU/ReLU6 after convs, a global pool
    and a dense head. As deep as zoo models (up to ~100 kernels): a whole model runs slower
    than its kernels timed alone, and chains of 10-20 kernels do not show it. About five
    strides and five widenings per chain, as CNNs have. Seeded: the same seed gives the same
    model."""
    import keras

    rng, layers = random.Random(seed), keras.layers
    rho, width = rng.choice((32, 48, 64, 96, 128, 160, 192, 224)), rng.choice((8, 16, 32, 64))

    def conv_bn(y: Any, conv: Any, act: bool = True) -> Any:
        y = layers.BatchNormalization()(conv(y))
        return layers.ReLU(6.0 if rng.random() < 0.5 else None)(y) if act else y

    x = keras.Input((rho, rho, 3))
    y = conv_bn(x, layers.Conv2D(width, rng.choice((3, 5, 7)), 2, "same", use_bias=False))
    size, blocks = (rho + 1) // 2, rng.randint(2, MAX_BLOCKS)
    for _ in range(blocks):
        stride = 2 if size >= 4 and rng.random() < min(0.35, 5 / blocks) else 1
        grow = rng.random() < min(0.5, 6 / blocks)
        new = min(1024, max(8, int(width * (rng.choice((1.5, 2)) if grow else 1))))
        block = rng.choice(("separable", "inverted", "basic", "pool"))
        if block == "pool":
            y, stride, new = layers.MaxPooling2D(2, 2, "same")(y), 2, width
        elif block == "separable":
            y = conv_bn(y, layers.DepthwiseConv2D(rng.choice((3, 5)), stride, "same",
                                                  use_bias=False))
            y = conv_bn(y, layers.Conv2D(new, 1, use_bias=False))
        else:
            z = y
            if block == "inverted":
                z = conv_bn(z, layers.Conv2D(width * rng.choice((2, 3, 4, 6)), 1,
                                             use_bias=False))
                z = conv_bn(z, layers.DepthwiseConv2D(3, stride, "same", use_bias=False))
                z = conv_bn(z, layers.Conv2D(new, 1, use_bias=False), act=False)
            else:
                z = conv_bn(z, layers.Conv2D(new, 3, stride, "same", use_bias=False))
            y = layers.Add()([y, z]) if stride == 1 and new == width else z
        width, size = new, (size + 1) // 2 if stride == 2 else size
    y = layers.GlobalAveragePooling2D()(y)
    y = layers.Dense(rng.choice((10, 100, 1000)), activation=rng.choice(("softmax", None)))(y)
    return keras.Model(x, y, name=f"chain_{seed}")


def measure_chain(seed: int, setting: Setting,
                  sentinel: Sentinel | None = None) -> dict[str, Any] | None:
    """Time one generated chain whole; its kernels as ``predict`` maps them. None for a chain
    over :data:`MAX_CHAIN_MACS` (per call up to batch :data:`BATCH_SHARE`, per sample beyond)
    or :data:`MAX_CHAIN_WEIGHTS`.
    ``sentinel``: waits out bursts of load before timing (:mod:`convcost.measure.sentinel`)."""
    from convcost.count.walker import analyze

    model = chain_model(seed)
    report = analyze(model)
    if (report.macs * min(setting.batch, BATCH_SHARE) > MAX_CHAIN_MACS
            or report.params > MAX_CHAIN_WEIGHTS):
        return None
    kernels = [{"kind": k.kind, **dataclasses.asdict(k.shape)}
               for k in kernels_of(report, setting.runtime)
               if k.kind != "none" and k.shape is not None]
    return {"name": model.name, "seconds": time_model(model, setting, 0.3, sentinel),
            "kernels": kernels}


def _randomize(model: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                           for w in layer.get_weights()])


def _binary(config: dict[str, Any], x: Any) -> tuple[Any, list[Any]]:
    import keras

    layers, h, c = keras.layers, config["h"], config["c_in"]
    merge = layers.Add() if config["op"] == "add" else layers.Multiply()
    if config["form"] == "constant":
        return (x + 3.0 if config["op"] == "add" else x * (1.0 / 6.0)), [x]
    other = keras.Input((1, 1, c) if config["form"] == "broadcast" else (h, h, c))
    return merge([x, other]), [x, other]


# --- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """What is calibrated: runtime, threads, batch, and the clock (``wall`` or ``cpu``)."""

    runtime: str
    threads: int = 1
    batch: int = 1
    clock: str = "wall"


def measure_kernel(config: dict[str, Any], setting: Setting, fixed: float = 0.0,
                   sentinel: Sentinel | None = None) -> tuple[str, KernelShape, float]:
    """Build, map, prepare and time one kernel: (kind, shape, median seconds of one kernel
    beyond the ``fixed`` cost of a call). On TensorFlow a small kernel is timed as
    :func:`copies` independent copies in one call, and the time beyond ``fixed`` divided
    among them: a 5 us kernel alone is lost in a 200 us call's jitter. ``sentinel``: as in
    :func:`measure_chain`."""
    from convcost.count.walker import analyze

    count = copies(config, setting)
    model = kernel_model(config, count)
    kernels = [k for k in kernels_of(analyze(model), setting.runtime) if k.kind != "none"]
    if (len(kernels) != count or kernels[0].shape is None
            or any((k.kind, k.shape) != (kernels[0].kind, kernels[0].shape) for k in kernels)):
        raise ConvcostError(f"A calibration model must map to one kernel (per copy). "
                            f"Received: {[k.kind for k in kernels]} for {config}.")
    seconds = time_model(model, setting, sentinel=sentinel)
    return kernels[0].kind, kernels[0].shape, (seconds - fixed) / count


def copies(config: dict[str, Any], setting: Setting) -> int:
    """How many copies of a kernel one calibration call times: on TensorFlow inference at
    batch 1, enough for about :data:`COPIES_WORK` multiply-adds (elements) per call, at most
    :data:`MAX_COPIES`; one elsewhere (LiteRT's call costs a microsecond; a training step's
    input gradient would add the copies' gradients up; at batch 32 a kernel alone predicted
    63-70 % of the benchmark models, as copies 43 %: see docs/results/predict.md)."""
    if setting.runtime != "tf" or setting.batch > 1:
        return 1
    work = _macs(config)
    cap = COPIES_WORK * (1 if config["kind"] in ("conv", "pointwise", "dense", "depthwise")
                         else COPIES_ELEMENTS_SHARE)
    return max(1, min(MAX_COPIES, int(cap / max(work, 1.0))))


def time_model(model: Any, setting: Setting, target: float = TARGET_SECONDS,
               sentinel: Sentinel | None = None) -> float:
    """Median seconds of one call of ``model`` with the ``bench --runtime`` harness; with a
    ``sentinel``, once the machine runs at its usual speed (or the sentinel gave up waiting)."""
    from convcost.measure.convert import ConversionCache
    from convcost.measure.runtimes import prepare, time_runners

    if setting.runtime == "tf" and len(model.inputs) > 1:
        runner = _keras_runner_of_inputs(model, setting.batch)
    else:  # LiteRT sets the first input; the others keep their (unread) values
        runner = prepare(setting.runtime, model, batch_size=setting.batch,
                         threads=setting.threads, cache=ConversionCache())
    if sentinel is not None:
        sentinel.guard()
    first = time_runners([runner], 3, 2, 1, setting.clock)[0].min
    repeats = int(min(200, max(7, target / max(first, 1e-6))))
    return time_runners([runner], repeats, 1, min(repeats, 5), setting.clock)[0].median


def _keras_runner_of_inputs(model: Any, batch: int) -> Any:
    """:func:`convcost.measure.runtimes.keras_runner` for a model of several inputs (an add,
    a concatenation): the same compiled ``model(xs, training=False)``, one batch per input."""
    import keras

    from convcost.measure.runtimes import Runner, random_batch
    from convcost.measure.timing import compile_function

    xs = [keras.ops.convert_to_tensor(random_batch(tuple(t.shape[1:]), batch))
          for t in model.inputs]
    forward = compile_function(lambda batch_: model(batch_, training=False))
    return Runner(lambda: forward(xs), None, lambda images: images, "tf")


def fixed_seconds(setting: Setting, sentinel: Sentinel | None = None) -> float:
    """The time of one call of a one-element model: the fixed cost per call."""
    import keras

    x = keras.Input((1,))
    return time_model(keras.Model(x, keras.layers.ReLU()(x)), setting, 0.3, sentinel)


# --- the calibration loop ----------------------------------------------------------------------


Progress = Callable[[str, float], None]  # (what is being done, share of the budget used)


def calibrate(setting: Setting, device: DeviceProfile, *, budget_s: float = 600.0,
              kinds: tuple[str, ...] = KINDS, first_round: int | None = None, seed: int = 0,
              progress: Progress | None = None, chains: int | None = None,
              extend: latency.LatencyProfile | None = None,
              cache_bytes: int | None = None) -> latency.LatencyProfile:
    """Measure kernels for about ``budget_s`` seconds and fit one predictor per kind.

    Args:
        setting: runtime, threads, batch.
        device: peak FLOP/s and bandwidth for the roofline feature (stored in the profile).
        budget_s: wall-clock budget; the first round takes about 45 % of it.
        kinds: the kernel kinds to calibrate.
        first_round: samples per kind (weight 1) in the first round (default from the budget).
        progress: called with a description and the share of the budget used.
        chains: generated chains to time whole (default: the last ~17 % of the budget, at
            least 3) for the composition scale.
        extend: an earlier profile of the same setting whose samples (and chains) are kept
            and added to.
        cache_bytes: the last-level cache for :func:`measure_overflow` (default: as the
            system reports it; 0: not measured).
    """
    start, rng, samples = time.perf_counter(), random.Random(seed), Samples.kept(extend)
    if extend is not None:
        rng = random.Random(seed + samples.count())  # new shapes, not the earlier ones again
    report = progress or (lambda _what, _share: None)
    sentinel = sentinel_for(setting.runtime, setting.threads, setting.clock)
    fixed = fixed_seconds(setting, sentinel)
    report("weights beyond the cache", 0.0)
    overflow = measure_overflow(setting, last_level_cache_bytes() if cache_bytes is None
                                else cache_bytes, fixed, sentinel)
    used = lambda: (time.perf_counter() - start) / budget_s  # noqa: E731
    per_kind = first_round or max(4, int(budget_s * 0.45 / 0.6 / sum(WEIGHTS[k] for k in kinds)))
    queue = [draw(k, rng, setting.batch) for k in kinds
             for _ in range(max(3, int(per_kind * WEIGHTS[k])))]
    rng.shuffle(queue)
    for config in queue:
        if used() > 0.55:
            break
        _take(config, setting, fixed, samples, report, used, sentinel)
    scores: dict[str, Any] = {}
    floor = max(latency.FLOOR_SECONDS, RANKING_FLOOR_SHARE * fixed)
    while first_round is None and used() < 0.75:
        for config in _adaptive(samples, setting, device, rng, kinds, scores, floor=floor):
            _take(config, setting, fixed, samples, report, used, sentinel)
            if used() >= 0.75:
                break
    timed = _chains(setting, rng, report, used, chains, extend, sentinel)
    report("fitting", min(used(), 1.0))
    profile = _fit(samples, setting, device, fixed, time.perf_counter() - start)
    profile.overflow = overflow
    if sentinel is not None:
        profile.meta["sentinel"] = sentinel.summary()
    return latency.compose(profile, timed)


def measure_overflow(setting: Setting, cache_bytes: int | None, fixed: float,
                     sentinel: Sentinel | None = None) -> latency.CacheOverflow | None:
    """What a weight byte costs more beyond the last-level cache of ``cache_bytes``: two
    dense layers timed alone, with weights of half the cache and of four times it (at most
    :data:`MAX_OVERFLOW_WEIGHTS` weights; at least twice the cache), on this setting. The
    first reads its weights from the cache at each call, the second from memory, as the
    kernels of a model too large for the cache do. None for training steps, where the cache
    size is unknown, or where the cap cannot reach twice the cache."""
    from convcost.measure.runtimes import PRECISION, TRAINING

    if setting.runtime == TRAINING or not cache_bytes:
        return None
    itemsize = 1 if PRECISION.get(setting.runtime) == "int8" else 4
    small, large = cache_bytes // 2, min(4 * cache_bytes, MAX_OVERFLOW_WEIGHTS * itemsize)
    if large < 2 * cache_bytes:
        return None
    timed = []
    for size in (small, large):
        outputs = max(1, size // itemsize // OVERFLOW_WIDTH)
        config = {"kind": "dense", "h": 1, "c_in": OVERFLOW_WIDTH, "c_out": outputs, "k": 1,
                  "stride": 1, "batch": setting.batch}
        seconds = measure_kernel(config, setting, fixed, sentinel)[2]
        timed.append((OVERFLOW_WIDTH * outputs * itemsize, max(seconds, latency.MIN_SECONDS)))
    return latency.overflow_of(timed[0], timed[1], cache_bytes, itemsize)


def sentinel_for(runtime: str, threads: int, clock: str) -> Sentinel | None:
    """The burst guard of every timing (:mod:`convcost.measure.sentinel`): its kernel on
    ``runtime`` at batch 1; None where timings are not guarded (:data:`SENTINEL_RUNTIMES`)."""
    from convcost.measure import sentinel
    from convcost.measure.convert import ConversionCache
    from convcost.measure.runtimes import prepare

    if runtime not in SENTINEL_RUNTIMES:
        return None
    runner = prepare(runtime, kernel_model(sentinel.KERNEL), batch_size=1, threads=threads,
                     cache=ConversionCache())
    return sentinel.of_runner(runner, clock)


def _chains(setting: Setting, rng: random.Random, report: Progress, used: Callable[[], float],
            count: int | None, extend: latency.LatencyProfile | None,
            sentinel: Sentinel | None = None) -> list[dict[str, Any]]:
    """Generated chains timed whole: ``count`` of them, or until 92 % of the budget (at least
    3); an extended profile's chains are kept."""
    timed = list(((extend.meta.get("composition") or {}).get("models") or []) if extend else [])
    new = 0
    while (new < count) if count is not None else (new < 3 or used() < 0.92):
        chain = measure_chain(rng.randrange(1 << 30), setting, sentinel)
        if chain is None:  # too large to time in a share of the budget: draw another
            continue
        timed.append(chain)
        new += 1
        report(f"chain {timed[-1]['name']} ({len(timed)} models)", min(used(), 1.0))
    return timed


def _take(config: dict[str, Any], setting: Setting, fixed: float, samples: Samples,
          report: Progress, used: Callable[[], float], sentinel: Sentinel | None) -> None:
    kind, shape, seconds = measure_kernel(config, setting, fixed, sentinel)
    samples.add(kind, config, shape, max(seconds, latency.MIN_SECONDS))
    report(f"{kind} ({samples.count()} kernels)", min(used(), 1.0))


def _adaptive(samples: Samples, setting: Setting, device: DeviceProfile,
              rng: random.Random, kinds: tuple[str, ...], scores: dict[str, Any],
              worst: int = 3, per_kind: int = 12,
              floor: float = latency.FLOOR_SECONDS) -> list[dict[str, Any]]:
    """New shapes where the held-out error is highest: for each of the ``worst`` kinds (CV
    RMSPE times the kind's weight), half near its worst-predicted samples, half fresh.

    ``scores`` caches each kind's held-out errors by its sample count, so a round refits only
    the kinds that got new samples (one cheap cross-validated forest each): the adaptive step
    costs a small share of the measuring it steers."""
    for kind, shapes in samples.shapes.items():
        if kind in kinds and scores.get(kind, (None,))[0] != len(shapes):
            scores[kind] = (len(shapes),
                            _held_out_errors(samples, kind, setting, device, floor))

    def weighted(kind: str) -> float:
        return latency.rmspe_of(scores[kind][1]) * WEIGHTS[kind]

    configs = []
    for kind in sorted((k for k in scores if k in kinds), key=weighted, reverse=True)[:worst]:
        errors = scores[kind][1]
        ranked = [i for i in sorted(range(len(errors)), key=lambda i: -errors[i])
                  if samples.configs[kind][i] is not None][:per_kind // 2]
        configs += [perturb(samples.configs[kind][i], rng) for i in ranked]  # type: ignore[arg-type]
        configs += [draw(kind, rng, setting.batch) for _ in range(per_kind - len(ranked))]
    return configs


def _held_out_errors(samples: Samples, kind: str, setting: Setting, device: DeviceProfile,
                     floor: float = latency.FLOOR_SECONDS) -> list[float]:
    """Each sample's relative error (with ``floor``) when predicted by a small forest fitted
    on the other folds (1.0 each under 4 samples: nothing to hold out)."""
    import numpy as np
    from sklearn.model_selection import KFold, cross_val_predict

    shapes, seconds = samples.shapes[kind], samples.seconds[kind]
    if len(shapes) < 4:
        return [1.0] * len(shapes)
    x = np.array([latency.features(s, setting.batch, setting.threads, device) for s in shapes])
    roof = np.array([latency.roofline_seconds(s, setting.batch, device) for s in shapes])
    y = latency.target(seconds, roof, floor)
    predicted = cross_val_predict(latency.forest(0, trees=SCORING_TREES), x, y,
                                  cv=KFold(3, shuffle=True, random_state=0))
    return [float(v) for v in np.abs(np.exp(predicted - y) - 1.0)]


def _fit(samples: Samples, setting: Setting, device: DeviceProfile, fixed: float,
         elapsed: float) -> latency.LatencyProfile:
    kinds = {kind: latency.fit_kind(shapes, samples.seconds[kind], batch=setting.batch,
                                    threads=setting.threads, device=device)
             for kind, shapes in samples.shapes.items()}
    measured = {kind: [{**dataclasses.asdict(shape), "seconds": seconds}
                       for shape, seconds in zip(shapes, samples.seconds[kind])]
                for kind, shapes in samples.shapes.items()}
    return latency.LatencyProfile(setting.runtime, setting.threads, setting.batch, device,
                                  fixed, kinds, setting.clock,
                                  {"calibration_seconds": elapsed, "samples": measured})
