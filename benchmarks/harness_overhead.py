"""Does the training harness slow training down? Harness vs a plain ``model.fit``, same settings.

Run: python benchmarks/harness_overhead.py [--data mnist.npz] [--subset 10000] [--epochs 3]
     [--model v1] [--batch-size 128] [--pipelines tfdata,arrays] [--rounds 1]

For each input pipeline, and each round, two fits of a freshly built model with the same
seed, optimizer (Adam 1e-3) and data:

- *plain*: ``model.fit(..., verbose=0)`` with one bare callback that only reads
  ``time.perf_counter()`` at epoch begin and end;
- *harness*: :func:`convcost.measure.experiment.run_experiment`, i.e. the epoch timer, a test-set
  evaluation after every epoch (timed apart), CSV/JSON rewritten after every epoch and a rich
  progress bar advanced after every batch.

Printed per run: every epoch's time, the median of epochs 2..N (steady state), the wall time
around fit, and what of it the epochs and evaluations do not explain. Short by default
(10,000 images): it is a check of the harness, not a training run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def plain_fit(name: str, prepared, config) -> tuple[list[float], float]:
    """Epoch times and fit wall time of a bare ``model.fit``."""
    import keras

    from convcost.measure import experiment
    from convcost.models import zoo

    times: list[float] = []

    class Stamps(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = zoo.build(name)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(**experiment.fit_inputs(prepared, config), epochs=config.epochs, verbose=0,
              callbacks=[Stamps()])
    return times, time.perf_counter() - start


def harness_fit(name: str, prepared, config) -> tuple[list[float], float, object]:
    """Epoch times, fit wall time and fit timing of the harness (files in a temp folder)."""
    from rich.console import Console
    from rich.progress import Progress

    from convcost.measure import experiment

    with tempfile.TemporaryDirectory() as folder_path:
        folder = experiment.ResultsFolder(Path(folder_path), {})
        with Progress(console=Console(stderr=True)) as progress:
            (run,) = experiment.run_experiment([name], prepared, config, folder,
                                               progress=progress)
    return [row.train_s for row in run.rows], run.timing.fit_s, run.timing


def report(label: str, times: list[float], fit_s: float, timing=None) -> None:
    steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
    epochs = " ".join(f"{t:6.2f}" for t in times)
    line = f"{label:<18} epochs [{epochs}] s  steady {steady:6.3f} s  fit {fit_s:6.2f} s"
    if timing is not None:
        line += (f"  (eval {timing.eval_s:.2f}, setup {timing.setup_s:.2f}, bookkeeping "
                 f"{timing.bookkeeping_s:.2f}, after on_train_end {timing.return_s:.2f} s "
                 f"with {timing.return_cpu_s:.2f} CPU s)")
        if timing.return_stack:
            line += f"\n{'':<18} main thread after on_train_end: {timing.return_stack}"
    else:
        line += f"  (fit - epochs {fit_s - sum(times):.2f} s)"
    print(line, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="mnist.npz (default: $CONVCOST_MNIST)")
    parser.add_argument("--subset", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--model", default="v1")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pipelines", default="tfdata,arrays")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)

    from convcost.measure import bench, data, experiment

    prepared = data.prepare(data.load_mnist(args.data), subset=args.subset, test_subset=None)
    info = bench.machine_info()
    print(f"{info['cpu']}, {info['usable_cpus']} CPUs, TF {info['tensorflow']}, Keras "
          f"{info['keras']}; {args.model}, {prepared.train_samples} images, batch "
          f"{args.batch_size}, {args.epochs} epochs, Adam 1e-3; load average "
          f"{os.getloadavg()[0]:.2f}")
    for _ in range(args.rounds):
        for pipeline in args.pipelines.split(","):
            config = experiment.make_config(epochs=args.epochs, batch_size=args.batch_size,
                                            pipeline=pipeline)
            report(f"plain   {pipeline}", *plain_fit(args.model, prepared, config))
            report(f"harness {pipeline}", *harness_fit(args.model, prepared, config))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
