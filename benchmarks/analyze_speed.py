"""How much does analyze() cost next to building the model and count_params()?

Run: python benchmarks/analyze_speed.py [model ...]   (default: v1 mobilenet_v2 resnet50)
Prints the median of repeated calls; analyze() must be near-free next to the build.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(names: list[str]) -> None:
    from convcost import analyze
    from convcost.models import zoo

    print(f"{'model':<14}{'build':>10}{'count_params':>14}{'analyze':>10}{'analyze/build':>15}")
    for name in names:
        build = median_seconds(lambda n=name: zoo.build(n), 3)
        model = zoo.build(name)
        count = median_seconds(model.count_params, 20)
        walk = median_seconds(lambda m=model: analyze(m), 20)
        print(f"{name:<14}{build * 1e3:>8.0f}ms{count * 1e3:>12.2f}ms{walk * 1e3:>8.2f}ms"
              f"{walk / build:>14.1%}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["v1", "mobilenet_v2", "resnet50"])
