"""How long do convcost's commands take, next to plain Python building v1 and printing summary()?

Run: python benchmarks/cli_speed.py [--runs N]   (default 5 runs per command)

Each command runs as a fresh subprocess (``python -m convcost ...``, the same as the
``convcost`` script), so the time includes interpreter start-up and imports: what a user
waits for. Prints the median and the spread (min-max) of the runs. The baseline is a plain
``python -c`` that builds the same v1 model with ``convcost.models.zoo.build("v1")`` and calls
``model.summary()``; ``analyze v1`` cannot be much faster than it, since both import
TensorFlow and build the model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BASELINE = "from convcost.models import zoo; zoo.build('v1').summary()"
COMMANDS: list[tuple[str, list[str]]] = [
    ("convcost --help", ["-m", "convcost", "--help"]),
    ("convcost zoo", ["-m", "convcost", "zoo"]),
    ("convcost formulas", ["-m", "convcost", "formulas"]),
    ("convcost analyze v1 --format json", ["-m", "convcost", "analyze", "v1", "--format", "json"]),
    ("python -c: zoo.build('v1').summary()", ["-c", BASELINE]),
]


def run_once(args: list[str]) -> tuple[float, int]:
    """Seconds of wall time for one subprocess run, and its exit code."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "100"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, env=env, check=False)
    return time.perf_counter() - start, done.returncode


def measure(args: list[str], runs: int) -> tuple[float, float, float, int]:
    """(median, min, max) seconds over ``runs`` runs, after one unmeasured warm-up run."""
    _, code = run_once(args)  # warm the file cache; not counted
    times = [run_once(args)[0] for _ in range(runs)]
    return statistics.median(times), min(times), max(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command")
    runs = parser.parse_args().runs
    print(f"{'command':<40}{'median':>9}{'min':>9}{'max':>9}  exit   ({runs} runs each)")
    for label, args in COMMANDS:
        median, low, high, code = measure(args, runs)
        note = "" if code == 0 else "  (failed: command missing or broken)"
        print(f"{label:<40}{median:>8.2f}s{low:>8.2f}s{high:>8.2f}s  {code:>4}{note}")


if __name__ == "__main__":
    main()
