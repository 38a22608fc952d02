"""Render a :class:`~convcost.measure.profiling.LatencyReport`: tables, Markdown, JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from convcost.render.options import RenderOptions
from convcost.render.tables import Grid, check_choice, fitted_table, pipe_table, print_to_string
from convcost.render.units import human

if TYPE_CHECKING:
    from convcost.measure.profiling import KindTiming, LatencyReport, LayerTiming

FORMATS = ("table", "json", "markdown")

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


def render(data: LatencyReport, fmt: str, opts: RenderOptions | None = None) -> str:
    """The per-layer timing ``data`` as ``fmt`` (one of :data:`FORMATS`); the table has no
    colour."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(latency_dict(data), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(data)
    return _table(data, options.width)


def _table(latency: LatencyReport, width: int | None = None) -> str:
    """Two rich tables (layers, kinds) and a summary, as plain text.

    ``width=None`` is the natural width; a narrower one drops the layer table's kind column,
    then wraps types and layer paths. Numbers are never cut.
    """
    parts: list[Any] = []
    for title, head, rows, text in _sections(latency):
        grid = Grid(head, [i >= text for i in range(len(head))], rows, [],
                    wrap=(1, 0) if text > 1 else (0,))
        variants = [grid, grid.without("kind")] if text > 1 else [grid]
        parts.append(fitted_table(variants, width, title=f"{latency.report.model}: {title}",
                                  title_justify="left"))
    return print_to_string(*parts, *_summary(latency), width=width)


def _markdown(latency: LatencyReport) -> str:
    """Two Markdown tables (layers, kinds) and the summary as a list."""
    parts = ["\n".join(pipe_table(head, rows, [i >= text for i in range(len(head))]))
             for _, head, rows, text in _sections(latency)]
    parts.append("\n".join(f"- {line}" for line in _summary(latency)))
    return "\n\n".join(parts) + "\n"


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:.3f}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"





def latency_dict(latency: LatencyReport) -> dict[str, Any]:
    """A JSON-ready dict: exact integer counts per batch, times in seconds, shares in [0, 1]."""
    batch, dtype = latency.batch, latency.memory.dtype
    return {
        "model": latency.report.model, "backend": latency.backend, "batch_size": batch,
        "dtype": dtype, "repeats": latency.repeats, "warmup": latency.warmup,
        "device": latency.device.to_dict(),
        "layers": [_layer_dict(layer, batch, dtype) for layer in latency.layers],
        "kinds": [_kind_dict(kind) for kind in latency.kinds()],
        "totals": {
            "batch_macs": latency.macs, "batch_flops": latency.flops,
            "batch_bytes": latency.bytes, "layer_seconds": latency.layer_seconds,
            "timed_layers": latency.timed_layers, "model_seconds": latency.model_seconds,
            "call_overhead_seconds": latency.call_overhead_seconds,
            "predicted_seconds": latency.predicted_seconds,
            "gflops_per_s": latency.gflops_per_s,
        },
    }


def _layer_dict(layer: LayerTiming, batch: int, dtype: str) -> dict[str, Any]:
    row = layer.traffic.row
    return {
        "path": row.path, "name": row.name, "type": row.type, "kind": row.kind,
        "batch_macs": batch * row.macs, "batch_flops": layer.flops, "batch_bytes": layer.bytes,
        "intensity": layer.traffic.intensity(batch, dtype),
        "macs_per_element": layer.traffic.macs_per_element(batch),
        "seconds": layer.seconds, "gflops_per_s": layer.gflops_per_s,
        "bound_seconds": layer.bound.seconds, "bound": layer.bound.limit,
        "roofline_fraction": layer.roofline_fraction, "note": layer.note,
    }


def _kind_dict(kind: KindTiming) -> dict[str, Any]:
    return {
        "kind": kind.kind, "layers": kind.layers, "batch_macs": kind.macs,
        "batch_flops": kind.flops, "seconds": kind.seconds, "bound_seconds": kind.bound_seconds,
        "macs_share": kind.macs_share, "time_share": kind.time_share,
        "gflops_per_s": kind.gflops_per_s, "roofline_fraction": kind.roofline_fraction,
    }
