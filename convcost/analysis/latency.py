"""Latency predictors per kernel kind (nn-Meter style): features, fitting, the saved profile.

A *latency profile* is what ``convcost calibrate`` leaves for one machine and runtime setting
(runtime, threads, batch): per kernel kind (:data:`convcost.analysis.kernels.KINDS`) a
scikit-learn random forest fitted on single-kernel measurements, the range of shapes it saw,
its cross-validated error, and the fixed cost of one call. It is saved as a JSON file (what
people and other tools read) beside a joblib file with the fitted forests (and the
scikit-learn version that wrote them).

The forest predicts ``log((latency + 1 us) / (roofline + 1 us))``: the ratio of the kernel's
time to its roofline bound (:func:`convcost.analysis.roofline.bound` with the device numbers
stored in the profile) varies far less over shapes than the time itself, so the trees
interpolate a smooth quantity; the 1 us floor (:data:`FLOOR_SECONDS`, about the fixed cost of
a call) keeps kernels of a few nanoseconds, whose time is mostly noise, from dominating the
fit. The cross-validated errors count the same floor. Features: log FLOPs, log bytes, log
roofline time, channels, spatial sizes, kernel, stride, groups, inputs, activation code,
threads, how much of the last SIMD vector the channels in and out leave empty
(:func:`padding`, for 4, 8 and 16 lanes), and the log of the kind's baseline (the roofline,
or a linear fit of :func:`work_terms`, whichever cross-validates better).

:func:`predict_kernels` never extrapolates silently: a kernel whose shape lies outside the
calibrated range of its kind carries the names of the features that are out of range, and a
kernel of a kind without a predictor gets its roofline bound and a flag.

Weights beyond the cache: a kernel timed alone reads its weights from the cache its last call
left them in; inside a model whose weights exceed the last-level cache, each call reads them
from memory (the rest of the model evicted them). :class:`CacheOverflow` (measured by
``calibrate``) is what each weight byte then costs more; :func:`predict_kernels` adds it to
every kernel of a model whose weights do not fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcost.analysis.kernels import Kernel, KernelShape
from convcost.analysis.roofline import DeviceProfile, bound
from convcost.errors import ConvcostError, one_line
from convcost.files import read_json, write_text

FORMAT_VERSION = 3  # 3: per-kind method and baseline; 2: channel padding (older: re-made)
RANGE_FIELDS = ("c_in", "c_out", "h_in", "h_out", "k", "stride", "groups", "inputs")
CATEGORY_FIELDS = ("act",)
MIN_SECONDS = 1e-8
#: A profile's JSON keeps its samples (about 0.5 MB for a 10-minute calibration).
MAX_PROFILE_BYTES = 1 << 26
FLOOR_SECONDS = 1e-6
#: How much lower (absolute RMSPE) a whole-model factor's held-out error must be to be applied.
MIN_GAIN = 0.01
#: ... and it must be smaller chain by chain beyond chance (one-sided Wilcoxon signed-rank,
#: from 5 chains on: with fewer the test cannot go under 0.05).
MAX_P_VALUE = 0.05
MIN_TESTED_CHAINS = 5


def target(seconds: Any, roof: Any, floor: float = FLOOR_SECONDS) -> Any:
    """What the forest learns: log((time + floor) / (roofline + floor)) (arrays or floats)."""
    import numpy as np

    return np.log((np.asarray(seconds, dtype=float) + floor) / (roof + floor))


def from_target(value: Any, roof: Any) -> Any:
    """Seconds back from :func:`target`; never below :data:`MIN_SECONDS` (a kernel whose
    samples all fell within the fixed per-call cost still costs something, never zero)."""
    import numpy as np

    return np.maximum(np.exp(value) * (roof + FLOOR_SECONDS) - FLOOR_SECONDS, MIN_SECONDS)


def roofline_seconds(shape: KernelShape, batch: int, device: DeviceProfile) -> float:
    """The kernel's roofline bound for ``batch`` samples (never below 10 ns)."""
    return max(bound(shape.flops * batch, shape.bytes_moved(batch), device).seconds, MIN_SECONDS)


_UNIT = KernelShape(1, 1, 1, 1, 1, 1)  # any shape: only the length of its work terms is read

#: SIMD widths in float32 lanes (NEON 4, AVX2 8, AVX-512 16) whose channel padding is a feature.
LANES = (4, 8, 16)


def features(shape: KernelShape, batch: int, threads: int, device: DeviceProfile) -> list[float]:
    """The predictor's inputs for one kernel (see the module docstring)."""
    log = math.log
    return [log(1 + shape.flops * batch), log(1 + shape.bytes_moved(batch)),
            log(roofline_seconds(shape, batch, device)), log(shape.c_in), log(shape.c_out),
            log(shape.h_in * shape.w_in), log(shape.h_out * shape.w_out), shape.k, shape.stride,
            log(shape.groups), shape.inputs, shape.act, log(1 + shape.weights), threads,
            *(padding(shape.c_in, lanes) for lanes in LANES),
            *(padding(shape.c_out, lanes) for lanes in LANES)]


def padding(channels: int, lanes: int) -> float:
    """Channels rounded up to a multiple of ``lanes``, over channels (1: no lane wasted).

    Kernels run channels in SIMD lanes: 17 channels cost about what 32 cost on 16 lanes. Models
    use multiples of 8 or 16, random calibration shapes mostly do not, and without this feature
    the forests could not tell the two apart (the profile's plain sum over-predicted whole
    models by ~9 %: run E in docs/results/predict.md)."""
    return _lanes(channels, lanes) / channels


@dataclass
class KindModel:
    """The predictor of one kernel kind, the shapes it was fitted on and its CV error.

    ``baseline``: the non-negative coefficients of :func:`work_terms` that the trees' target
    is relative to, or None for the roofline bound; ``method`` names the trees and baseline
    that won the kind's cross-validation (:data:`METHODS`)."""

    estimator: Any
    samples: int
    ranges: dict[str, list[float]]
    categories: dict[str, list[int]]
    cv: dict[str, float]
    baseline: list[float] | None = None
    method: str = "forest/roofline"


@dataclass(frozen=True)
class CacheOverflow:
    """What a weight byte costs more when a model's weights exceed the last-level cache.

    ``cache_bytes``: the cache's size (as the operating system reports it); ``seconds_per_byte``:
    a dense layer's time per weight byte with weights of ``large_bytes`` (beyond the cache)
    less its time per byte with ``small_bytes`` (within it), never negative; ``itemsize``:
    bytes per weight on the runtime (1 for int8)."""

    cache_bytes: int
    seconds_per_byte: float
    itemsize: int
    small_bytes: int
    small_seconds: float
    large_bytes: int
    large_seconds: float

    def spills(self, model_weights: int) -> bool:
        """Whether a model of ``model_weights`` weights pays for them (exceeds the cache)."""
        return model_weights * self.itemsize > self.cache_bytes and self.seconds_per_byte > 0

    def extra_seconds(self, model_weights: int, weights: int) -> float:
        """Seconds a kernel of ``weights`` elements pays in a model of ``model_weights``."""
        return weights * self.itemsize * self.seconds_per_byte if self.spills(model_weights) \
            else 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def overflow_of(small: tuple[int, float], large: tuple[int, float], cache_bytes: int,
                itemsize: int) -> CacheOverflow:
    """:class:`CacheOverflow` from two dense timings: (weight bytes, seconds) within and beyond
    the cache."""
    per_byte = max(0.0, large[1] / large[0] - small[1] / small[0])
    return CacheOverflow(cache_bytes, per_byte, itemsize, small[0], small[1], large[0], large[1])


@dataclass
class LatencyProfile:
    """Everything ``predict`` needs for one runtime setting of one machine."""

    runtime: str
    threads: int
    batch: int
    device: DeviceProfile
    fixed_seconds: float
    kinds: dict[str, KindModel]
    clock: str = "wall"
    meta: dict[str, Any] = field(default_factory=dict)
    #: Whole models vs their kernels' sum, fitted on generated chains (:func:`fit_scale`).
    scale: float = 1.0
    #: Seconds added to each predicted kernel inside a model (:func:`fit_scale`; 0: none).
    offset: float = 0.0
    #: What weights beyond the cache cost (None: not measured; older profiles, training).
    overflow: CacheOverflow | None = None

    def key(self) -> str:
        return profile_key(self.runtime, self.threads, self.batch)


def profile_key(runtime: str, threads: int, batch: int) -> str:
    """The file stem of a profile: ``latency-litert-t1-b1``."""
    return f"latency-{runtime}-t{threads}-b{batch}"


# --- fitting ---------------------------------------------------------------------------------


#: What ``fit_kind`` chooses from, per kind, by cross-validation: trees (random forest or
#: extra trees) on the time relative to a baseline (the roofline bound, or a linear fit of the
#: kernel's work terms).
METHODS = ("forest/roofline", "forest/linear", "extra-trees/roofline", "extra-trees/linear")
#: Under this many samples a kind keeps the first method: a 5-fold CV of 20 samples is too
#: noisy to choose by (it picked a baseline that doubled MobileNetV3-Small's rescaling).
MIN_TO_CHOOSE = 50


def fit_kind(shapes: Sequence[KernelShape], seconds: Sequence[float], *, batch: int,
             threads: int, device: DeviceProfile, folds: int = 5, seed: int = 0,
             methods: Sequence[str] = METHODS) -> KindModel:
    """Fit one kind's predictor on measured kernels: each of ``methods`` is cross-validated,
    the one with the lowest RMSPE is fitted on all samples.

    Args:
        shapes: the kernels measured (at least 2).
        seconds: each kernel's time, the fixed cost per call already taken off.
        batch, threads, device: the setting, and the device numbers of the roofline feature.
        folds: cross-validation folds (fewer when there are fewer samples).
        methods: the candidates (:data:`METHODS`); the first wins ties, and is the only one
            under :data:`MIN_TO_CHOOSE` samples.
    """
    import numpy as np

    x = np.array([features(s, batch, threads, device) for s in shapes])
    roof = np.array([roofline_seconds(s, batch, device) for s in shapes])
    terms = np.array([work_terms(s, batch) for s in shapes])
    times = np.asarray(seconds, dtype=float)
    methods = methods if len(shapes) >= MIN_TO_CHOOSE else methods[:1]
    scored = [(cross_validate(x, times, roof, terms, method, folds, seed), method)
              for method in methods]
    cv, method = min(scored, key=lambda pair: (_or_inf(pair[0]["rmspe"]),
                                               methods.index(pair[1])))
    estimator, baseline = _fit_method(x, times, roof, terms, method, seed)
    return KindModel(estimator, len(shapes), _ranges(shapes), _categories(shapes), cv,
                     baseline, method)


def _or_inf(value: float) -> float:
    return math.inf if math.isnan(value) else value


def work_terms(shape: KernelShape, batch: int) -> list[float]:
    """What a kernel's time is close to linear in, per call: multiply-adds with the output
    channels padded to 16 lanes, pixel-channels in and out padded the same way, elements
    moved, weights, output pixels, and one (the per-op cost). A kind's :class:`KindModel`
    weights them (non-negative least squares); the trees learn what is left."""
    pixels = shape.h_out * shape.w_out * batch
    lanes = _lanes(shape.c_out)
    reduce = 1 if shape.groups > 1 else shape.c_in
    return [float(pixels * lanes * reduce * shape.k * shape.k), float(pixels * lanes),
            float(shape.h_in * shape.w_in * batch * _lanes(shape.c_in)),
            float((shape.elements_in + shape.elements_out) * batch), float(shape.weights),
            float(pixels), 1.0]


def _lanes(channels: int, lanes: int = 16) -> int:
    return math.ceil(channels / lanes) * lanes


def _fit_method(x: Any, seconds: Any, roof: Any, terms: Any, method: str,
                seed: int) -> tuple[Any, list[float] | None]:
    """The trees of ``method`` fitted on ``x``, and the linear baseline (None: roofline)."""
    trees, base = method.split("/")
    coefficients = _linear_baseline(terms, seconds) if base == "linear" else None
    inputs, reference = _tree_inputs(x, terms, coefficients, roof)
    estimator = (forest(seed) if trees == "forest" else extra_trees(seed))
    return estimator.fit(inputs, target(seconds, reference)), coefficients


def _linear_baseline(terms: Any, seconds: Any) -> list[float]:
    """Non-negative weights of the work terms that fit the times in relative terms."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    regression = LinearRegression(positive=True, fit_intercept=False)
    regression.fit(terms / seconds[:, None], np.ones(len(seconds)))
    return [float(c) for c in regression.coef_]


def _tree_inputs(x: Any, terms: Any, coefficients: list[float] | None,
                 roof: Any) -> tuple[Any, Any]:
    """The trees' inputs (the features and the log baseline) and the baseline seconds: the
    roofline, or the work terms weighted by ``coefficients``."""
    import numpy as np

    reference = (roof if coefficients is None
                 else np.maximum(terms @ np.asarray(coefficients), MIN_SECONDS))
    return np.column_stack([x, np.log(reference)]), reference


def forest(seed: int, trees: int = 120) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=trees, min_samples_leaf=1, max_features=0.6,
                                 random_state=seed, n_jobs=1)


def extra_trees(seed: int, trees: int = 150) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=trees, max_features=0.8, random_state=seed,
                               n_jobs=1)


def cross_validate(x: Any, seconds: Any, roof: Any, terms: Any, method: str, folds: int,
                   seed: int) -> dict[str, float]:
    """K-fold error of ``method`` in time (not log) terms, with the 1 us floor: RMSPE, mean
    |error|, share within ±10 %. The baseline is fitted inside each fold."""
    import numpy as np
    from sklearn.model_selection import KFold

    n = len(seconds)
    if n < 4:
        return {"rmspe": math.nan, "mape": math.nan, "within_10": math.nan}
    predicted = np.zeros(n)
    for train, test in KFold(n_splits=min(folds, n), shuffle=True,
                             random_state=seed).split(x):
        estimator, coefficients = _fit_method(x[train], seconds[train], roof[train],
                                              terms[train], method, seed)
        inputs, reference = _tree_inputs(x[test], terms[test], coefficients, roof[test])
        predicted[test] = from_target(estimator.predict(inputs), reference)
    error = (predicted + FLOOR_SECONDS) / (seconds + FLOOR_SECONDS) - 1.0
    return {"rmspe": rmspe_of(error), "mape": float(np.mean(np.abs(error))),
            "within_10": _within(error)}


def refit(profile: LatencyProfile, seed: int = 0) -> LatencyProfile:
    """The profile's forests fitted again on the samples it keeps (no measuring)."""
    samples = profile.meta.get("samples") or {}
    if not samples:
        raise ConvcostError("This latency profile keeps no samples to refit. Received: a "
                            "profile without 'samples'.")
    kinds = {}
    for kind, rows in samples.items():
        shapes = [KernelShape.from_row(row) for row in rows]
        kinds[kind] = fit_kind(shapes, [row["seconds"] for row in rows], batch=profile.batch,
                               threads=profile.threads, device=profile.device, seed=seed)
    refitted = LatencyProfile(profile.runtime, profile.threads, profile.batch, profile.device,
                              profile.fixed_seconds, kinds, profile.clock, dict(profile.meta),
                              profile.scale, profile.offset, profile.overflow)
    chains = (profile.meta.get("composition") or {}).get("models")
    return compose(refitted, chains) if chains else refitted


def fit_scale(kernel_sums: Sequence[float], measured: Sequence[float], fixed: float,
              counts: Sequence[int] | None = None) -> dict[str, Any]:
    """How whole models compose from their kernels, fitted on generated chains of kernels
    (never zoo models): a factor ``s`` on the kernels' sum, and with ``counts`` (kernels per
    chain) also a time ``c`` added per kernel, so that ``fixed + s * sum + c * count`` is
    closest to the measured time in relative terms; with their leave-one-out errors.

    A kernel timed alone in its own one-op model is not exactly the same kernel inside a
    model (its input arrives warm in cache, the runtime's per-op work differs, the fixed cost
    taken off each sample was one measurement), and the trees' own errors are correlated across
    the kernels of a model; the factor absorbs the proportional part, the per-kernel time the
    part that comes with every op (TensorFlow: ~13 us per kernel at batch 32). Least squares
    on the relative error (scikit-learn; the factor non-negative).

    The form with the lower leave-one-out RMSPE is applied only where it earns its place: at
    least :data:`MIN_GAIN` below the plain sum's, and its held-out errors smaller than the plain
    sum's chain by chain beyond chance (:func:`_significance`, p under :data:`MAX_P_VALUE`;
    LiteRT run G3's factor of 1.147 cut the chains' RMSPE from 26.3 % to 23.9 % at p = 0.61, and
    made 19 of 30 models 11-30 % too slow). The factor alone is always applied under 3 chains,
    where nothing can be held out; the per-kernel time needs 4. Otherwise ``scale`` is 1,
    ``offset`` 0, and the fitted ones are only reported.

    Returns: ``scale`` and ``offset`` (what ``predict`` uses), ``fitted_scale``,
    ``fitted_offset``, ``applied``, ``chains``, and over the chains the RMSPE and share within
    ±10 % of the plain sum (``*_unscaled``) and of the applied form, leave-one-out (``rmspe``,
    ``within_10``; NaN under 3 chains), and the test's ``p_value``.
    """
    import numpy as np

    sums, times = np.asarray(kernel_sums, dtype=float), np.asarray(measured, dtype=float)
    y, plain = (times - fixed) / times, (fixed + sums) / times - 1.0
    forms = [_composition_fit((sums / times)[:, None], y, positive=True)]
    if counts is not None and len(times) >= 4:
        x = np.column_stack([sums / times, np.asarray(counts, dtype=float) / times])
        forms.append(_composition_fit(x, y, positive=False))
    coefficients, held_out = min(forms, key=lambda form: _or_inf(rmspe_of(form[1])))
    scale, offset = (coefficients[0] or 1.0), (coefficients[1] if len(coefficients) > 1 else 0.0)
    chains = len(times)
    significance = _significance(held_out, plain)
    applied = 0 < chains < 3 or (rmspe_of(held_out) < rmspe_of(plain) - MIN_GAIN
                                 and significance < MAX_P_VALUE)
    return {"chains": chains, "rmspe_unscaled": rmspe_of(plain), "within_10_unscaled":
            _within(plain), "scale": scale if applied else 1.0, "fitted_scale": scale,
            "offset": offset if applied else 0.0, "fitted_offset": offset,
            "applied": applied, "rmspe": rmspe_of(held_out), "within_10": _within(held_out),
            "p_value": significance}


def _significance(held_out: Any, plain: Any) -> float:
    """The one-sided Wilcoxon signed-rank p-value that the held-out errors are smaller than
    the plain sum's, chain by chain (scipy); 0 under :data:`MIN_TESTED_CHAINS`, where the
    test cannot reach :data:`MAX_P_VALUE` and the leave-one-out RMSPE alone decides."""
    import numpy as np
    from scipy.stats import wilcoxon

    if len(held_out) < MIN_TESTED_CHAINS:
        return 0.0
    smaller, larger = np.abs(held_out), np.abs(plain)
    if np.all(smaller == larger):
        return 1.0
    return float(wilcoxon(smaller, larger, alternative="less").pvalue)


def _composition_fit(x: Any, y: Any, positive: bool) -> tuple[list[float], Any]:
    """Coefficients of ``y ~ x`` (no intercept) and the leave-one-out errors (none under 3
    rows); no rows: a factor of 1."""
    import numpy as np
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    if not len(y):
        return [1.0], np.array([])
    regression = LinearRegression(positive=positive, fit_intercept=False)
    coefficients = [float(c) for c in regression.fit(x, y).coef_]
    held_out = (cross_val_predict(regression, x, y, cv=LeaveOneOut()) - y if len(y) >= 3
                else np.array([]))
    return coefficients, held_out


def compose(profile: LatencyProfile, chains: Sequence[dict[str, Any]]) -> LatencyProfile:
    """``profile`` with its :attr:`~LatencyProfile.scale` and :attr:`~LatencyProfile.offset`
    fitted on measured chains.

    Each chain is ``{"name", "seconds", "kernels": [{"kind", **KernelShape fields}]}``: a
    generated model's measured time and its kernels, kept in the profile's ``composition`` so
    that :func:`refit` can fit them again.
    """
    plain = dataclasses.replace(profile, scale=1.0, offset=0.0)
    predicted = [predict_kernels(plain, chain_kernels(chain)) for chain in chains]
    fitted = fit_scale([sum(p.seconds for p in kernels) for kernels in predicted],
                       [chain["seconds"] for chain in chains], profile.fixed_seconds,
                       [sum(_predicted(profile, p.kernel) for p in kernels)
                        for kernels in predicted])
    meta = {**profile.meta, "composition": {**fitted, "models": list(chains)}}
    return dataclasses.replace(profile, scale=fitted["scale"], offset=fitted["offset"],
                               meta=meta)


def _predicted(profile: LatencyProfile, kernel: Kernel) -> bool:
    """Whether ``profile`` has a predictor for ``kernel`` (what the factor and the time per
    kernel apply to; the others take 0 s or their roofline bound)."""
    return kernel.kind in profile.kinds and kernel.shape is not None


def chain_kernels(chain: dict[str, Any]) -> list[Kernel]:
    """The kernels a chain of :func:`compose` keeps, as ``predict_kernels`` takes them."""
    return [Kernel(row["kind"], KernelShape.from_row(row), (index,))
            for index, row in enumerate(chain["kernels"])]


def rmspe_of(errors: Any) -> float:
    """Root mean square of relative errors (NaN for none)."""
    import numpy as np

    return float(np.sqrt(np.mean(np.square(errors)))) if len(errors) else math.nan


def _within(errors: Any, share: float = 0.10) -> float:
    import numpy as np

    return float(np.mean(np.abs(errors) <= share)) if len(errors) else math.nan


def _ranges(shapes: Sequence[KernelShape]) -> dict[str, list[float]]:
    ranges = {name: [min(getattr(s, name) for s in shapes), max(getattr(s, name) for s in shapes)]
              for name in RANGE_FIELDS}
    ranges["flops"] = [min(s.flops for s in shapes), max(s.flops for s in shapes)]
    return ranges


def _categories(shapes: Sequence[KernelShape]) -> dict[str, list[int]]:
    return {name: sorted({getattr(s, name) for s in shapes}) for name in CATEGORY_FIELDS}


# --- predicting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelPrediction:
    """One kernel's predicted seconds and why it may not be trusted (empty: in range);
    ``overflow_seconds``: the part of ``seconds`` for weights read from memory (see
    :class:`CacheOverflow`)."""

    kernel: Kernel
    seconds: float
    out_of_range: tuple[str, ...] = ()
    overflow_seconds: float = 0.0


def predict_shapes(model: KindModel, shapes: Sequence[KernelShape], batch: int, threads: int,
                   device: DeviceProfile) -> list[float]:
    """Predicted seconds of kernels of one kind (one call to its trees)."""
    import numpy as np

    if not shapes:
        return []
    x = np.array([features(s, batch, threads, device) for s in shapes])
    roof = np.array([roofline_seconds(s, batch, device) for s in shapes])
    terms = np.array([work_terms(s, batch) for s in shapes])
    inputs, reference = _tree_inputs(x, terms, model.baseline, roof)
    return [float(v) for v in from_target(model.estimator.predict(inputs), reference)]


def predict_kernels(profile: LatencyProfile, kernels: Sequence[Kernel]) -> list[KernelPrediction]:
    """Each kernel's predicted seconds under ``profile``; ``none`` kernels take 0 s.
    ``kernels`` are one model's: where their weights exceed the cache, each kernel's weights
    cost :attr:`LatencyProfile.overflow` more."""
    results: dict[int, KernelPrediction] = {}
    by_kind: dict[str, list[int]] = {}
    for index, kernel in enumerate(kernels):
        if kernel.kind == "none":
            results[index] = KernelPrediction(kernel, 0.0)
        elif not _predicted(profile, kernel):
            results[index] = _roofline_only(profile, kernel)
        else:
            by_kind.setdefault(kernel.kind, []).append(index)
    for kind, indices in by_kind.items():
        model = profile.kinds[kind]
        shapes = [kernels[i].shape for i in indices]
        seconds = predict_shapes(model, shapes, profile.batch,  # type: ignore[arg-type]
                                 profile.threads, profile.device)
        for i, value in zip(indices, seconds):
            results[i] = KernelPrediction(
                kernels[i], max(value * profile.scale + profile.offset, MIN_SECONDS),
                out_of_range(model, kernels[i]))
    return _with_overflow(profile.overflow, [results[i] for i in range(len(kernels))])


def _with_overflow(overflow: CacheOverflow | None,
                   predictions: list[KernelPrediction]) -> list[KernelPrediction]:
    """``predictions`` with the cost of reading weights from memory added (see
    :class:`CacheOverflow`); unchanged where the model's weights fit in the cache."""
    total = model_weights(p.kernel for p in predictions)
    if overflow is None or not overflow.spills(total):
        return predictions
    return [dataclasses.replace(p, seconds=p.seconds + extra, overflow_seconds=extra)
            if (extra := overflow.extra_seconds(total, _weights(p.kernel))) else p
            for p in predictions]


def model_weights(kernels: Iterable[Kernel]) -> int:
    """The weights (elements) of a model's kernels: what must fit in the cache."""
    return sum(_weights(kernel) for kernel in kernels)


def _weights(kernel: Kernel) -> int:
    return kernel.shape.weights if kernel.shape is not None else 0


def _roofline_only(profile: LatencyProfile, kernel: Kernel) -> KernelPrediction:
    seconds = (roofline_seconds(kernel.shape, profile.batch, profile.device)
               if kernel.shape is not None else 0.0)
    why = kernel.note or f"no predictor for kind {kernel.kind}"
    return KernelPrediction(kernel, seconds, (f"{why} (roofline bound)",))


def out_of_range(model: KindModel, kernel: Kernel) -> tuple[str, ...]:
    """The shape features of ``kernel`` outside what its kind was calibrated on."""
    shape = kernel.shape
    assert shape is not None
    outside = [f"{name}={getattr(shape, name)} not in [{low:g}, {high:g}]"
               for name, (low, high) in model.ranges.items()
               if not low <= getattr(shape, name) <= high]
    outside += [f"{name}={getattr(shape, name)} not calibrated"
                for name, seen in model.categories.items() if getattr(shape, name) not in seen]
    return tuple(outside)


# --- saving and loading ----------------------------------------------------------------------


def save(profile: LatencyProfile, path: str | Path) -> Path:
    """Write the profile: ``path`` (JSON) and the forests beside it (``.joblib``)."""
    import joblib
    import sklearn

    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    blob = target.with_suffix(".joblib")
    partial = blob.with_suffix(".joblib.part")
    joblib.dump({"sklearn": sklearn.__version__,
                 "estimators": {k: m.estimator for k, m in profile.kinds.items()}}, partial)
    partial.replace(blob)
    document = to_json(profile, blob.name, _sha256(blob), sklearn.__version__)
    write_text(target, json.dumps(document, indent=2) + "\n", make_parents=True)
    return target


def to_json(profile: LatencyProfile, blob: str, digest: str,
            sklearn_version: str) -> dict[str, Any]:
    """The JSON side of a profile (everything but the fitted forests)."""
    return {"format": FORMAT_VERSION, "kind": "convcost latency profile",
            "runtime": profile.runtime, "threads": profile.threads, "batch": profile.batch,
            "fixed_seconds": profile.fixed_seconds, "scale": profile.scale,
            "offset": profile.offset,
            "overflow": profile.overflow.to_json() if profile.overflow else None,
            "clock": profile.clock,
            "device": profile.device.to_dict(),
            "model_file": blob, "model_sha256": digest, "sklearn": sklearn_version,
            "kinds": {k: {"samples": m.samples, "cv": m.cv, "ranges": m.ranges,
                          "categories": m.categories, "method": m.method,
                          "baseline": m.baseline} for k, m in profile.kinds.items()},
            **profile.meta}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(path: str | Path, *, command: str) -> LatencyProfile:
    """Read a profile written by :func:`save`; ``command`` is the ``convcost calibrate ...``
    line a missing or broken profile's one-line error tells the user to run."""
    require_sklearn()
    file = Path(path).expanduser()
    if not file.exists():
        raise ConvcostError(f"No latency profile for this setting; run '{command}' (about 10 "
                            f"minutes) to make one. Received: {str(file)!r}.")
    data = read_json(file, what="latency profile", max_bytes=MAX_PROFILE_BYTES,
                     advice=f"; run '{command}' again")
    return _from_json(data, file, command)


def _from_json(data: Any, file: Path, command: str) -> LatencyProfile:
    def broken(reason: str) -> ConvcostError:
        return ConvcostError(f"The latency profile is broken ({reason}); run '{command}' "
                             f"again. Received: {str(file)!r}.")

    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise broken(f"not a format {FORMAT_VERSION} latency profile")
    try:
        estimators = _estimators(file.parent / str(data["model_file"]), data["model_sha256"])
        device = data["device"]
        kinds = {kind: KindModel(estimators[kind], int(v["samples"]), v["ranges"],
                                 v["categories"], v["cv"], _coefficients(v["baseline"]),
                                 str(v["method"]))
                 for kind, v in data["kinds"].items()}
        profile = LatencyProfile(str(data["runtime"]), int(data["threads"]), int(data["batch"]),
                                 DeviceProfile(float(device["peak_flops"]),
                                               float(device["bandwidth"]),
                                               name=str(device.get("name", ""))),
                                 float(data["fixed_seconds"]), kinds,
                                 str(data.get("clock", "wall")),
                                 scale=float(data.get("scale", 1.0)),
                                 offset=float(data.get("offset", 0.0)),
                                 overflow=_overflow(data.get("overflow")))
    except (KeyError, TypeError, ValueError, ConvcostError) as error:
        raise broken(f"{type(error).__name__}: {one_line(error, 120)}") from None
    profile.meta = {k: v for k, v in data.items() if k in ("machine", "versions", "date",
                                                             "calibration_seconds", "loadavg",
                                                             "samples", "composition",
                                                             "sentinel")}
    return profile


def _overflow(value: Any) -> CacheOverflow | None:
    """A saved :class:`CacheOverflow` (None: not measured)."""
    if value is None:
        return None
    names = [f.name for f in dataclasses.fields(CacheOverflow)]
    if not isinstance(value, dict) or set(value) != set(names):
        raise ConvcostError(f"an overflow of the fields {', '.join(names)} expected")
    return CacheOverflow(int(value["cache_bytes"]), float(value["seconds_per_byte"]),
                         int(value["itemsize"]), int(value["small_bytes"]),
                         float(value["small_seconds"]), int(value["large_bytes"]),
                         float(value["large_seconds"]))


def _coefficients(value: Any) -> list[float] | None:
    """A kind's saved baseline: None (roofline) or its work-term weights."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != len(work_terms(_UNIT, 1)):
        raise ConvcostError(f"a baseline of {len(work_terms(_UNIT, 1))} weights expected")
    return [float(v) for v in value]


def _estimators(blob: Path, digest: str) -> dict[str, Any]:
    import joblib

    if not blob.is_file():
        raise ConvcostError(f"its model file {blob.name} is missing")
    if _sha256(blob) != digest:
        raise ConvcostError(f"{blob.name} does not match its checksum")
    loaded = joblib.load(blob)
    return dict(loaded["estimators"])


def require_sklearn() -> None:
    """Fail in one line when scikit-learn (the predict extra) is not installed."""
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        raise ConvcostError("Latency prediction needs the predict extra: pip install "
                            "'convcost[predict]' (scikit-learn). Received: sklearn is not "
                            "installed.")


def default_path(runtime: str, threads: int, batch: int) -> Path:
    """Where ``convcost calibrate`` saves a profile: beside the device profile
    (``~/.config/convcost/latency-litert-t1-b1.json``)."""
    from convcost.analysis.devices import default_profile_path

    return default_profile_path().parent / f"{profile_key(runtime, threads, batch)}.json"


def calibrate_command(runtime: str, threads: int, batch: int) -> str:
    """The ``convcost calibrate`` line that makes the profile of this setting."""
    return f"convcost calibrate --runtime {runtime} --threads {threads} --batch-size {batch}"
