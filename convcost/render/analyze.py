"""Render a Report (or a Comparison) as a rich table, JSON, CSV, Markdown or HTML.

Every renderer is a pure function of its data and :class:`RenderOptions` that returns a string;
the CLI decides where it goes. No Keras here. Human units (K/M/G, powers of 1000) appear only
in the table and Markdown summaries; their rows carry exact integers with thousands
separators, so every numeric column adds up exactly to its total row. JSON and CSV carry exact
integers and no markup.

JSON contract of ``convcost analyze MODEL --format json`` (``schema_version`` 1; keys are only
ever added, never renamed or removed within a version)::

    {
      "schema_version": 1,
      "model": str, "input_shape": [int, ...], "backend": str,
      "totals": {"params", "trainable_params", "non_trainable_params",
                 "macs", "flops", "other_flops"},                     # ints, per sample
      "batch_size": int, "per_batch": {"macs", "flops", "other_flops"},  # with --batch-size
      "depth": int,                                                   # with --depth
      "layers": [{"name", "path", "type", "kind", "input_shapes", "output_shape", "params",
                  "keras_params", "macs", "flops", "other_flops", "supported",
                  "call_index", "folded_layers", "note", "from_ops"}],
      "unsupported": [str],            # Keras classes with no cost rule, sorted
      "unsupported_counts": {str: int},  # calls of each
      "check": {"keras_count_params", "counted_params", "match",
                "mismatched_layers": [{"path", "params", "keras_params"}]},
      "group_by": "kind" | "type",                                    # with --group-by kind|type
      "groups": [{"kind" | "type", "layers", "params", "macs", "flops",
                  "params_share", "macs_share"}],
      "inputs": {str: [int, ...]},       # models with several inputs: each input's shape
      "active_params": int,              # mixture of experts: params one token uses
      "conventions": {"attention": "executed" | "causal",
                      "moe": "routed" | "executed"},          # models with attention or MoE
      "macs_by_convention": {"executed": int, "causal": int, "routed": int},  # likewise
      "notes": [str]                     # when there are notes
    }

Kinds (``kind`` of a layer, keys of ``groups``): ``standard``, ``depthwise``, ``pointwise``,
``fully_connected``, ``other``, then ``attention`` (products of two activations: attention
scores and weighted values), ``recurrent`` (RNN/LSTM/GRU cell steps) and ``embedding`` (lookup
tables: params, no MACs). ``totals.macs`` follows the conventions in ``conventions``;
``macs_by_convention`` gives the total under each: ``executed`` (every score and expert as the
implementation computes them), ``causal`` (causal self-attention over its L(L+1)/2 allowed
pairs) and ``routed`` (each token through its top-k experts only).

With ``--memory`` each layer gains ``bytes``, ``intensity`` (FLOP/byte), ``macs_per_element``,
``activation_bytes``, and ``totals`` gains ``bytes``, ``weight_bytes``, ``intensity``,
``peak_activation_bytes`` (per sample; ``per_batch`` gains them for the batch, weights read
once); with ``--roofline`` layers gain ``bound`` ("compute" | "memory") and ``bound_seconds``,
``totals``/``per_batch`` gain ``predicted_seconds``, and ``device`` is added at the top level.
``dtype`` (top level) names the element type the bytes assume. See :mod:`convcost.analysis.memory`.
With ``--symbolic`` (:mod:`convcost.render.symbolic`) ``totals``, ``layers`` and ``groups``
gain ``*_expr`` keys (sympy-parsable formulas of the input size), and ``symbols``, ``domain``
and ``symbolic`` are added at the top level; nothing else changes.
With ``--training`` each layer gains ``training`` (``trainable``, ``needs_input_grad``,
``forward_macs``, ``input_grad_macs``, ``weight_grad_macs``, ``training_macs``,
``training_other_flops``, ``training_flops``), ``totals`` (and ``per_batch``) gain
``training_macs``, ``training_flops`` and ``training`` (the same sums), and the top level gains
``training_memory`` (bytes of one step by part) and, with ``--measure-memory``,
``training_memory_measured``. See :mod:`convcost.analysis.training`.

MACs are multiply-accumulates, FLOPs = 2·MACs + other FLOPs (element-wise work), all per
sample (``per_batch`` multiplies by the batch size; params do not scale). Shares are fractions
of 1. With ``--depth N`` a row deeper than N (path ``a/b/c`` has depth 2) is folded into the
aggregate row of its first N+1 path parts: ``type`` is ``"folded"`` and ``folded_layers`` counts
the layer calls inside; totals are unchanged. ``from_ops`` is true for a row costed from its
traced TensorFlow ops (or JAX primitives) because no cost rule covers it (a folded row: any of
its calls); the table marks its type with :data:`FROM_OPS_MARK`. ``groups`` lists only the
kinds (or types) that have rows. ``convcost compare`` prints an object with
``schema_version``, ``models`` (model, input_shape, totals, groups by kind), ``ratios`` (each
model's totals over the first model's) and ``pairs`` (see :func:`comparison_dict`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convcost.count.report import Report
from convcost.render import columns as extra
from convcost.render import training_cost as train_cells
from convcost.render.html import html_page
from convcost.render.options import RenderOptions
from convcost.render.rows import Row, rows
from convcost.render.tables import Grid, check_choice, fitted_table, markdown_table, print_to_string
from convcost.render.units import bar, exact, human, percent, shape_text, share

if TYPE_CHECKING:
    from convcost.analysis.roofline import MemoryRooflineFields

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "csv", "markdown", "html")
GROUPINGS = ("layer", "kind", "type")
FROM_OPS_MARK = "†"


def render(data: Report, fmt: str, opts: RenderOptions | None = None) -> str:
    """Render ``data`` (a report) as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    check_choice("group-by", options.group_by, GROUPINGS)
    renderers: dict[str, Callable[[Report, RenderOptions], str]] = {
        "table": to_table, "json": to_json, "csv": to_csv, "markdown": to_markdown,
        "html": to_html}
    return renderers[fmt](data, options)


def report_dict(report: Report, options: RenderOptions | None = None) -> dict[str, Any]:
    """The JSON object of the contract in this module's docstring."""
    options = options or RenderOptions()
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model": report.model,
        "input_shape": list(report.input_shape),
        "backend": report.backend,
        "totals": totals(report),
    }
    if options.batch_size is not None:
        data["batch_size"] = options.batch_size
        data["per_batch"] = {key: options.batch_size * getattr(report, key)
                             for key in ("macs", "flops", "other_flops")}
    if options.depth is not None:
        data["depth"] = options.depth
    data["layers"] = [_row_dict(row) for row in rows(report, options.depth)]
    if options.columns is not None:
        _add_columns(data, report, options, options.columns)
    if options.training is not None:
        shown = rows(report, options.depth)
        train_cells.add_json(data, options.training, options.training.row_fields(shown),
                             options.batch_size)
    data["unsupported"] = list(report.unsupported)
    data["unsupported_counts"] = report.unsupported
    data["check"] = check_dict(report)
    if options.group_by in ("kind", "type"):
        data["group_by"] = options.group_by
        data["groups"] = groups_list(report, options.group_by, used_only=True)
    data.update(_transformer_keys(report))
    return data


def _transformer_keys(report: Report) -> dict[str, Any]:
    """The keys only some reports have: several inputs, MoE, attention conventions, notes."""
    data: dict[str, Any] = {}
    if report.multi_input:
        data["inputs"] = {name: list(shape) for name, shape in report.inputs}
    if report.active_params != report.params:
        data["active_params"] = report.active_params
    if report.has_attention:
        data["conventions"] = dict(report.conventions)
        data["macs_by_convention"] = {name: report.macs_as(name)
                                      for name in ("executed", "causal", "routed")}
    if report.notes:
        data["notes"] = list(report.notes)
    return data


def _add_columns(data: dict[str, Any], report: Report, options: RenderOptions,
                 columns: MemoryRooflineFields) -> None:
    """Add the --memory/--roofline keys to the layers, totals and per_batch (none changed)."""
    for layer, fields in zip(data["layers"], columns.row_fields(rows(report, options.depth))):
        layer.update(fields)
    data["totals"].update(columns.total_fields())
    if options.batch_size is not None:
        data["per_batch"].update(columns.total_fields(options.batch_size))
    data["dtype"] = columns.memory.dtype
    if columns.device is not None:
        data["device"] = columns.device.to_dict()


def to_json(report: Report, options: RenderOptions | None = None) -> str:
    """The report as one JSON object (see the module docstring), newline-terminated."""
    return json.dumps(report_dict(report, options), indent=2) + "\n"


def to_html(report: Report, options: RenderOptions | None = None) -> str:
    """The report as one self-contained, interactive HTML page (:mod:`convcost.render.html`;
    needs plotly). ``options`` adds what the JSON would hold: per batch, ``--memory`` and
    ``--roofline`` (as columns and charts), ``--depth`` folding."""
    return html_page(report_dict(report, options))


def totals(report: Report) -> dict[str, int]:
    return {"params": report.params, "trainable_params": report.trainable_params,
            "non_trainable_params": report.non_trainable_params, "macs": report.macs,
            "flops": report.flops, "other_flops": report.other_flops}


def _row_dict(row: Row) -> dict[str, Any]:
    return {"name": row.name, "path": row.path, "type": row.type, "kind": row.kind,
            "input_shapes": [list(s) for s in row.input_shapes],
            "output_shape": list(row.output_shape), "params": row.params,
            "keras_params": row.keras_params, "macs": row.macs, "flops": row.flops,
            "other_flops": row.other_flops, "supported": row.supported,
            "call_index": row.call_index, "folded_layers": row.folded, "note": row.note,
            "from_ops": row.from_ops}


def check_dict(report: Report) -> dict[str, Any]:
    return {"keras_count_params": report.keras_count_params, "counted_params": report.params,
            "match": report.params_match,
            "mismatched_layers": [{"path": x.path, "params": x.params,
                                   "keras_params": x.keras_params}
                                  for x in report.mismatched_layers]}


def groups_list(report: Report, by: str, used_only: bool = False) -> list[dict[str, Any]]:
    """One dict per group; ``used_only``: only the groups that have rows."""
    return [{by: g.key, "layers": g.layers, "params": g.params, "macs": g.macs,
             "flops": g.flops, "params_share": g.params_share, "macs_share": g.macs_share}
            for g in report.groups(by) if g.layers or not used_only]


def to_csv(report: Report, options: RenderOptions | None = None) -> str:
    """One CSV line per row (or per group with ``group_by``); exact integers, no totals line."""
    options = options or RenderOptions()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if options.group_by in ("kind", "type"):
        groups = groups_list(report, options.group_by, used_only=True)
        writer.writerow(list(groups[0]) if groups else [options.group_by])
        writer.writerows([list(g.values()) for g in groups])
        return out.getvalue()
    header = ["path", "name", "type", "kind", "output_shape", "params", "keras_params", "macs",
              "flops", "other_flops", "supported", "folded_layers"]
    shown = rows(report, options.depth)
    extra = options.columns.row_fields(shown) if options.columns else [{} for _ in shown]
    training = options.training.row_fields(shown) if options.training else [{} for _ in shown]
    writer.writerow(header + list(extra[0] if extra else {})
                    + (list(train_cells.CSV_KEYS) if options.training else []))
    for row, fields, trained in zip(shown, extra, training):
        writer.writerow([row.path, row.name, row.type, row.kind,
                         "x".join(str(d) for d in row.output_shape), row.params,
                         row.keras_params, row.macs, row.flops, row.other_flops,
                         str(row.supported).lower(), row.folded, *fields.values(),
                         *(train_cells.csv_cells(trained) if trained else [])])
    return out.getvalue()


def layer_grid(report: Report, options: RenderOptions, bars: bool,
               mark_path: bool = False) -> Grid:
    """One line per row: layer, type, output shape, params, MACs, [FLOPs], MACs share.

    A row costed from ops has :data:`FROM_OPS_MARK` after its type, or after its path with
    ``mark_path`` (for variants without the type column)."""
    headers = ["layer", "type", "output", "params", "MACs"]
    if options.flops:
        headers.append("FLOPs")
    headers.append("MACs %")
    columns = options.columns
    headers += extra.headers(columns) if columns else []
    headers += train_cells.HEADERS if options.training else []
    shown = rows(report, options.depth)
    added = columns.row_fields(shown) if columns else [{} for _ in shown]
    trained = options.training.row_fields(shown) if options.training else [{} for _ in shown]
    body = []
    for row, fields, training in zip(shown, added, trained):
        part = share(row.macs, report.macs)
        type_text = (f"{row.folded} layers" if row.folded else row.type) + _mark(row)
        path = row.path + (_mark(row) if mark_path else "")
        line = [path, type_text, shape_text(row.output_shape), exact(row.params),
                exact(row.macs)]
        if options.flops:
            line.append(exact(row.flops))
        line.append(f"{bar(part)} {100 * part:5.1f}%" if bars else f"{100 * part:.1f}%")
        body.append(line + (extra.cells(columns, fields) if columns else [])
                    + (train_cells.cells(training) if training else []))
    total = ["total", "", "", exact(report.params), exact(report.macs)]
    if options.flops:
        total.append(exact(report.flops))
    total.append("100.0%" if report.macs else "0.0%")
    total += extra.total_cells(columns) if columns else []
    total += train_cells.total_cells(options.training) if options.training else []
    numeric = [False, False, False, True, True, *([True] if options.flops else []), True]
    numeric += [True] * (len(headers) - len(numeric))
    if options.training:  # the 'grads' mark is text
        numeric[len(headers) - len(train_cells.HEADERS)] = False
    return Grid(headers, numeric, body, total, wrap=(1, 0))


def _mark(row: Row) -> str:
    return f" {FROM_OPS_MARK}" if row.from_ops else ""


def legend_line(report: Report, options: RenderOptions) -> list[str]:
    """The line that explains the mark of rows costed from ops, when a shown row has it."""
    if options.group_by != "layer" or not any(r.from_ops for r in rows(report, options.depth)):
        return []
    ops = "JAX primitives" if report.backend == "jax" else "TensorFlow ops"
    return [f"{FROM_OPS_MARK} no cost rule (for the layer, or a call folded into its row): "
            f"costed from its traced {ops}"]


def group_grid(report: Report, options: RenderOptions) -> Grid:
    """One line per kind (or Keras class): layers, params and MACs with their shares."""
    headers = [options.group_by, "layers", "params", "params %", "MACs", "MACs %"]
    if options.flops:
        headers.append("FLOPs")
    body = []
    for g in (g for g in report.groups(options.group_by) if g.layers):
        line = [g.key, str(g.layers), exact(g.params), percent(g.params_share), exact(g.macs),
                percent(g.macs_share)]
        body.append([*line, exact(g.flops)] if options.flops else line)
    total = ["total", str(len(report.layers)), exact(report.params), percent(1.0),
             exact(report.macs), percent(1.0)]
    if options.flops:
        total.append(exact(report.flops))
    return Grid(headers, [False, *([True] * (len(headers) - 1))], body, total, wrap=(0,))


def _grid(report: Report, options: RenderOptions, bars: bool) -> Grid:
    if options.group_by in ("kind", "type"):
        return group_grid(report, options)
    return layer_grid(report, options, bars)


def _table(report: Report, options: RenderOptions) -> Table:
    """The rich table, fitted to the width: the bars go first, then the type column (a
    layer's name usually says it), then the output shape and the MACs share, then long paths
    wrap. Numbers are never cut."""
    variants = [_grid(report, options, True)]
    if options.group_by == "layer":
        plain = _grid(report, options, False)
        lean = layer_grid(report, options, False, mark_path=True).without("type")
        variants += [plain, lean, lean.without("output"), lean.without("output", "MACs %")]
    return fitted_table(variants, options.width)


def header_line(report: Report) -> str:
    inputs = (", ".join(f"{name} {shape_text(shape)}" for name, shape in report.inputs)
              if report.multi_input else shape_text(report.input_shape))
    return (f"{report.model} · input {inputs} · backend "
            f"{report.backend or '?'} · {len(report.layers)} layer calls")


def totals_lines(report: Report, options: RenderOptions) -> list[str]:
    """Totals in human units, and per batch when asked."""
    lines = [f"total: {human(report.params)} params · {human(report.macs)} MACs · "
             f"{human(report.flops)} FLOPs",
             f"params: {exact(report.trainable_params)} trainable, "
             f"{exact(report.non_trainable_params)} non-trainable · FLOPs = 2·MACs + "
             f"{exact(report.other_flops)} other"]
    if options.batch_size is not None:
        n = options.batch_size
        lines.append(f"per batch of {n}: {human(n * report.macs)} MACs · "
                     f"{human(n * report.flops)} FLOPs ({exact(n * report.macs)} MACs, "
                     f"{exact(n * report.flops)} FLOPs)")
    if options.columns is not None:
        lines += extra.lines(options.columns, options.batch_size)
    if options.training is not None:
        lines += train_cells.lines(options.training, options.batch_size)
    if report.active_params != report.params:
        lines.append(f"active params per token: {exact(report.active_params)} of "
                     f"{exact(report.params)} (mixture of experts)")
    return lines


def check_line(report: Report) -> tuple[str, bool]:
    """The cross-check against ``model.count_params()`` and whether it passed."""
    if report.params_match:
        return f"params match model.summary(): {exact(report.keras_count_params)} ✓", True
    layers = ", ".join(f"{x.path} (counted {exact(x.params)}, Keras {exact(x.keras_params)})"
                       for x in report.mismatched_layers) or "none found per layer"
    return (f"params MISMATCH: counted {exact(report.params)}, model.summary() "
            f"{exact(report.keras_count_params)} ✗ — layers: {layers}"), False


def unsupported_lines(report: Report) -> list[str]:
    """One line per unsupported Keras class (not counted, or only partly; params from Keras)."""
    partial = {row.type for row in report.layers if not row.supported and row.pieces}
    return [f"{name} × {count}: not fully counted (see its row's note); params from Keras"
            if name in partial else
            f"{name} × {count}: no cost rule; MACs/FLOPs not counted, params from Keras"
            for name, count in report.unsupported.items()]


def to_markdown(report: Report, options: RenderOptions | None = None) -> str:
    """A Markdown document: header, pipe table with a total row, totals, check, warnings."""
    options = options or RenderOptions()
    lines = [f"### {header_line(report)}", "", *markdown_table(_grid(report, options, False)),
             ""]
    lines += [f"{line}\n" for line in legend_line(report, options)]
    lines += [f"- {line}" for line in totals_lines(report, options)]
    check, ok = check_line(report)
    lines.append(f"- {check}" if ok else f"- **{check}**")
    lines += [f"- note: {note}" for note in report.notes]
    warnings = unsupported_lines(report)
    if warnings:
        lines += ["", "> **Unsupported layers**", *[f"> - {w}" for w in warnings]]
    return "\n".join(lines) + "\n"


def to_table(report: Report, options: RenderOptions | None = None) -> str:
    """The rich table as text: header, rows, total, cross-check, unsupported-layers panel."""
    options = options or RenderOptions()
    parts: list[RenderableType] = [Text(header_line(report), style="bold"),
                                   _table(report, options)]
    parts += [Text(line) for line in legend_line(report, options)]
    parts += [Text(line) for line in totals_lines(report, options)]
    check, ok = check_line(report)
    parts.append(Text(check, style="green" if ok else "bold red"))
    parts += [Text(f"note: {note}") for note in report.notes]
    warnings = unsupported_lines(report)
    if warnings:
        parts.append(Panel("\n".join(warnings), title="unsupported layers", style="yellow",
                           title_align="left", expand=False))
    return print_to_string(Group(*parts), width=options.width, color=options.color)


