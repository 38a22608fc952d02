"""What ``convcost bench --runtime ...`` does: check the options, obtain the models (zoo names
or ``.keras`` files, e.g. those ``convcost train`` saves), time them on every runtime
(:func:`convcost.measure.bench.bench_runtimes`) and print one table per runtime, or JSON.

Kept apart from :mod:`convcost.cli.bench` so the plain ``bench`` stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convcost import checks
from convcost.cli.app import load_keras
from convcost.cli.options import model_request
from convcost.cli.output import emit, use_color
from convcost.errors import ConvcostError
from convcost.measure.machine import check_threads
from convcost.render.options import RenderOptions


def parse_threads(text: str | None) -> tuple[int | None, ...]:
    """``"1,2"`` -> ``(1, 2)``; ``None`` -> ``(None,)`` (each runtime's default)."""
    if text is None:
        return (None,)
    parts = [p.strip() for p in text.split(",")]
    if not all(checks.digits(p) and int(p) > 0 for p in parts):
        raise ConvcostError(f"--threads must be positive integers separated by commas, e.g. 1,2. "
                            f"Received: {text!r}.")
    counts = tuple(dict.fromkeys(int(p) for p in parts))
    for count in counts:
        check_threads("--threads", count, shown=repr(text))
    return counts


def bench_runtimes_command(models: Sequence[str], runtime: Sequence[str], threads: str | None,
                           data: Path | None, *, batch_size: int, repeats: int, warmup: int,
                           alpha: float | None, peak: tuple[int, int], as_json: bool,
                           width: int | None = None, imports: tuple[str, ...] = ()) -> None:
    """Time ``models`` on each runtime; see the module docstring."""
    from convcost.measure.runtimes import check_runtimes

    runtimes = check_runtimes(runtime)
    counts = parse_threads(threads)
    if "tf" in runtimes and len(counts) > 1:
        raise ConvcostError(f"TensorFlow's threads are set once per process: give one --threads "
                            f"value with --runtime tf. Received: --threads {threads}.")
    # checks before TensorFlow loads
    asked = [model_request(name, None, alpha=alpha, imports=list(imports)) for name in models]
    load_keras()
    from convcost.measure import runtimes as rt

    for name in runtimes:
        rt.require(name)
    if "tf" in runtimes and counts[0] is not None:
        rt.set_tf_threads(counts[0])  # before any model is built
    document = _measure(asked, runtimes, counts, data, batch_size, repeats, warmup, peak)
    from convcost.render import runtimes as show

    emit(show.render(document, "json" if as_json else "table",
                     RenderOptions(width=width, color=use_color())), None)


def _measure(asked: Sequence[Any], runtimes: list[str], counts: tuple[int | None, ...],
             data: Path | None, batch_size: int, repeats: int, warmup: int,
             peak: tuple[int, int]) -> dict[str, Any]:
    from convcost.measure.bench import ModelEntry, RuntimeSettings, bench_runtimes
    from convcost.measure.fits import resolve_fitting
    from convcost.measure.machine import load_average, machine_info, versions
    from convcost.measure.probe import peak_matmul
    from convcost.render.runtimes import runtime_document

    entries = [ModelEntry(Path(a.source).stem if a.is_file else a.source,
                          resolve_fitting(a, purpose="bench", batch=batch_size).model,
                          a.is_file) for a in asked]
    prepared = _mnist(entries, runtimes, data)
    before = load_average()
    settings = RuntimeSettings(batch_size, counts, repeats, warmup, min(10, repeats), prepared)
    rows = bench_runtimes(entries, runtimes, settings)
    matmul = peak_matmul(*peak)
    load = {"before": before, "after": load_average()}
    packages = ["tensorflow", "keras", "numpy", "ai-edge-litert"] + \
        (["jax", "jaxlib"] if "jax" in runtimes else []) + (["torch"] if "torch" in runtimes
                                                           else [])
    return runtime_document(rows, matmul, machine_info(), versions(packages), load)


def _mnist(entries: Sequence[Any], runtimes: Sequence[str], path: Path | None) -> Any:
    """Prepared MNIST when something needs it (int8 calibration, accuracy), else None."""
    from convcost.measure import data
    from convcost.measure.runtimes import model_input_shape

    fits = [e for e in entries if model_input_shape(e.model) == (*data.IMAGE_SHAPE, 1)]
    wanted = "litert-int8" in runtimes or any(e.trained for e in fits)
    if not fits or not (wanted or path is not None):
        return None
    return data.prepare(data.load_mnist(path, download=False))  # bench never downloads
