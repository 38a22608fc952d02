"""Predicted (MAC ratio) vs measured speed-up of naive, v1 and v2 on every runtime: the table of
docs/results/runtimes.md.

Run: python benchmarks/runtimes.py [--data mnist.npz] [--train-subset 12000] [--train-epochs 2]
     [--models DIR] [--repeats 200] [--repeats-64 30] [--out docs/results/runtimes.json]
     [--plot docs/results/img/runtimes-speedup.png]

What it does, in order (each phase records the load average and how busy the machine was):

1. trains naive, v1 and v2 with convcost's training loop (Adam 1e-3, batch 128, seed 0) on
   ``--train-subset`` MNIST images for ``--train-epochs`` epochs: the training speed-up is the
   ratio of steady epoch times (median of epochs 2..N); the trained models are saved and used
   below (``--models DIR`` skips training and loads DIR/naive.keras, ...);
2. times them at batch 1 on tf (tf.function, TensorFlow's own threads), litert fp32 and
   litert-int8 (1 and 2 threads), and jax and torch (Keras' other backends, each in a child
   process) when installed, the in-process ones interleaved
   (``convcost bench --runtime``), with each runtime's test accuracy on the 10,000 test images;
3. times them at batch 64 on tf, litert fp32 (1 thread), jax and torch;
4. measures the matmul peak (median float32 2048x2048 matmul, TensorFlow) beside them;
5. prints the per-runtime tables and the summary table (Markdown), writes the JSON and the plot.

Timings on a shared machine are noisy; the JSON keeps every call's time, the load, and what
fraction of the CPUs other processes used, so a reader can judge.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
NETS = ("naive", "v1", "v2")


class Phase:
    """Wall and CPU time of this process over a phase, the load average and the share of the
    machine's CPU time other processes used (from /proc/stat)."""

    def __init__(self, name: str, log: list[dict[str, Any]]) -> None:
        self.name, self.log = name, log

    def __enter__(self) -> Phase:
        from convcost.measure.machine import load_average

        self.load, self.stat = load_average(), _cpu_stat()
        self.wall, self.cpu = time.perf_counter(), _own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        from convcost.measure.machine import load_average

        wall, cpu = time.perf_counter() - self.wall, _own_cpu() - self.cpu
        busy, total = (after - before for after, before in zip(_cpu_stat(), self.stat))
        cores = os.cpu_count() or 1
        others = max(0.0, busy / max(total, 1) * cores - cpu / max(wall, 1e-9))
        entry = {"phase": self.name, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                 "machine_busy_pct": round(100 * busy / max(total, 1), 1),
                 "other_processes_cores": round(others, 2), "load_before": self.load,
                 "load_after": load_average()}
        self.log.append(entry)
        print(f"[phase] {json.dumps(entry)}", file=sys.stderr, flush=True)


def _cpu_stat() -> tuple[int, int]:
    try:
        with open("/proc/stat", encoding="utf-8") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(values) - values[3] - values[4], sum(values)


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def train(prepared: Any, epochs: int, folder: Path, phases: list) -> list[dict[str, Any]]:
    """Train the nets; return their training summaries (speed-ups against naive)."""
    from convcost.measure import experiment
    from convcost.measure.machine import machine_info

    config = experiment.make_config(epochs=epochs, batch_size=128)
    results = experiment.ResultsFolder(folder, experiment.run_meta(config, prepared,
                                                                   machine_info()))
    with Phase(f"train {', '.join(NETS)}: {epochs} epochs on {prepared.train_samples} images",
               phases):
        experiment.run_experiment(list(NETS), prepared, config, results)
    return [experiment.summary_dict(s, None) for s in experiment.summarize(results.runs)]


def infer(models: Path, prepared: Any, args: argparse.Namespace,
          phases: list) -> list[Any]:
    """Rows of the batch-1 and batch-64 timings of the saved models."""
    from convcost.measure.bench import ModelEntry, RuntimeSettings, bench_runtimes
    from convcost.models.loader import load_model

    entries = [ModelEntry(n, load_model(models / f"{n}.keras"), True) for n in NETS]
    others = [name for name in ("jax", "torch") if importlib.util.find_spec(name)]
    plans = [(1, ["tf", "litert", "litert-int8", *others], (1, 2), args.repeats, prepared),
             (64, ["tf", "litert", *others], (1,), args.repeats_64, None)]
    rows = []
    for batch, runtimes, threads, repeats, data in plans:
        settings = RuntimeSettings(batch, threads, repeats, args.warmup,
                                   min(args.rounds, repeats), data)
        with Phase(f"inference batch {batch}: {', '.join(runtimes)}", phases):
            rows += bench_runtimes(entries, runtimes, settings)
    return rows


def summary_rows(training: list[dict[str, Any]], runs: list[dict[str, Any]],
                 peak: float) -> list[dict[str, Any]]:
    """One row per setting: latency per net, measured speed-ups, naive's GFLOP/s."""
    table = []
    if training:
        by = {t["model"]: t for t in training}
        table.append({"setting": "TF training, batch 128 (steady epoch, s)",
                      "seconds": {n: by[n]["steady_epoch_s"] for n in NETS},
                      "speedup": {n: by[n]["measured_speedup"] for n in NETS},
                      "naive_gflops": by["naive"]["achieved_gflops"],
                      "accuracy": {n: by[n]["final_test_accuracy"] for n in NETS}})
    for run in runs:
        models = {m["model"]: m for m in run["models"]}
        table.append({"setting": f"{_label(run)} (ms)",
                      "seconds": {n: models[n]["median_s"] * 1e3 for n in NETS},
                      "speedup": {n: models[n]["measured_speedup"] for n in NETS},
                      "naive_gflops": models["naive"]["achieved_gflops"],
                      "accuracy": {n: models[n]["accuracy"] for n in NETS}})
    for row in table:
        row["naive_share_of_peak"] = row["naive_gflops"] / peak if peak else None
    return table


LABELS = {"tf": "TF inference", "litert": "LiteRT fp32", "litert-int8": "LiteRT int8",
          "jax": "JAX/XLA inference", "torch": "torch inference"}


def _label(run: dict[str, Any]) -> str:
    threads = run["threads"]
    counted = f", {threads} thread{'s' if threads != '1' else ''}" if threads.isdigit() else ""
    return f"{LABELS.get(run['runtime'], run['runtime'])}{counted}, batch {run['batch_size']}"


def markdown(table: list[dict[str, Any]], predicted: dict[str, float], peak: float) -> str:
    lines = [f"| setting | naive | v1 | v2 | v1 speed-up (predicted {predicted['v1']:.2f}x) "
             f"| v2 speed-up (predicted {predicted['v2']:.2f}x) | naive GFLOP/s "
             f"(peak {peak:.0f}) |", "| --- |" + " ---: |" * 6]
    for row in table:
        s, x = row["seconds"], row["speedup"]
        lines.append(f"| {row['setting']} | {s['naive']:.3f} | {s['v1']:.3f} | {s['v2']:.3f} | "
                     f"**{x['v1']:.2f}x** | **{x['v2']:.2f}x** | {row['naive_gflops']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="mnist.npz (default: $CONVCOST_MNIST)")
    parser.add_argument("--train-subset", type=int, default=12_000)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with trained naive/v1/v2.keras: skip training")
    parser.add_argument("--repeats", type=int, default=200, help="timed calls at batch 1")
    parser.add_argument("--repeats-64", type=int, default=30, help="timed calls at batch 64")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("results/runtimes"))
    parser.add_argument("--out", type=Path, default=REPO / "docs/results/runtimes.json")
    parser.add_argument("--plot", type=Path,
                        default=REPO / "docs/results/img/runtimes-speedup.png")
    args = parser.parse_args()
    run(args)


def run(args: argparse.Namespace) -> None:
    from convcost.files import write_text
    from convcost.measure import data
    from convcost.measure.machine import load_average, machine_info, versions
    from convcost.measure.probe import peak_matmul
    from convcost.render import RenderOptions, plots
    from convcost.render.runtimes import render, runtime_document

    phases: list[dict[str, Any]] = []
    mnist = data.load_mnist(args.data)
    training: list[dict[str, Any]] = []
    models = args.models
    if models is None:
        subset = data.prepare(mnist, subset=args.train_subset)
        training = train(subset, args.train_epochs, args.work / "train", phases)
        models = args.work / "train" / "models"
    rows = infer(models, data.prepare(mnist, subset=1_000), args, phases)
    with Phase("peak: float32 2048x2048 matmul, median of 10", phases):
        peak = peak_matmul(2048, 10)
    packages = ["tensorflow", "keras", "numpy", "ai-edge-litert", "jax", "jaxlib", "torch"]
    document = runtime_document(rows, peak, machine_info(), versions(packages),
                                {"before": phases[0]["load_before"], "after": load_average()})
    print(render(document, "table", RenderOptions(width=110)))
    predicted = {n: m["predicted_speedup"] for n, m in
                 ((m["model"], m) for m in document["runs"][0]["models"])}
    table = summary_rows(training, document["runs"], peak.gflops)
    print(markdown(table, predicted, peak.gflops))
    document |= {"training": training, "phases": phases, "summary": table,
                 "predicted": predicted, "command": " ".join(sys.argv)}
    write_text(args.out, json.dumps(document, indent=1) + "\n", make_parents=True)
    plots.runtime_speedup_plot([(row["setting"].replace(" (ms)", "").replace(" (steady epoch, s)",
                                                                             ""),
                                 {n: row["speedup"][n] for n in ("v1", "v2")}) for row in table],
                               {n: predicted[n] for n in ("v1", "v2")}, args.plot)
    print(f"wrote {args.out} and {args.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
