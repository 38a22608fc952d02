"""The runtime tables and JSON from hand-made rows: speed-ups per run, accuracy side by side."""

from __future__ import annotations

import json

import pytest

from convcost.measure.bench import RuntimeRow
from convcost.measure.timing import Timings
from convcost.render import RenderOptions, runtimes


def _row(model: str, runtime: str, macs: int, seconds: float, accuracy: float | None,
         threads: str = "1") -> RuntimeRow:
    precision = "int8" if runtime == "litert-int8" else "fp32"
    return RuntimeRow(model, runtime, precision, threads, 1, 0, macs, 2 * macs,
                      Timings((seconds,)), accuracy, 1000 if "litert" in runtime else None)


ROWS = [_row("naive", "litert", 25_362_816, 0.0008, 0.98),
        _row("v1", "litert", 3_109_760, 0.0002, 0.95),
        _row("naive", "litert-int8", 25_362_816, 0.0008, 0.97),
        _row("v1", "litert-int8", 3_109_760, 0.0004, 0.94)]


def test_runs_and_speedups_by_hand() -> None:
    document = runtimes.runtime_document(ROWS, None, {}, {}, {"before": "1", "after": "1"})
    assert [(r["runtime"], r["baseline"]) for r in document["runs"]] == [
        ("litert", "naive"), ("litert-int8", "naive")]
    v1 = document["runs"][0]["models"][1]
    assert v1["predicted_speedup"] == pytest.approx(25_362_816 / 3_109_760)  # 8.156
    assert v1["measured_speedup"] == pytest.approx(4.0)  # 0.8 ms / 0.2 ms
    assert v1["achieved_gflops"] == pytest.approx(2 * 3_109_760 / 0.0002 / 1e9)  # 31.1
    assert json.loads(runtimes.render(document, "json"))["runs"][1]["models"][1]["accuracy"] == 0.94


def test_tables_show_accuracy_side_by_side() -> None:
    document = runtimes.runtime_document(ROWS, None, {}, {}, {"before": "1", "after": "1"})
    text = runtimes.render(document, "table", RenderOptions(width=120))
    assert "litert (XNNPACK, fp32) · threads 1 · batch 1" in text
    assert "GOP/s" in text  # int8 runs count integer operations
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("v1 ") and "0.95" in ln
                and "0.94" in ln)
    assert line.split() == ["v1", "0.9500", "0.9400"]
