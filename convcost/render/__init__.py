"""Rendering: data in, text (or PNG) out. Renderers take report data, never Keras models.

``render(report, "table" | "json" | "csv" | "markdown" | "html")`` renders an analysis;
``render_comparison`` a comparison. Each command's other outputs have a module here:
:mod:`.profile`, :mod:`.verify`, :mod:`.train` (training summary and bench), :mod:`.formulas`,
:mod:`.rewrite`, :mod:`.zoo`; :mod:`.plots` draws PNGs, :mod:`.html` the interactive page,
:mod:`.graph` the model's graph (SVG, through graphviz); :mod:`.notebook` makes DataFrames and
the HTML a notebook shows. The shared machinery is in
:mod:`.units` (number formats), :mod:`.tables` (rich and Markdown tables) and :mod:`.rows`
(displayed rows, folded by depth).
"""

from __future__ import annotations

from convcost.render.analyze import (
    FORMATS,
    GROUPINGS,
    SCHEMA_VERSION,
    RenderOptions,
    render,
    report_dict,
    to_csv,
    to_html,
    to_json,
    to_markdown,
    to_table,
)
from convcost.render.compare import COMPARE_FORMATS, comparison_dict, render_comparison
from convcost.render.rows import Row, rows
from convcost.render.units import exact, human

__all__ = ["COMPARE_FORMATS", "FORMATS", "GROUPINGS", "SCHEMA_VERSION", "RenderOptions", "Row",
           "comparison_dict", "exact", "human", "render", "render_comparison", "report_dict",
           "rows", "to_csv", "to_html", "to_json", "to_markdown", "to_table"]
