"""Measured vs predicted decode time per token on this CPU, for keras-hub GPT-2 small and a
small Llama config (random weights, no download).

Run: python benchmarks/decode_cpu.py [--context C] [--runs N] [--profile FILE]

Measured: one ``call_with_cache`` step (one new token, a float32 cache of C + 1 tokens)
compiled once with ``tf.function`` (graph mode, as keras-hub's ``generate`` runs it), timed
``--runs`` times after 3 warm-up runs; median and spread (min, max). The ratio is given for
the median and for the best run: ``probe`` keeps its best run too (the least disturbed by
other processes), so best against bound compares like with like. Predicted: convcost's
roofline bound for the same step on this machine, ``analyze MODEL --decode --context C
--device this_machine`` at float32 (weights and KV cache 32-bit): ``max(FLOPs / peak,
bytes / bandwidth)`` with the peak and bandwidth that ``convcost probe`` measures (measured
here, in process, unless ``--profile`` names a saved one). Prints; asserts nothing. Timings on
a shared machine are noisy: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

LLAMA_SMALL = dict(vocabulary_size=32000, num_layers=4, num_query_heads=8,
                   num_key_value_heads=2, hidden_dim=512, intermediate_dim=1536)


def build(name: str) -> Any:
    """GPT-2 small from the zoo's configuration, or the small Llama: random weights."""
    import keras_hub

    from convcost.models import hub

    if name == "gpt2":
        return hub.build("gpt2")
    backbone = keras_hub.models.LlamaBackbone(**LLAMA_SMALL)
    return keras_hub.models.LlamaCausalLM(backbone=backbone, preprocessor=None)


def measure(model: Any, context: int, runs: int) -> list[float]:
    """Seconds of each timed decode step at ``context`` tokens cached."""
    import numpy as np
    import tensorflow as tf

    from convcost.analysis.decode import cache_layout

    shape = cache_layout(model).cache_shape(context + 1)
    cache = tf.constant(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    token = tf.constant([[7]], dtype=tf.int32)
    step = tf.function(lambda t, c: model.call_with_cache(t, c, context)[0])
    for _ in range(3):
        step(token, cache).numpy()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step(token, cache).numpy()
        times.append(time.perf_counter() - start)
    return times


def predict(model: Any, context: int, device: Any) -> Any:
    """convcost's float32 bound on ``device`` for the same step."""
    from convcost.analysis.decode import Precision
    from convcost.analysis.llm import LlmRequest, analyze_llm

    request = LlmRequest(context=context, precision=Precision(32, 32, 4), dtype="float32",
                         device=device)
    return analyze_llm(model, request).to_dict()


def this_machine(profile: str | None) -> Any:
    """The probe's profile (measured now, or read from ``profile``) as a device."""
    from convcost.analysis.devices import load_profile
    from convcost.measure.probe import probe
    from convcost.models.devices import DeviceSpec

    found = load_profile(profile) if profile else probe()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    print(f"probe: {found.peak_flops / 1e9:.1f} GFLOP/s float32 matmul, "
          f"{found.bandwidth / 1e9:.1f} GB/s copy")
    return DeviceSpec("this_machine", found.name, {"float32": found.peak_flops},
                      found.bandwidth, float(memory), {"peak": "probe"})


def load() -> str:
    """The load average line (the machine is shared: timings come with it)."""
    with open("/proc/loadavg") as file:
        return file.read().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    print(f"load before: {load()}")
    device = this_machine(args.profile)
    for name in ("gpt2", "llama_small"):
        model = build(name)
        data = predict(model, args.context, device)
        times = measure(model, args.context, args.runs)
        median = statistics.median(times)
        bound = data["time_per_output_token_s"]
        limit = data["phase_times"]["decode"]["limit"]
        print(f"{name}: params {data['params']:,}, context {args.context}: measured median "
              f"{median * 1e3:.2f} ms (min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f},"
              f" {args.runs} runs); bound {bound * 1e3:.2f} ms ({limit}-bound: "
              f"{data['totals']['weight_bytes_read'] / 1e6:.1f} MB weights + "
              f"{data['totals']['kv_bytes_read'] / 1e6:.1f} MB KV read, "
              f"{data['totals']['flops'] / 1e6:.1f} MFLOP); measured / bound: median "
              f"{median / bound:.2f}, best {min(times) / bound:.2f}")
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
