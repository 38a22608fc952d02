"""Rendering: data in, text out. Renderers take data (reports, comparisons, measurements),
never Keras models; they compute no verdicts and write no files (the CLI does).

Every module that renders a command's output has the same entry: ``FORMATS`` (the formats it
knows; the command's ``--format`` choices) and ``render(data, fmt, opts=None) -> str`` with
``opts`` a :class:`RenderOptions` (:mod:`.options`). ``*_dict`` functions give the JSON object
as a dict; ``render(data, "json")`` gives it as text.

==========================  ===========================================================
module                      renders (command)
==========================  ===========================================================
:mod:`.analyze`             a Report (``analyze``): table, json, csv, markdown, html
:mod:`.symbolic`            a Report with its formulas (``analyze --symbolic``)
:mod:`.sweep`               a Sweep (``analyze --sweep``)
:mod:`.tflite`              a .tflite file's analysis (``analyze FILE.tflite``)
:mod:`.compare`             a Comparison (``compare``)
:mod:`.profile`             a LatencyReport (``profile``)
:mod:`.verify`              a VerifyReport (``verify``)
:mod:`.verify_training`     a TrainingCheck (``verify --training``)
:mod:`.bench`               the bench document (``bench``); :func:`.bench.speed_dict`
:mod:`.runtimes`            the runtime document (``bench --runtime``)
:mod:`.experiment`          an ExperimentSummary (``train``: table, summary.md/.json)
:mod:`.formulas`            derivations (``formulas``)
:mod:`.graph`               a Report's graph (``graph``: svg through graphviz, dot)
:mod:`.rewrite`             a rewrite and its before/after (``separate``, ``merge``)
:mod:`.zoo`                 the zoo entries (``zoo``)
==========================  ===========================================================

Pieces of the above: :mod:`.training_cost` (``analyze --training`` columns and lines),
:mod:`.columns` (``--memory``/``--roofline`` columns), :mod:`.html` (the interactive page),
:mod:`.rows` (displayed rows, folded by depth), :mod:`.tables` (the one width-fitting table
builder, Markdown tables), :mod:`.units` (number formats). :mod:`.notebook` makes DataFrames and
the HTML a notebook shows; :mod:`.plots` draws PNGs (matplotlib) into paths it is given, and
``profile --plot`` / ``train`` call it directly. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

from convcost.render.analyze import (
    FORMATS,
    GROUPINGS,
    SCHEMA_VERSION,
    render,
    report_dict,
    to_csv,
    to_html,
    to_json,
    to_markdown,
    to_table,
)
from convcost.render.compare import comparison_dict
from convcost.render.options import RenderOptions
from convcost.render.rows import Row, rows
from convcost.render.units import exact, human

__all__ = ["FORMATS", "GROUPINGS", "SCHEMA_VERSION", "RenderOptions", "Row", "comparison_dict",
           "exact", "human", "render", "report_dict", "rows", "to_csv", "to_html", "to_json",
           "to_markdown", "to_table"]
