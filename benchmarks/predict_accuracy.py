"""How well does ``convcost predict`` predict? Predicted vs measured latency of >= 30 models.

Models: the article nets (naive, v1, v2), keras.applications that convert (weights=None),
and generated variants drawn at random (seeded): MobileNet v1/v2 at a random width alpha and
resolution rho, and ResNet-like nets of random depth and width. Each model is built, analysed
and predicted from the saved latency profile (the prediction alone is timed: it must take
<= 1 s), then converted and timed with the ``bench --runtime`` harness on the profile's clock
(median of ``--repeats`` runs in interleaved rounds, p10/p90 kept, and the wall-clock median
beside it), with the load average before and after, each (on LiteRT) once a sentinel kernel
runs at its usual speed (``--no-sentinel``: at once; see :mod:`convcost.measure.sentinel`).
Prints RMSPE, the share within +-5 % and +-10 %, the worst models and their flagged rows;
writes a JSON file and a scatter plot.

    PYTHONPATH=. python benchmarks/predict_accuracy.py --runtime litert \\
        --json docs/results/predict.json --plot docs/results/img/predict_scatter.png

A benchmark prints; it never asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import random
import time
from pathlib import Path
from typing import Any

APPLICATIONS = ["mobilenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                "efficientnet_v2_b0", "resnet50", "densenet121", "nasnet_mobile"]
ARTICLE = ["naive", "v1", "v2"]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def variants(count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """Random MobileNet v1/v2 (alpha, rho) and ResNet-like (depth, width) models."""
    rng = random.Random(seed)
    drawn = []
    for number in range(count):
        family = ("mobilenet", "mobilenet_v2", "resnet_like")[number % 3]
        if family == "resnet_like":
            blocks = [rng.randint(1, 3) for _ in range(rng.randint(2, 4))]
            drawn.append((f"resnet_like_{number}", {"blocks": blocks,
                                                    "width": rng.choice((16, 24, 32, 48, 64)),
                                                    "rho": rng.choice((64, 96, 128, 160))}))
        else:
            alphas = (0.25, 0.5, 0.75, 1.0) if family == "mobilenet" else (0.35, 0.5, 0.75, 1.0)
            drawn.append((f"{family}_{number}", {"family": family, "alpha": rng.choice(alphas),
                                                 "rho": rng.choice((96, 128, 160, 192, 224))}))
    return drawn


def resnet_like(blocks: list[int], width: int, rho: int, name: str) -> Any:
    """A ResNet-like net: 7x7/2 stem, max pool, stages of basic blocks (3x3 conv-BN-ReLU twice,
    a residual add; the first block of a stage halves the map and doubles the width)."""
    import keras
    from keras import layers

    x = keras.Input((rho, rho, 3))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(width, 7, 2, "same")(x)))
    y = layers.MaxPooling2D(3, 2, "same")(y)
    for stage, count in enumerate(blocks):
        for block in range(count):
            stride = 2 if stage and not block else 1
            filters = width * 2**stage
            z = layers.Conv2D(filters, 3, stride, "same", use_bias=False)(y)
            z = layers.ReLU()(layers.BatchNormalization()(z))
            z = layers.BatchNormalization()(layers.Conv2D(filters, 3, 1, "same",
                                                          use_bias=False)(z))
            if stride != 1 or y.shape[-1] != filters:
                y = layers.BatchNormalization()(layers.Conv2D(filters, 1, stride,
                                                              use_bias=False)(y))
            y = layers.ReLU()(layers.Add()([y, z]))
    y = layers.GlobalAveragePooling2D()(y)
    return keras.Model(x, layers.Dense(1000, activation="softmax")(y), name=name)


def build(name: str, spec: dict[str, Any] | None) -> Any:
    from convcost.models import zoo

    if spec is None:
        return zoo.build(name)
    if "blocks" in spec:
        return resnet_like(spec["blocks"], spec["width"], spec["rho"], name)
    model = zoo.build(spec["family"], alpha=spec["alpha"],
                      input_shape=(spec["rho"], spec["rho"], 3))
    model.name = name
    return model


def measure_one(name: str, spec: dict[str, Any] | None, profile: Any,
                repeats: int, guard: Any = None) -> dict[str, Any]:
    from convcost.analysis.predict import predict_report
    from convcost.count.walker import analyze
    from convcost.measure.convert import ConversionCache
    from convcost.measure.runtimes import prepare, time_runners

    model = build(name, spec)
    gc.collect()  # the last model's conversion left ~200k objects: a 0.6-0.7 s collection
    start = time.perf_counter()
    report = analyze(model)
    prediction = predict_report(report, profile)
    predict_s = time.perf_counter() - start
    before = loadavg()
    runner = prepare(profile.runtime, model, batch_size=profile.batch, threads=profile.threads,
                     cache=ConversionCache())
    waited = guard.waited_s if guard else 0.0
    usual = guard.guard() if guard else True  # wait out a burst of load (measure.sentinel)
    timed = time_runners([runner], repeats, 3, min(10, repeats), profile.clock)[0]
    wall = time_runners([runner], max(5, repeats // 3), 1, 3, "wall")[0]
    flagged = [f"{row.path} ({row.kernel}): {'; '.join(row.flags)[:120]}"
               for row in prediction.rows if row.flags]
    kinds: dict[str, float] = {}
    for row in prediction.rows:
        kinds[row.kernel] = kinds.get(row.kernel, 0.0) + row.predicted_ms
    return {"model": name, "spec": spec, "macs": prediction.macs,
            "predicted_ms": prediction.predicted_ms, "measured_ms": timed.median * 1e3,
            "measured_p10_ms": timed.p10 * 1e3, "measured_p90_ms": timed.p90 * 1e3,
            "wall_median_ms": wall.median * 1e3, "wall_min_ms": wall.min * 1e3,
            "clock": profile.clock, "error": prediction.predicted_ms / (timed.median * 1e3) - 1,
            "predict_seconds": predict_s, "flagged_rows": len(flagged),
            "flagged": flagged[:8], "predicted_ms_by_kind": kinds,
            "load_before": before, "load_after": loadavg(),
            "sentinel_waited_s": (guard.waited_s - waited) if guard else None,
            "sentinel_busy": not usual, "notes": list(prediction.notes),
            "predicted_ms_no_overflow": predict_report(  # the same without weights from memory
                report, dataclasses.replace(profile, overflow=None)).predicted_ms}


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["error"] for r in results]
    n = len(errors)
    return {"models": n, "rmspe": math.sqrt(sum(e * e for e in errors) / n) if n else math.nan,
            "within_5": sum(abs(e) <= 0.05 for e in errors) / n if n else math.nan,
            "within_10": sum(abs(e) <= 0.10 for e in errors) / n if n else math.nan,
            "max_predict_seconds": max((r["predict_seconds"] for r in results), default=0.0)}


def speedups(results: list[dict[str, Any]]) -> dict[str, Any]:
    by = {r["model"]: r for r in results}
    if not all(name in by for name in ARTICLE):
        return {}
    naive = by["naive"]
    return {name: {"predicted": naive["predicted_ms"] / by[name]["predicted_ms"],
                   "measured": naive["measured_ms"] / by[name]["measured_ms"],
                   "mac_ratio": naive["macs"] / by[name]["macs"]} for name in ("v1", "v2")}


def plot(results: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    measured = [r["measured_ms"] for r in results]
    predicted = [r["predicted_ms"] for r in results]
    ax.scatter(measured, predicted, s=18)
    for r in results:
        if abs(r["error"]) > 0.10:
            ax.annotate(r["model"], (r["measured_ms"], r["predicted_ms"]), fontsize=6)
    low, high = min(measured + predicted) * 0.8, max(measured + predicted) * 1.25
    line = [low, high]
    ax.plot(line, line, "k-", lw=0.8, label="predicted = measured")
    ax.plot(line, [v * 1.1 for v in line], "k:", lw=0.6, label="±10 %")
    ax.plot(line, [v * 0.9 for v in line], "k:", lw=0.6)
    ax.set(xscale="log", yscale="log", xlabel="measured ms", ylabel="predicted ms", title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="litert")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--variants", type=int, default=15)
    parser.add_argument("--only", nargs="*", default=None, help="model names to run")
    parser.add_argument("--time-limit", type=float, default=3600.0,
                        help="stop starting new models after this many seconds")
    parser.add_argument("--no-sentinel", action="store_true",
                        help="time each model at once, not after a burst of load has passed")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()

    from convcost.measure.calibrate import sentinel_for
    from convcost.measure.predicting import load_profile
    from convcost.measure.runtimes import set_tf_threads

    profile = load_profile(args.runtime, args.threads, args.batch_size, args.profile)
    if args.runtime == "tf":
        set_tf_threads(args.threads)
    guard = (None if args.no_sentinel
             else sentinel_for(profile.runtime, profile.threads, profile.clock))
    todo = ([(name, None) for name in ARTICLE] + variants(args.variants, 0)
            + [(name, None) for name in APPLICATIONS])
    if args.only:
        todo = [(name, spec) for name, spec in todo if name in args.only]
    start, results = time.perf_counter(), []
    print(f"load before: {loadavg()}; clock {profile.clock}; {len(todo)} models")
    for name, spec in todo:
        if time.perf_counter() - start > args.time_limit:
            print(f"time limit reached; not run: {name}")
            continue
        try:
            result = measure_one(name, spec, profile, args.repeats, guard)
        except Exception as error:  # a model that does not convert is reported, not hidden
            print(f"{name}: FAILED {type(error).__name__}: {str(error)[:200]}")
            continue
        results.append(result)
        print(f"{name:24} predicted {result['predicted_ms']:9.3f} ms  measured "
              f"{result['measured_ms']:9.3f} ms (p10 {result['measured_p10_ms']:.3f}, p90 "
              f"{result['measured_p90_ms']:.3f}; wall median {result['wall_median_ms']:.3f})  "
              f"error {result['error']:+7.1%}  flagged {result['flagged_rows']:3}  "
              f"predict {result['predict_seconds']:.2f} s  load {result['load_after']}"
              + (f"  waited {result['sentinel_waited_s']:.1f} s" if result["sentinel_waited_s"]
                 else "") + ("  BUSY" if result["sentinel_busy"] else ""), flush=True)
        if args.json:
            _write(args, profile, results, guard)
    _write(args, profile, results, guard)
    if guard is not None:
        print(drift(guard.summary(), profile.meta.get("sentinel")))
    stats = summary(results)
    print(json.dumps({"summary": stats, "speedups": speedups(results)}, indent=2))
    for r in sorted(results, key=lambda r: -abs(r["error"]))[:6]:
        top = sorted(r["predicted_ms_by_kind"].items(), key=lambda kv: -kv[1])[:3]
        print(f"worst: {r['model']} {r['error']:+.1%}; predicted time by kernel kind {top}; "
              f"flagged {r['flagged'][:2]}")
    if args.plot and results:
        plot(results, args.plot, f"{args.runtime}, {args.threads} thread, batch "
                                 f"{args.batch_size} ({profile.clock} clock)")


def _meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The profile's provenance without its samples and chains (those stay in the profile)."""
    kept = {k: v for k, v in meta.items() if k not in ("samples", "composition")}
    if meta.get("composition"):
        kept["composition"] = {k: v for k, v in meta["composition"].items() if k != "models"}
    return kept


def drift(now: dict[str, Any], then: dict[str, Any] | None) -> str:
    """The sentinel's waits in this run, and its usual time now against the calibration's."""
    line = (f"sentinel: {now['waits']} models waited {now['waited_s']:.1f} s for a burst of load "
            f"to pass, {now['busy']} timed in one; usual {now['usual_seconds'] * 1e6:.1f} us")
    if then and then.get("usual_seconds"):
        ratio = now["usual_seconds"] / then["usual_seconds"]
        line += (f", {then['usual_seconds'] * 1e6:.1f} us when calibrated (the machine runs "
                 f"{ratio:.3f}x the calibration's time)")
    return line


def _write(args: argparse.Namespace, profile: Any, results: list[dict[str, Any]],
           guard: Any = None) -> None:
    if args.json is None:
        return
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {"runtime": args.runtime, "threads": args.threads, "batch": args.batch_size,
                "clock": profile.clock, "profile_meta": _meta(profile.meta),
                "summary": summary(results) if results else {}, "speedups": speedups(results),
                "sentinel": guard.summary() if guard else None,
                "results": results}
    args.json.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
