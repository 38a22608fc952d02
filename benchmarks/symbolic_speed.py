"""How long does ``analyze --symbolic`` take to produce a model's formula, and where does it go?

Run: python benchmarks/symbolic_speed.py [model ...]
     (default: v1 mobilenet_v2 resnet50 gpt2 llama2_7b)

For each zoo model: the time to derive and prove the formula (after the analysed size's own
build), how many reports it took (``fast``: the one shape-only build re-shaped through the
walker; ``fresh``: a new build, for the minimum and the held-back proof), and their share of
the time. Keras is imported (and warmed up on v1) before anything is timed. A keras-hub text
model is a family over its sequence length L: one shape-only build, re-shaped for every report
(so its "fresh" reports are re-shapes too).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(function: Callable[[Mapping[str, int]], Any], log: list[tuple[str, float]],
          tag: str) -> Callable[[Mapping[str, int]], Any]:
    def wrapper(sizes: Mapping[str, int]) -> Any:
        start = time.perf_counter()
        result = function(sizes)
        log.append((tag, time.perf_counter() - start))
        return result

    return wrapper


def one(name: str) -> None:
    from convcost.analysis import scaling
    from convcost.models import zoo
    from convcost.theory.model import derive

    start = time.perf_counter()
    family = (scaling.text_family(name) if zoo.entry(name).seq_len
              else scaling.zoo_family(name))
    base = time.perf_counter() - start
    log: list[tuple[str, float]] = []
    start = time.perf_counter()
    formula = derive(timed(family.sample, log, "fast"), family.names,
                     check=timed(family.check, log, "fresh"), model=family.report.model,
                     base=family.report, maximum=family.maximum)
    total = time.perf_counter() - start
    parts = {tag: [s for t, s in log if t == tag] for tag in ("fast", "fresh")}
    spent = "  ".join(f"{tag} {len(times)} reports {sum(times):5.2f} s" for tag, times in
                      parts.items())
    print(f"{name:<14} base build {base:5.2f} s  formula {total:5.2f} s  ({spent})")
    print(f"{'':<14} MACs = {formula.macs}   [{formula.domain.text}]")


def main(names: list[str]) -> None:
    import convcost
    from convcost.models import zoo

    with convcost.shape_only():
        zoo.build("v1")  # import and warm up Keras outside the timings
    for name in names:
        one(name)


if __name__ == "__main__":
    main(sys.argv[1:] or ["v1", "mobilenet_v2", "resnet50", "gpt2", "llama2_7b"])
