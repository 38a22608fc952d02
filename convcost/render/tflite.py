"""Render ``convcost analyze model.tflite`` (optionally ``--against`` its Keras model).

The op rows use the renderers of :mod:`convcost.render.analyze` (same columns, ``--group-by``,
CSV). JSON is the ``analyze`` contract (for a ``.tflite`` file ``check.keras_count_params``
holds the params the file's buffers store, bytes / element size) plus two keys::

    "tflite": {"file", "bytes", "schema", "subgraphs", "batch", "precision",
               "params_per_op", "shared_params", "stored_params",
               "op_counts": {op: int}, "unsupported_ops": [str]},
    "against": {"keras_model", "ok", "macs_match", "weights_match",
                "kinds": [{"kind", "keras_weights", "file_weights", "keras_biases",
                           "file_biases", "keras_macs", "file_macs"}],
                "keras_params", "batchnorm_params", "dropped_zero_biases", "created_biases",
                "keras_other_params", "file_other_params", "expected_params_per_op",
                "file_params_per_op", "unexplained_params", "shared_params",
                "file_params_stored", "unmatched_keras", "unmatched_file",
                "unexplained_biases"}          # with --against only
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from convcost.analysis.tflite import TfliteCheck
from convcost.count.tflite import TfliteAnalysis
from convcost.render.analyze import (
    RenderOptions,
    group_grid,
    layer_grid,
    report_dict,
    to_csv,
    totals_lines,
)
from convcost.render.tables import (
    Grid,
    check_choice,
    fitted_table,
    markdown_table,
    pipe_table,
    print_to_string,
)
from convcost.render.units import exact, shape_text

FORMATS = ("table", "json", "csv", "markdown")


@dataclass(frozen=True)
class TfliteResult:
    """A .tflite file's analysis and, with ``--against``, its check against a Keras model."""

    analysis: TfliteAnalysis
    check: TfliteCheck | None = None


def render(data: TfliteResult, fmt: str, opts: RenderOptions | None = None) -> str:
    """The analysis (and the cross-check, if any) as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    analysis, check = data.analysis, data.check
    if fmt == "json":
        return json.dumps(tflite_dict(analysis, options, check), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(analysis.report, options)
    if fmt == "markdown":
        return _markdown(analysis, options, check)
    return _table(analysis, options, check)


def tflite_dict(analysis: TfliteAnalysis, options: RenderOptions,
                check: TfliteCheck | None = None) -> dict[str, Any]:
    """The JSON object of the module docstring."""
    data = report_dict(analysis.report, options)
    file = analysis.file
    counts: dict[str, int] = {}
    for op in file.ops:
        counts[op.name] = counts.get(op.name, 0) + 1
    data["tflite"] = {
        "file": file.path, "bytes": file.size_bytes, "schema": file.schema,
        "subgraphs": file.subgraphs, "batch": file.batch, "precision": analysis.precision,
        "params_per_op": analysis.params_per_op, "shared_params": analysis.shared_params,
        "stored_params": analysis.report.params, "op_counts": counts,
        "unsupported_ops": list(analysis.report.unsupported)}
    if check is not None:
        data["against"] = check_dict(check)
    return data


def check_dict(check: TfliteCheck) -> dict[str, Any]:
    """The cross-check as plain data, with its derived totals."""
    return {"keras_model": check.keras_model, "ok": check.ok, "macs_match": check.macs_match,
            "weights_match": check.weights_match,
            "kinds": [vars(kind) for kind in check.kinds],
            **{key: getattr(check, key) for key in (
                "keras_params", "batchnorm_params", "dropped_zero_biases", "created_biases",
                "keras_other_params", "file_other_params", "expected_params_per_op",
                "file_params_per_op", "unexplained_params", "shared_params",
                "file_params_stored")},
            "unmatched_keras": list(check.unmatched_keras),
            "unmatched_file": list(check.unmatched_file),
            "unexplained_biases": list(check.unexplained_biases)}


def header_line(analysis: TfliteAnalysis) -> str:
    report = analysis.report
    return (f"{report.model} · input {shape_text(report.input_shape)} · {analysis.precision} "
            f"weights · {len(report.layers)} ops · {exact(analysis.file.size_bytes)} bytes")


def stored_line(analysis: TfliteAnalysis) -> tuple[str, bool]:
    """The params count against the stored buffers, and the shared constants."""
    report = analysis.report
    shared = (f" ({exact(analysis.shared_params)} more if every op counted the identical "
              f"constants it shares with an earlier op)" if analysis.shared_params else "")
    if report.params_match:
        return f"params match the file's weight buffers: {exact(report.params)} ✓{shared}", True
    return (f"params MISMATCH: counted {exact(report.params)}, buffers hold "
            f"{exact(report.keras_count_params)} ✗", False)


def unsupported_lines(analysis: TfliteAnalysis) -> list[str]:
    return [f"{name} × {count}: no cost rule; MACs/FLOPs not counted, params: its constants"
            for name, count in analysis.report.unsupported.items()]


def kinds_grid(check: TfliteCheck) -> Grid:
    """Weights, biases and MACs per kind: the Keras model against the file."""
    headers = ["kind", "Keras weights", "file weights", "Keras biases", "file biases",
               "Keras MACs", "file MACs"]
    body = [[k.kind, *(exact(v) for v in (k.keras_weights, k.file_weights, k.keras_biases,
                                          k.file_biases, k.keras_macs, k.file_macs))]
            for k in check.kinds]
    sums = [sum(getattr(k, name) for k in check.kinds) for name in
            ("keras_weights", "file_weights", "keras_biases", "file_biases", "keras_macs",
             "file_macs")]
    return Grid(headers, [False] + [True] * 6, body, ["total", *(exact(v) for v in sums)],
                wrap=(0,))


def accounting_lines(check: TfliteCheck) -> list[str]:
    """Keras params, every named difference, and what the file uses and stores."""
    mark = "✓" if check.unexplained_params == 0 else f"✗ ({exact(check.unexplained_params)} " \
                                                      "unexplained)"
    stored = check.file_params_per_op - check.shared_params == check.file_params_stored
    lines = [
        f"Keras params (count_params) of {check.keras_model}: {exact(check.keras_params)}",
        f"  − BatchNormalization, folded into neighbouring weights: "
        f"{exact(check.batchnorm_params)}",
        f"  − all-zero biases the converter dropped: {exact(check.dropped_zero_biases)}",
        f"  + biases created by folding into bias-free layers: {exact(check.created_biases)}",
        f"  − other Keras params: {exact(check.keras_other_params)}; + constants of other "
        f"ops in the file: {exact(check.file_other_params)}",
        f"  = params the file's ops use: {exact(check.expected_params_per_op)}; counted "
        f"{exact(check.file_params_per_op)} {mark}",
        f"  − identical constants stored once: {exact(check.shared_params)}",
        f"  = params the file stores: {exact(check.file_params_stored)} "
        f"{'✓' if stored else '✗'}",
        f"MACs equal per kind: {'yes ✓' if check.macs_match else 'NO ✗'}; weights equal per "
        f"kind: {'yes ✓' if check.weights_match else 'NO ✗'}"]
    for label, items in (("Keras layers without a matching op", check.unmatched_keras),
                         ("ops without a matching Keras layer", check.unmatched_file),
                         ("bias changes not explained", check.unexplained_biases)):
        if items:
            lines.append(f"{label}: {', '.join(items)}")
    return lines


def _grid(analysis: TfliteAnalysis, options: RenderOptions, bars: bool) -> Grid:
    if options.group_by in ("kind", "type"):
        return group_grid(analysis.report, options)
    return layer_grid(analysis.report, options, bars)


def _fitted(analysis: TfliteAnalysis, options: RenderOptions) -> Any:
    """The op table for the width: the bars go first, then the op type; numbers never cut."""
    variants = [_grid(analysis, options, True)]
    if options.group_by == "layer":
        plain = _grid(analysis, options, False)
        variants += [plain, plain.without("type")]
    return fitted_table(variants, options.width)


def _table(analysis: TfliteAnalysis, options: RenderOptions, check: TfliteCheck | None) -> str:
    parts: list[RenderableType] = [Text(header_line(analysis), style="bold"),
                                   _fitted(analysis, options)]
    parts += [Text(line) for line in totals_lines(analysis.report, options)[:1]]
    line, ok = stored_line(analysis)
    parts.append(Text(line, style="green" if ok else "bold red"))
    if unsupported_lines(analysis):
        parts.append(Panel("\n".join(unsupported_lines(analysis)), title="unsupported ops",
                           style="yellow", title_align="left", expand=False))
    if check is not None:
        parts += [Text(""), Text(f"against {check.keras_model}", style="bold"),
                  fitted_table([kinds_grid(check)], options.width),
                  *(Text(text) for text in accounting_lines(check))]
    return print_to_string(Group(*parts), width=options.width, color=options.color)


def _markdown(analysis: TfliteAnalysis, options: RenderOptions,
              check: TfliteCheck | None) -> str:
    lines = [f"### {header_line(analysis)}", "", *markdown_table(_grid(analysis, options, False)),
             "", f"- {totals_lines(analysis.report, options)[0]}",
             f"- {stored_line(analysis)[0]}"]
    lines += [f"- unsupported: {text}" for text in unsupported_lines(analysis)]
    if check is not None:
        grid = kinds_grid(check)
        lines += ["", f"#### Against {check.keras_model}", "",
                  *pipe_table(grid.headers, [[str(c) for c in line]
                                             for line in (*grid.body, grid.total)],
                              grid.numeric), "",
                  "```text", *accounting_lines(check), "```"]
    return "\n".join(lines) + "\n"
