"""How long does ``convcost analyze llama2_70b --seq-len 4096`` take, and how much memory?

Run: python benchmarks/llm_scale.py [--runs N] [--model NAME] [--seq-len L]

Each measurement is a fresh subprocess, so it includes interpreter start-up and imports: what a
user waits for. Next to the command it times the imports alone (``python -c "import keras"``
and ``import keras_hub``), so the cost of convcost itself is the difference, and then the
phases inside one process (imports, shape-only build, analysis). Peak resident memory is the
child's ``ru_maxrss`` (Linux: KiB), from ``os.wait4`` after it exits; every child is the only
one running. Prints the median and the spread of the runs. Timings on a shared machine are
noisy: the load average is printed with them.

The model is built shape-only (no weight allocated: Llama-2-70B would need 276 GB of float32)
and every decoder block after the first is a copy of the first's trace, which is what keeps the
analysis in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PHASES = """
import json, sys, time
start = time.perf_counter()
import keras, keras_hub
import convcost
from convcost.count.walker import analyze
from convcost.models import zoo
imported = time.perf_counter()
with convcost.shape_only():
    model = zoo.build(sys.argv[1])
built = time.perf_counter()
report = analyze(model, seq_len=int(sys.argv[2]))
done = time.perf_counter()
print(json.dumps({"imports": imported - start, "build": built - imported,
                  "analyze": done - built, "macs": report.macs}))
"""


def run_once(args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one fresh subprocess."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "100"}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def measure(label: str, args: list[str], runs: int) -> None:
    """Print median and range of wall time and peak RSS over ``runs`` runs (after a warm-up)."""
    run_once(args)  # warm the file cache; not counted
    results = [run_once(args) for _ in range(runs)]
    times = [r[0] for r in results]
    rss = [r[1] for r in results]
    code = results[-1][2]
    print(f"{label:<58}{statistics.median(times):>8.2f}s ({min(times):.2f}-{max(times):.2f})"
          f"{statistics.median(rss):>9.0f} MB{'' if code == 0 else f'  exit {code}'}")


def phases(model: str, seq_len: int, runs: int) -> None:
    """Median seconds of the phases inside one process: imports, shape-only build, analysis."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    found = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", PHASES, model, str(seq_len)], env=env,
                              capture_output=True, text=True, check=True)
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    medians = {key: statistics.median(f[key] for f in found)
               for key in ("imports", "build", "analyze")}
    print(f"in one process (median): imports {medians['imports']:.2f}s, shape-only build "
          f"{medians['build']:.2f}s, analysis {medians['analyze']:.2f}s; "
          f"{found[-1]['macs']:,} MACs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per command")
    parser.add_argument("--model", default="llama2_70b", help="a zoo text model")
    parser.add_argument("--seq-len", type=int, default=4096, help="tokens per sequence")
    options = parser.parse_args()
    print(f"{'':<58}{'wall (median, range)':>22}{'peak RSS':>12}   ({options.runs} runs, "
          f"load average {os.getloadavg()[0]:.1f})")
    measure('python -c "import keras"', ["-c", "import keras"], options.runs)
    measure('python -c "import keras, keras_hub"', ["-c", "import keras, keras_hub"],
            options.runs)
    command = ["analyze", options.model, "--seq-len", str(options.seq_len), "--format", "json"]
    measure("convcost " + " ".join(command), ["-m", "convcost", *command], options.runs)
    phases(options.model, options.seq_len, options.runs)


if __name__ == "__main__":
    main()
