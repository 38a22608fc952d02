"""How long the HTML report and the graph take, to make and to open, on a big and a small model.

Run: python benchmarks/report_speed.py [--blocks N] [--no-browser]
Models: ResNet50 (176 layer calls), Llama-2-7B from keras-hub at 4,096 tokens (the zoo's
``llama2_7b``), and a transformer-like stack of Dense layers (11 layer calls per block, 250
blocks: 3,000 calls, 39 billion params); all built without allocating their weights
(``convcost.shape_only``). For each: analyze, render the page, its size, and (with
Playwright and the system's Chromium) the time until its charts are drawn and one sort by
MACs. The graph (graphviz's dot) for ResNet50. Timings are single runs: noisy on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def dense_stack(blocks: int, tokens: int = 2048, d: int = 4096, ff: int = 11008):
    """A decoder-shaped stack of Dense layers (no attention scores): shape-only weights."""
    import keras

    layers = keras.layers
    inputs = keras.Input((tokens, d))
    x = inputs
    for i in range(blocks):
        h = layers.LayerNormalization(name=f"block_{i}_ln1")(x)
        q, k, v = (layers.Dense(d, use_bias=False, name=f"block_{i}_{n}")(h) for n in "qkv")
        mixed = layers.Add(name=f"block_{i}_mix")([q, k, v])
        x = layers.Add(name=f"block_{i}_res1")(
            [x, layers.Dense(d, use_bias=False, name=f"block_{i}_o")(mixed)])
        h = layers.LayerNormalization(name=f"block_{i}_ln2")(x)
        up = layers.Activation("gelu", name=f"block_{i}_gelu")(
            layers.Dense(ff, use_bias=False, name=f"block_{i}_up")(h))
        x = layers.Add(name=f"block_{i}_res2")(
            [x, layers.Dense(d, use_bias=False, name=f"block_{i}_down")(up)])
    return keras.Model(inputs, x, name=f"dense_stack_{blocks}")


def reports(blocks: int) -> dict:
    import convcost
    from convcost.models import zoo

    found = {}
    for name, build, seq_len in (("resnet50", lambda: zoo.build("resnet50"), None),
                                 ("llama2_7b", lambda: zoo.build("llama2_7b"), 4096),
                                 (f"dense_stack_{blocks}", lambda: dense_stack(blocks), None)):
        with convcost.shape_only():
            model, build_s = timed(build)
        report, analyze_s = timed(lambda m=model, n=seq_len: convcost.analyze(m, seq_len=n))
        print(f"{name}: {len(report.layers):,} layer calls, {report.params:,} params; build "
              f"{build_s:.2f} s (shape only), analyze {analyze_s:.2f} s")
        found[name] = report
    return found


def pages(found: dict, folder: Path) -> dict[str, Path]:
    from convcost import render
    from convcost.render.html import plotly_script

    plotly_script()  # the first read of Plotly's 4.8 MB is not the report's cost
    paths = {}
    for name, report in found.items():
        text, seconds = timed(lambda r=report: render.to_html(r))
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(text, encoding="utf-8")
        print(f"{name}: page made in {seconds:.2f} s, {len(text.encode()) / 1e6:.2f} MB")
    return paths


def browse(paths: dict[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--disable-gpu"])
        for name, path in paths.items():
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            start = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready='1']", state="attached", timeout=300_000)
            load_s = time.perf_counter() - start
            _, sort_s = timed(lambda p=page: p.locator("#layers thead th",
                                                       has_text="MACs").first.click())
            print(f"{name}: charts drawn {load_s:.1f} s after opening; sort by MACs {sort_s:.2f} s")
            page.close()
        browser.close()


def graph(found: dict) -> None:
    from convcost.render.graph import graph_svg

    if shutil.which("dot") is None:
        print("graph: no graphviz 'dot'")
        return
    svg, seconds = timed(lambda: graph_svg(found["resnet50"]))
    print(f"resnet50: graph SVG in {seconds:.2f} s, {len(svg) / 1e3:.0f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=250)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    found = reports(args.blocks)
    with tempfile.TemporaryDirectory() as folder:
        paths = pages(found, Path(folder))
        if not args.no_browser:
            browse(paths)
    graph(found)


if __name__ == "__main__":
    main()
