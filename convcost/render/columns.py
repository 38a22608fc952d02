"""Cells and summary lines of ``analyze --memory`` / ``--roofline`` (the data comes from
:class:`convcost.analysis.roofline.MemoryRooflineFields`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.analysis.roofline import GIGA

if TYPE_CHECKING:
    from convcost.analysis.roofline import MemoryRooflineFields


def headers(columns: MemoryRooflineFields) -> list[str]:
    names = ["bytes", "FLOP/B", "output bytes"] if columns.show_memory else []
    return names + (["bound", "bound µs"] if columns.device is not None else [])


def cells(columns: MemoryRooflineFields, fields: dict[str, Any]) -> list[str]:
    """Table cells of one row's fields (exact bytes, ratios to 2 decimals)."""
    result = []
    if columns.show_memory:
        result += [f"{fields['bytes']:,}", f"{fields['intensity']:.2f}",
                   f"{fields['activation_bytes']:,}"]
    if columns.device is not None:
        result += [fields["bound"], f"{fields['bound_seconds'] * 1e6:.1f}"]
    return result


def total_cells(columns: MemoryRooflineFields) -> list[str]:
    totals = columns.total_fields()
    result = []
    if columns.show_memory:
        result += [f"{totals['bytes']:,}", f"{totals['intensity']:.2f}", ""]
    if columns.device is not None:
        result += ["", f"{totals['predicted_seconds'] * 1e6:.1f}"]
    return result


def lines(columns: MemoryRooflineFields, batch: int | None = None) -> list[str]:
    """Summary lines: traffic, intensity, peak memory, prediction; per batch when given."""
    result = [_line(columns, size) for size in ((1,) if batch in (None, 1) else (1, batch))]
    if columns.device is not None:
        d = columns.device
        result.append(f"device: {d.peak_flops / GIGA:.1f} GFLOP/s, {d.bandwidth / GIGA:.1f} "
                      f"GB/s, ridge {d.ridge:.2f} FLOP/B ({d.source})")
    return result


def _line(columns: MemoryRooflineFields, batch: int) -> str:
    totals = columns.total_fields(batch)
    label = "per sample" if batch == 1 else f"per batch of {batch}"
    parts = []
    if columns.show_memory:
        peak = columns.memory.peak_layer
        parts.append(f"{totals['bytes']:,} bytes moved ({columns.memory.dtype}; weights "
                     f"{totals['weight_bytes']:,}), {totals['intensity']:.2f} FLOP/B, peak "
                     f"activation memory {totals['peak_activation_bytes']:,} bytes"
                     + (f" at {peak.row.path}" if peak is not None else ""))
    if columns.device is not None:
        parts.append(f"roofline time {totals['predicted_seconds'] * 1e3:.3f} ms")
    return f"{label}: " + " · ".join(parts)
