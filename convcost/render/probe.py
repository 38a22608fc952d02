"""Render ``convcost probe``: the measured peak, bandwidth and ridge, one figure a line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcost.analysis.roofline import GIGA
from convcost.render.options import RenderOptions
from convcost.render.tables import check_choice

if TYPE_CHECKING:
    from convcost.analysis.roofline import DeviceProfile

FORMATS = ("text",)


@dataclass(frozen=True)
class Probed:
    """What ``probe`` measured, how, and where the profile was saved."""

    device: DeviceProfile
    method: str
    matmul_size: int
    copy_mb: int
    repeats: int
    saved: str


def render(data: Probed, fmt: str = "text", opts: RenderOptions | None = None) -> str:
    """The probe's figures as text (``fmt``: text); ``opts`` is unused."""
    check_choice("format", fmt, FORMATS)
    device, size, repeats = data.device, data.matmul_size, data.repeats
    return (f"peak      {device.peak_flops / GIGA:10.1f} GFLOP/s  ({data.method} float32 "
            f"{size}x{size} matmul, best of {repeats})\n"
            f"bandwidth {device.bandwidth / GIGA:10.1f} GB/s     (copy of {data.copy_mb} MiB, "
            f"read + write, best of {repeats})\n"
            f"ridge     {device.ridge:10.2f} FLOP/byte\n"
            f"saved to  {data.saved}\n")
