"""Render a Report (or a Comparison) as a rich table, JSON, CSV or Markdown.

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
                  "call_index", "folded_layers", "note"}],
      "unsupported": [str],            # Keras classes with no cost rule, sorted
      "unsupported_counts": {str: int},  # calls of each
      "check": {"keras_count_params", "counted_params", "match",
                "mismatched_layers": [{"path", "params", "keras_params"}]},
      "group_by": "kind" | "type",                                    # with --group-by kind|type
      "groups": [{"kind" | "type", "layers", "params", "macs", "flops",
                  "params_share", "macs_share"}]
    }

With ``--memory`` each layer gains ``bytes``, ``intensity`` (FLOP/byte), ``macs_per_element``,
``activation_bytes``, and ``totals`` gains ``bytes``, ``weight_bytes``, ``intensity``,
``peak_activation_bytes`` (per sample; ``per_batch`` gains them for the batch, weights read
once); with ``--roofline`` layers gain ``bound`` ("compute" | "memory") and ``bound_seconds``,
``totals``/``per_batch`` gain ``predicted_seconds``, and ``device`` is added at the top level.
``dtype`` (top level) names the element type the bytes assume. See :mod:`convcost.analysis.memory`.

MACs are multiply-accumulates, FLOPs = 2·MACs + other FLOPs (element-wise work), all per
sample (``per_batch`` multiplies by the batch size; params do not scale). Shares are fractions
of 1. With ``--depth N`` a row deeper than N (path ``a/b/c`` has depth 2) is folded into the
aggregate row of its first N+1 path parts: ``type`` is ``"folded"`` and ``folded_layers`` counts
the layer calls inside; totals are unchanged. ``convcost compare`` prints an object with
``schema_version``, ``models`` (model, input_shape, totals, groups by kind), ``ratios`` (each
model's totals over the first model's) and ``pairs`` (see :func:`comparison_dict`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convcost.analysis.compare import BIAS_NOTE, Comparison, PairComparison
from convcost.count.report import KINDS, LayerCost, Report, Shape
from convcost.errors import ConvcostError

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "csv", "markdown")
COMPARE_FORMATS = ("table", "json", "markdown")
GROUPINGS = ("layer", "kind", "type")


@dataclass(frozen=True)
class RenderOptions:
    """How to render a report.

    Args:
        group_by: ``"layer"`` (one row per layer call), ``"kind"`` or ``"type"``.
        batch_size: also give totals per batch of this many samples.
        flops: show a FLOPs column beside MACs (table, Markdown, CSV; JSON always has it).
        depth: fold rows deeper than this into their parent path's aggregate row.
        width: console width of the rich table.
        color: emit ANSI colors (rich table only).
        columns: memory/roofline columns
            (:class:`convcost.analysis.roofline.AnalyzeColumns`), or None.
    """

    group_by: str = "layer"
    batch_size: int | None = None
    flops: bool = False
    depth: int | None = None
    width: int = 120
    color: bool = False
    columns: Any = None


@dataclass(frozen=True)
class Row:
    """A displayed row: one layer call, or the aggregate of rows folded by ``depth``."""

    path: str
    name: str
    type: str
    kind: str
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    keras_params: int
    macs: int
    other_flops: int
    supported: bool
    call_index: int = 0
    folded: int = 0
    note: str = ""

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops


# --- rows and folding ------------------------------------------------------------------------


def rows(report: Report, depth: int | None = None) -> tuple[Row, ...]:
    """The report's rows; with ``depth``, rows deeper than it folded into one row per call.

    Consecutive rows under the same folded path form one call of that nested model; a leaf
    path seen again starts the next call (a block applied twice gives two folded rows).
    """
    if depth is not None and depth < 0:
        raise ConvcostError(f"depth must be 0 or more. Received: {depth}.")
    result: list[Row] = []
    chunk: list[LayerCost] = []
    chunk_path = ""
    for layer in report.layers:
        target = _folded_path(layer.path, depth)
        repeated = any(x.path == layer.path for x in chunk)
        if chunk and (target != chunk_path or repeated):
            result.append(_fold(chunk, chunk_path))
            chunk = []
        if target == layer.path:
            result.append(_leaf(layer))
        else:
            chunk, chunk_path = [*chunk, layer], target
    if chunk:
        result.append(_fold(chunk, chunk_path))
    return tuple(result)


def _folded_path(path: str, depth: int | None) -> str:
    parts = path.split("/")
    return path if depth is None or len(parts) <= depth + 1 else "/".join(parts[: depth + 1])


def _leaf(layer: LayerCost) -> Row:
    return Row(layer.path, layer.name, layer.type, layer.kind, layer.input_shapes,
               layer.output_shape, layer.params, layer.keras_params, layer.macs,
               layer.other_flops, layer.supported, layer.call_index, 0, layer.note)


def _fold(chunk: Sequence[LayerCost], path: str) -> Row:
    kind_macs = {kind: 0 for kind in KINDS}
    for layer in chunk:
        for piece in layer.pieces:
            kind_macs[piece.kind] += piece.macs
    kind = max(kind_macs, key=lambda k: kind_macs[k]) if any(kind_macs.values()) else "other"
    return Row(path, path.rsplit("/", 1)[-1], "folded", kind, chunk[0].input_shapes,
               chunk[-1].output_shape, sum(x.params for x in chunk),
               sum(x.keras_params for x in chunk), sum(x.macs for x in chunk),
               sum(x.other_flops for x in chunk), all(x.supported for x in chunk),
               0, len(chunk), f"{len(chunk)} layer calls folded")


# --- formatting helpers ----------------------------------------------------------------------


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


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# --- dispatch --------------------------------------------------------------------------------


def render(report: Report, fmt: str, options: RenderOptions | None = None) -> str:
    """Render ``report`` as ``fmt`` (one of :data:`FORMATS`)."""
    options = options or RenderOptions()
    check_choice("format", fmt, FORMATS)
    check_choice("group-by", options.group_by, GROUPINGS)
    renderers: dict[str, Callable[[Report, RenderOptions], str]] = {
        "table": to_table, "json": to_json, "csv": to_csv, "markdown": to_markdown}
    return renderers[fmt](report, options)


def render_comparison(comparison: Comparison, fmt: str,
                      options: RenderOptions | None = None) -> str:
    """Render a comparison as ``fmt`` (one of :data:`COMPARE_FORMATS`)."""
    options = options or RenderOptions()
    check_choice("format for compare", fmt, COMPARE_FORMATS)
    if fmt == "json":
        return compare_to_json(comparison)
    if fmt == "markdown":
        return compare_to_markdown(comparison)
    return compare_to_table(comparison, options)


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConvcostError(f"Unknown {what}; use one of {', '.join(choices)}. "
                            f"Received: {value!r}.")


# --- JSON ------------------------------------------------------------------------------------


def report_dict(report: Report, options: RenderOptions | None = None) -> dict[str, Any]:
    """The JSON object of the contract in this module's docstring."""
    options = options or RenderOptions()
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model": report.model,
        "input_shape": list(report.input_shape),
        "backend": report.backend,
        "totals": _totals(report),
    }
    if options.batch_size is not None:
        data["batch_size"] = options.batch_size
        data["per_batch"] = {key: options.batch_size * getattr(report, key)
                             for key in ("macs", "flops", "other_flops")}
    if options.depth is not None:
        data["depth"] = options.depth
    data["layers"] = [_row_dict(row) for row in rows(report, options.depth)]
    if options.columns is not None:
        _add_columns(data, report, options)
    data["unsupported"] = list(report.unsupported)
    data["unsupported_counts"] = report.unsupported
    data["check"] = _check_dict(report)
    if options.group_by in ("kind", "type"):
        data["group_by"] = options.group_by
        data["groups"] = _groups_list(report, options.group_by)
    return data


def _add_columns(data: dict[str, Any], report: Report, options: RenderOptions) -> None:
    """Add the --memory/--roofline keys to the layers, totals and per_batch (none changed)."""
    columns = options.columns
    for layer, fields in zip(data["layers"], columns.row_fields(rows(report, options.depth))):
        layer.update(fields)
    data["totals"].update(columns.total_fields())
    if options.batch_size is not None:
        data["per_batch"].update(columns.total_fields(options.batch_size))
    data["dtype"] = columns.memory.dtype
    if columns.device is not None:
        data["device"] = columns.device.to_json()


def to_json(report: Report, options: RenderOptions | None = None) -> str:
    """The report as one JSON object (see the module docstring), newline-terminated."""
    return json.dumps(report_dict(report, options), indent=2) + "\n"


def _totals(report: Report) -> dict[str, int]:
    return {"params": report.params, "trainable_params": report.trainable_params,
            "non_trainable_params": report.non_trainable_params, "macs": report.macs,
            "flops": report.flops, "other_flops": report.other_flops}


def _row_dict(row: Row) -> dict[str, Any]:
    return {"name": row.name, "path": row.path, "type": row.type, "kind": row.kind,
            "input_shapes": [list(s) for s in row.input_shapes],
            "output_shape": list(row.output_shape), "params": row.params,
            "keras_params": row.keras_params, "macs": row.macs, "flops": row.flops,
            "other_flops": row.other_flops, "supported": row.supported,
            "call_index": row.call_index, "folded_layers": row.folded, "note": row.note}


def _check_dict(report: Report) -> dict[str, Any]:
    return {"keras_count_params": report.keras_count_params, "counted_params": report.params,
            "match": report.params_match,
            "mismatched_layers": [{"path": x.path, "params": x.params,
                                   "keras_params": x.keras_params}
                                  for x in report.mismatched_layers]}


def _groups_list(report: Report, by: str) -> list[dict[str, Any]]:
    return [{by: g.key, "layers": g.layers, "params": g.params, "macs": g.macs,
             "flops": g.flops, "params_share": g.params_share, "macs_share": g.macs_share}
            for g in report.groups(by)]


# --- CSV -------------------------------------------------------------------------------------


def to_csv(report: Report, options: RenderOptions | None = None) -> str:
    """One CSV line per row (or per group with ``group_by``); exact integers, no totals line."""
    options = options or RenderOptions()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if options.group_by in ("kind", "type"):
        groups = _groups_list(report, options.group_by)
        writer.writerow(list(groups[0]) if groups else [options.group_by])
        writer.writerows([list(g.values()) for g in groups])
        return out.getvalue()
    header = ["path", "name", "type", "kind", "output_shape", "params", "keras_params", "macs",
              "flops", "other_flops", "supported", "folded_layers"]
    shown = rows(report, options.depth)
    extra = options.columns.row_fields(shown) if options.columns else [{} for _ in shown]
    writer.writerow(header + list(extra[0] if extra else {}))
    for row, fields in zip(shown, extra):
        writer.writerow([row.path, row.name, row.type, row.kind,
                         "x".join(str(d) for d in row.output_shape), row.params,
                         row.keras_params, row.macs, row.flops, row.other_flops,
                         str(row.supported).lower(), row.folded, *fields.values()])
    return out.getvalue()


# --- the grid behind the table and Markdown --------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Header, body and total row as strings; ``numeric`` marks right-aligned columns."""

    headers: list[str]
    numeric: list[bool]
    body: list[list[str]]
    total: list[str]


def layer_grid(report: Report, options: RenderOptions, bars: bool) -> Grid:
    """One line per row: layer, type, output shape, params, MACs, [FLOPs], MACs share."""
    headers = ["layer", "type", "output", "params", "MACs"]
    if options.flops:
        headers.append("FLOPs")
    headers.append("MACs %")
    columns = options.columns
    headers += columns.headers() if columns else []
    shown = rows(report, options.depth)
    extra = columns.row_fields(shown) if columns else [{} for _ in shown]
    body = []
    for row, fields in zip(shown, extra):
        share = _share(row.macs, report.macs)
        type_text = f"{row.folded} layers" if row.folded else row.type
        line = [row.path, type_text, shape_text(row.output_shape), exact(row.params),
                exact(row.macs)]
        if options.flops:
            line.append(exact(row.flops))
        line.append(f"{bar(share)} {100 * share:5.1f}%" if bars else f"{100 * share:.1f}%")
        body.append(line + (columns.cells(fields) if columns else []))
    total = ["total", "", "", exact(report.params), exact(report.macs)]
    if options.flops:
        total.append(exact(report.flops))
    total.append("100.0%" if report.macs else "0.0%")
    total += columns.total_cells() if columns else []
    numeric = [False, False, False, True, True, *([True] if options.flops else []), True]
    return Grid(headers, numeric + [True] * (len(headers) - len(numeric)), body, total)


def group_grid(report: Report, options: RenderOptions) -> Grid:
    """One line per kind (or Keras class): layers, params and MACs with their shares."""
    headers = [options.group_by, "layers", "params", "params %", "MACs", "MACs %"]
    if options.flops:
        headers.append("FLOPs")
    body = []
    for g in report.groups(options.group_by):
        line = [g.key, str(g.layers), exact(g.params), percent(g.params_share), exact(g.macs),
                percent(g.macs_share)]
        body.append([*line, exact(g.flops)] if options.flops else line)
    total = ["total", str(len(report.layers)), exact(report.params), percent(1.0),
             exact(report.macs), percent(1.0)]
    if options.flops:
        total.append(exact(report.flops))
    return Grid(headers, [False, *([True] * (len(headers) - 1))], body, total)


def _grid(report: Report, options: RenderOptions, bars: bool) -> Grid:
    if options.group_by in ("kind", "type"):
        return group_grid(report, options)
    return layer_grid(report, options, bars)


# --- summary lines shared by the table and Markdown ------------------------------------------


def header_line(report: Report) -> str:
    return (f"{report.model} · input {shape_text(report.input_shape)} · backend "
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
        lines += options.columns.lines(options.batch_size)
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
    """One line per unsupported Keras class (not counted; params taken from Keras)."""
    return [f"{name} × {count}: no cost rule; MACs/FLOPs not counted, params from Keras"
            for name, count in report.unsupported.items()]


# --- Markdown --------------------------------------------------------------------------------


def to_markdown(report: Report, options: RenderOptions | None = None) -> str:
    """A Markdown document: header, pipe table with a total row, totals, check, warnings."""
    options = options or RenderOptions()
    lines = [f"### {header_line(report)}", "", *markdown_table(_grid(report, options, False)),
             ""]
    lines += [f"- {line}" for line in totals_lines(report, options)]
    check, ok = check_line(report)
    lines.append(f"- {check}" if ok else f"- **{check}**")
    warnings = unsupported_lines(report)
    if warnings:
        lines += ["", "> **Unsupported layers**", *[f"> - {w}" for w in warnings]]
    return "\n".join(lines) + "\n"


def markdown_table(grid: Grid) -> list[str]:
    """Pipe-table lines of a grid; the total row in bold."""
    total = [f"**{c}**" if c else "" for c in grid.total]
    return pipe_table(grid.headers, [*grid.body, total], grid.numeric)


def pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool] | None = None) -> list[str]:
    """Markdown pipe-table lines; ``numeric`` columns are right-aligned, ``|`` is escaped."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    flags = numeric if numeric is not None else [False] * len(headers)
    rule = "| " + " | ".join("---:" if n else "---" for n in flags) + " |"
    return [line(headers), rule, *[line(r) for r in rows]]


# --- rich table ------------------------------------------------------------------------------


def to_table(report: Report, options: RenderOptions | None = None) -> str:
    """The rich table as text: header, rows, total, cross-check, unsupported-layers panel."""
    options = options or RenderOptions()
    parts: list[RenderableType] = [Text(header_line(report), style="bold"),
                                   rich_table(_grid(report, options, True))]
    parts += [Text(line) for line in totals_lines(report, options)]
    check, ok = check_line(report)
    parts.append(Text(check, style="green" if ok else "bold red"))
    warnings = unsupported_lines(report)
    if warnings:
        parts.append(Panel("\n".join(warnings), title="unsupported layers", style="yellow",
                           title_align="left", expand=False))
    return print_to_string(Group(*parts), options)


def rich_table(grid: Grid) -> Table:
    """A compact rich Table of a grid; one line per row (long names are cut with …)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, numeric in zip(grid.headers, grid.numeric):
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True,
                         overflow="ellipsis")
    for line in grid.body:
        table.add_row(*line)
    table.add_section()
    table.add_row(*grid.total, style="bold")
    return table


def print_to_string(renderable: RenderableType, options: RenderOptions) -> str:
    """Print with a fixed width, colors only when asked (so output is deterministic)."""
    console = Console(file=io.StringIO(), width=options.width, force_terminal=options.color,
                      color_system="standard" if options.color else None,
                      no_color=not options.color, highlight=False, emoji=False,
                      legacy_windows=False, soft_wrap=False)
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


# --- comparison ------------------------------------------------------------------------------


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """The JSON object of ``convcost compare`` (``schema_version`` 1)."""
    first = comparison.reports[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": first.model,
        "models": [{"model": r.model, "input_shape": list(r.input_shape),
                    "totals": _totals(r), "check": _check_dict(r),
                    "unsupported": list(r.unsupported), "groups": _groups_list(r, "kind")}
                   for r in comparison.reports],
        "ratios": [{"model": r.model, **{key: _share(getattr(r, key), getattr(first, key))
                                         for key in ("params", "macs", "flops")}}
                   for r in comparison.reports],
        "pairs": [pair_dict(pair) for pair in comparison.pairs],
    }


def pair_dict(pair: PairComparison) -> dict[str, Any]:
    """One pair: shared layers, both differing parts, measured and predicted ratios."""
    def side(part: Any) -> dict[str, Any]:
        return {"layers": list(part.paths), "params": part.params, "macs": part.macs,
                "flops": part.flops}

    return {
        "base": pair.base, "other": pair.other,
        "shared": [{"base": a, "other": b} for a, b in pair.shared],
        "differing": {"base": side(pair.base_part), "other": side(pair.other_part)},
        "measured": {"params_ratio": pair.params_ratio, "macs_ratio": pair.macs_ratio,
                     "params_reduction": _inverse(pair.params_ratio),
                     "macs_reduction": _inverse(pair.macs_ratio)},
        "predicted": {
            "formula": "1/N + 1/D_K^2",
            "layers": [{"path": p.path, "kernel": list(p.kernel), "filters": p.filters,
                        "params": p.params, "macs": p.macs, "ratio": p.ratio}
                       for p in pair.predictions],
            "params_ratio": pair.predicted_params_ratio,
            "macs_ratio": pair.predicted_macs_ratio,
            "params_reduction": _inverse(pair.predicted_params_ratio),
            "macs_reduction": _inverse(pair.predicted_macs_ratio),
            "covered_params": pair.covered_params, "covered_macs": pair.covered_macs},
        "note": BIAS_NOTE,
    }


def compare_to_json(comparison: Comparison) -> str:
    return json.dumps(comparison_dict(comparison), indent=2) + "\n"


def _inverse(ratio: float | None) -> float | None:
    return 1 / ratio if ratio else None


def _times(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.4f}"


def totals_grid(comparison: Comparison) -> Grid:
    """Totals and per-kind params/MACs side by side, with ratios against the first model."""
    reports = comparison.reports
    first = reports[0]
    headers = ["", *[r.model for r in reports]]
    body = []
    for key, label in (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs")):
        values = [getattr(r, key) for r in reports]
        body.append([label, *[exact(v) for v in values]])
        body.append([f"  × {first.model}", *[_times(_share(v, values[0])) for v in values]])
    for kind in KINDS:
        groups = [{g.key: g for g in r.groups("kind")}[kind] for r in reports]
        body.append([f"{kind} params", *[f"{exact(g.params)} ({percent(g.params_share)})"
                                         for g in groups]])
        body.append([f"{kind} MACs", *[f"{exact(g.macs)} ({percent(g.macs_share)})"
                                       for g in groups]])
    return Grid(headers, [False, *([True] * len(reports))], body, [])


def pair_lines(pair: PairComparison) -> list[str]:
    """The differing part of one pair, measured against predicted, in words."""
    a, b = pair.base_part, pair.other_part
    lines = [f"{pair.other} vs {pair.base}: {_calls(len(pair.shared))} shared unchanged"
             f" ({', '.join(x for x, _ in pair.shared) or 'none'})",
             f"differing part: {pair.base} {_calls(len(a.paths))}, {exact(a.params)} params,"
             f" {exact(a.macs)} MACs; {pair.other} {_calls(len(b.paths))},"
             f" {exact(b.params)} params, {exact(b.macs)} MACs",
             f"measured {pair.other}/{pair.base}: params {exact(b.params)} / {exact(a.params)}"
             f" = {_ratio_text(pair.params_ratio)}; MACs {exact(b.macs)} / {exact(a.macs)}"
             f" = {_ratio_text(pair.macs_ratio)}"]
    for p in pair.predictions:
        lines.append(f"  {p.path}: standard {'×'.join(map(str, p.kernel))} conv, N={p.filters}:"
                     f" 1/N + 1/D_K² = {_ratio_text(p.ratio)}")
    if pair.predictions:
        lines.append(f"predicted by 1/N + 1/D_K²: params-weighted "
                     f"{_ratio_text(pair.predicted_params_ratio)}; MAC-weighted "
                     f"{_ratio_text(pair.predicted_macs_ratio)} (covers "
                     f"{exact(pair.covered_params)} of {exact(a.params)} params, "
                     f"{exact(pair.covered_macs)} of "
                     f"{exact(a.macs)} MACs of the differing part)")
        lines.append(f"note: {BIAS_NOTE}")
    else:
        lines.append(f"predicted: no standard k×k conv in {pair.base}'s differing part")
    return lines


def _calls(count: int) -> str:
    return f"{count} layer call{'' if count == 1 else 's'}"


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.4f} ({1 / ratio:.2f}× fewer)" if ratio else "0"


def compare_to_table(comparison: Comparison, options: RenderOptions | None = None) -> str:
    """Side-by-side totals and kinds, then each pair's differing part, as rich text."""
    options = options or RenderOptions()
    title = "compare: " + " vs ".join(r.model for r in comparison.reports)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    grid = totals_grid(comparison)
    for header, numeric in zip(grid.headers, grid.numeric):
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for line in grid.body:
        table.add_row(*line)
    parts: list[RenderableType] = [Text(title, style="bold"), table]
    for pair in comparison.pairs:
        parts += [Text(""), *[Text(line) for line in pair_lines(pair)]]
    return print_to_string(Group(*parts), options)


def compare_to_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: a side-by-side table, then one section per pair."""
    lines = ["### compare: " + " vs ".join(r.model for r in comparison.reports), ""]
    grid = totals_grid(comparison)
    rule = "| " + " | ".join("---:" if n else "---" for n in grid.numeric) + " |"
    lines += ["| " + " | ".join(grid.headers) + " |", rule]
    lines += ["| " + " | ".join(line) + " |" for line in grid.body]
    for pair in comparison.pairs:
        lines += ["", f"#### {pair.other} vs {pair.base}", ""]
        lines += [f"  - {line.strip()}" if line.startswith("  ") else f"- {line}"
                  for line in pair_lines(pair)]
    return "\n".join(lines) + "\n"
