"""``convcost probe`` (measure this machine) and ``convcost profile`` (time each layer).

Neither imports TensorFlow at import time; ``probe --method numpy`` never imports it at all.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from convcost.cli.app import app, domain_errors, load_keras, stderr
from convcost.cli.options import Source, make_source
from convcost.errors import ConvcostError
from convcost.render.analyze import human, pipe_table

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile
    from convcost.measure.profiling import LatencyReport

FORMATS = ("table", "json", "markdown")


@app.command("probe")
@domain_errors
def probe_command(
    output: Annotated[Path | None, typer.Option(
        "--output", help="Where to save the profile (default ~/.config/convcost/device.json).",
        show_default=False)] = None,
    matmul_size: Annotated[int, typer.Option(help="n of the n x n float32 matmul.")] = 2048,
    copy_mb: Annotated[int, typer.Option(help="MiB of the copied array.")] = 256,
    repeats: Annotated[int, typer.Option(help="Timed runs of each (the best is kept).")] = 5,
    method: Annotated[str, typer.Option(
        help="Matmul run by the Keras backend (keras: what the layers run on) or numpy.")] = (
        "keras"),
) -> None:
    """Measure this machine's peak FLOP/s (matmul) and memory bandwidth (copy); save as JSON."""
    from convcost.analysis import roofline

    if method == "keras":
        load_keras()
    device = roofline.probe(matmul_size=matmul_size, copy_mb=copy_mb, repeats=repeats,
                            method=method)
    target = roofline.save_profile(device, output or roofline.default_profile_path())
    typer.echo(f"peak      {device.peak_flops / roofline.GIGA:10.1f} GFLOP/s  "
               f"({method} float32 {matmul_size}x{matmul_size} matmul, best of {repeats})")
    typer.echo(f"bandwidth {device.bandwidth / roofline.GIGA:10.1f} GB/s     "
               f"(copy of {copy_mb} MiB, read + write, best of {repeats})")
    typer.echo(f"ridge     {device.ridge:10.2f} FLOP/byte")
    typer.echo(f"saved to  {target}")


@app.command("profile")
@domain_errors
def profile_command(
    model: Annotated[str, typer.Argument(help="A zoo name (see 'convcost zoo') or a .keras/.h5 "
                                              "file.")],
    input_shape: Annotated[str | None, typer.Option(
        help="Input shape without batch, e.g. 224,224,3.", show_default=False)] = None,
    classes: Annotated[int | None, typer.Option(help="Classes (zoo models).",
                                                show_default=False)] = None,
    alpha: Annotated[float | None, typer.Option(help="Width multiplier (zoo models).",
                                                show_default=False)] = None,
    unsafe: Annotated[bool, typer.Option(help="Load model files that carry Python code.")] = False,
    batch_size: Annotated[int, typer.Option(help="Samples per timed call.")] = 32,
    repeats: Annotated[int, typer.Option(help="Timed runs per layer (median kept).")] = 10,
    warmup: Annotated[int, typer.Option(help="Untimed runs first (the first traces).")] = 2,
    peak_gflops: Annotated[float | None, typer.Option(
        help="Device peak GFLOP/s (overrides the profile's).", show_default=False)] = None,
    bandwidth_gbs: Annotated[float | None, typer.Option(
        help="Device bandwidth GB/s (overrides the profile's).", show_default=False)] = None,
    device_profile: Annotated[Path | None, typer.Option(
        help="A device profile JSON (from 'convcost probe').", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = (
        "table"),
    output: Annotated[Path | None, typer.Option(help="Write to FILE (atomically) instead of "
                                                     "stdout.", show_default=False)] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the roofline and share PNGs into DIR.",
                                              show_default=False)] = None,
) -> None:
    """Time every layer alone on its real input shape; compare with MACs and the roofline.

    Default batch 32: large enough that the fixed cost of each call (~0.1 ms) is small next to
    a layer's work and weights are amortised as in inference serving, small enough for 224x224
    models on a laptop CPU. Views (reshape, flatten, dropout) are not timed.
    """
    if output_format not in FORMATS:
        raise ConvcostError(f"Unknown format; use one of {', '.join(FORMATS)}. "
                            f"Received: {output_format!r}.")
    device = _device(peak_gflops, bandwidth_gbs, device_profile)
    source = make_source(model, input_shape, classes=classes, alpha=alpha, unsafe=unsafe)
    latency = _measure(source, batch_size, repeats, warmup, device)
    _emit(_RENDERERS[output_format](latency), output)
    if plot is not None:
        from convcost.render.perfplots import write_plots

        for path in write_plots(latency, plot):
            stderr.print(f"wrote {path}")


def _device(peak_gflops: float | None, bandwidth_gbs: float | None,
            profile_file: Path | None) -> DeviceProfile:
    from convcost.analysis import roofline

    device = roofline.resolve(peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs,
                              profile_file=profile_file, required=False)
    if device is not None:
        return device
    stderr.print("note: no device profile saved; measuring this machine now (not saved; run "
                 "'convcost probe' to save one)")
    return roofline.probe()


def _measure(source: Source, batch: int, repeats: int, warmup: int,
             device: DeviceProfile) -> LatencyReport:
    from convcost.analysis.memory import check_batch

    check_batch(batch)
    load_keras()
    from convcost.count.walker import analyze
    from convcost.measure.profiling import profile
    from convcost.models.loader import obtain

    keras_model = obtain(source.spec)
    report = analyze(keras_model, input_shape=source.analyze_shape)
    return profile(keras_model, device, report=report, batch=batch, repeats=repeats,
                   warmup=warmup)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from convcost.files import write_text

    write_text(output, text, make_parents=True)
    stderr.print(f"wrote {output}")


# --- rendering -------------------------------------------------------------------------------

_LAYER_HEAD = ["layer", "type", "kind", "MACs/sample", "FLOP/B", "bound", "bound ms",
               "measured ms", "GFLOP/s", "bound/measured"]
_KIND_HEAD = ["kind", "layers", "MAC share", "time share", "GFLOP/s", "bound/measured"]


def _layer_rows(latency: LatencyReport) -> list[list[str]]:
    rows = []
    for layer in latency.layers:
        row = layer.traffic.row
        rows.append([
            row.path, row.type, row.kind, human(row.macs),
            f"{layer.traffic.intensity(latency.batch, latency.memory.dtype):.2f}",
            layer.bound.limit, f"{layer.bound.seconds * 1e3:.3f}", _ms(layer.seconds) or
            layer.note, _num(layer.gflops_per_s), _pct(layer.roofline_fraction)])
    return rows


def _kind_rows(latency: LatencyReport) -> list[list[str]]:
    return [[k.kind, str(k.layers), _pct(k.macs_share), _pct(k.time_share),
             _num(k.gflops_per_s), _pct(k.roofline_fraction)]
            for k in latency.kinds() if k.layers]


def _summary(latency: LatencyReport) -> list[str]:
    d = latency.device
    overhead = latency.call_overhead_seconds * latency.timed_layers
    return [
        f"{latency.report.model}: batch {latency.batch}, {latency.memory.dtype}, "
        f"{latency.backend}; median of {latency.repeats} after {latency.warmup} warm-up runs",
        f"device: {d.peak_flops / 1e9:.1f} GFLOP/s, {d.bandwidth / 1e9:.1f} GB/s, ridge "
        f"{d.ridge:.2f} FLOP/B ({d.source})",
        f"whole model forward: {latency.model_seconds * 1e3:.3f} ms "
        f"({latency.gflops_per_s:.1f} GFLOP/s)",
        f"sum of {latency.timed_layers} layers timed alone: {latency.layer_seconds * 1e3:.3f} ms "
        f"(of which ~{overhead * 1e3:.3f} ms is the fixed cost per call, "
        f"{latency.call_overhead_seconds * 1e6:.0f} µs each)",
        f"roofline prediction (sum of layer bounds): {latency.predicted_seconds * 1e3:.3f} ms",
    ]


def _sections(latency: LatencyReport) -> list[tuple[str, list[str], list[list[str]], int]]:
    """(title, header, rows, number of leading text columns) of the layer and kind tables."""
    return [("layers", _LAYER_HEAD, _layer_rows(latency), 3),
            ("per kind", _KIND_HEAD, _kind_rows(latency), 1)]


def render_table(latency: LatencyReport) -> str:
    """Two rich tables (layers, kinds) and a summary, as plain text."""
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=170, highlight=False, no_color=True)
    for title, head, rows, text in _sections(latency):
        table = Table(title=f"{latency.report.model}: {title}", title_justify="left")
        for index, column in enumerate(head):
            table.add_column(column, justify="left" if index < text else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for line in _summary(latency):
        console.print(line)
    return buffer.getvalue()


def render_markdown(latency: LatencyReport) -> str:
    """Two Markdown tables (layers, kinds) and the summary as a list."""
    parts = ["\n".join(pipe_table(head, rows, [i >= text for i in range(len(head))]))
             for _, head, rows, text in _sections(latency)]
    parts.append("\n".join(f"- {line}" for line in _summary(latency)))
    return "\n\n".join(parts) + "\n"


def render_json(latency: LatencyReport) -> str:
    from convcost.measure.profiling import to_dict

    return json.dumps(to_dict(latency), indent=2) + "\n"


_RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:.3f}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"

