"""How a renderer draws its data: the options every ``render(data, fmt, opts)`` takes.

Most renderers read only ``width`` and ``color``; ``analyze``'s renderers (and ``--symbolic``,
``--sweep``, ``.tflite`` files) read the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcost.analysis.roofline import MemoryRooflineFields
    from convcost.analysis.training import TrainingFields


@dataclass(frozen=True)
class RenderOptions:
    """How to render a report.

    Args:
        group_by: ``"layer"`` (one row per layer call), ``"kind"`` or ``"type"``.
        batch_size: also give totals per batch of this many samples.
        flops: show a FLOPs column beside MACs (table, Markdown, CSV; JSON always has it).
        depth: fold rows deeper than this into their parent path's aggregate row.
        width: characters per line of the rich table; None (the default) is its natural
            width. A narrower table drops its bars, then its type, output-shape and MACs-share
            columns, then wraps paths; numbers are never cut
            (see :func:`convcost.render.tables.fitted_table`).
        color: emit ANSI colors (rich table only).
        columns: memory/roofline columns
            (:class:`convcost.analysis.roofline.MemoryRooflineFields`), or None.
        training: training-cost columns
            (:class:`convcost.analysis.training.TrainingFields`), or None.
    """

    group_by: str = "layer"
    batch_size: int | None = None
    flops: bool = False
    depth: int | None = None
    width: int | None = None
    color: bool = False
    columns: MemoryRooflineFields | None = None
    training: TrainingFields | None = None
