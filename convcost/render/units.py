"""Number and shape formatting for tables and Markdown (JSON and CSV carry exact integers)."""

from __future__ import annotations

from collections.abc import Sequence

# One colour per kind of cost (convcost.count.report.KINDS), in the HTML report and the graph.
KIND_COLORS = {"standard": "#4c78a8", "depthwise": "#f58518", "pointwise": "#54a24b",
               "fully_connected": "#b279a2", "other": "#9d9d9d", "attention": "#e45756",
               "recurrent": "#72b7b2", "embedding": "#eeca3b"}


def human(value: float, unit: str = "") -> str:
    """``25362816`` -> ``"25.36 M"`` (powers of 1000; for table and Markdown only)."""
    for factor, prefix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}".rstrip()
    return f"{value:g} {unit}".rstrip() if isinstance(value, float) else f"{value} {unit}".rstrip()


def exact(value: int) -> str:
    """An exact integer with thousands separators: ``259,082``."""
    return f"{value:,}"


def shape_text(shape: Sequence[int | None]) -> str:
    """``(14, 14, 32)`` -> ``"14×14×32"``."""
    return "×".join("?" if d is None else str(d) for d in shape) or "scalar"


def percent(share: float) -> str:
    return f"{100 * share:.2f}%"


def bar(share: float, width: int = 8) -> str:
    """A share of 1 as a bar of block characters (eighths), ``width`` cells at most."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


