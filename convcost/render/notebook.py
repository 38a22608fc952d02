"""Reports in pandas and notebooks: DataFrames, and the compact HTML a notebook shows.

``Report.to_pandas()``, ``Report._repr_html_()`` and the same two of ``Comparison`` call these
functions. They import this module inside those methods: the one place where ``count`` and
``analysis`` reach into ``render`` (see docs/architecture.md), so that a notebook shows a
report without importing anything more. pandas is optional (the ``report`` extra).

The layer DataFrame's columns are the layer fields of ``convcost analyze --format json``, in
the same order, because both are made by :func:`convcost.render.analyze.report_dict`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.count.report import Report
from convcost.errors import ConvcostError
from convcost.render.analyze import RenderOptions, check_dict, report_dict, totals
from convcost.render.compare import pair_lines
from convcost.render.html import esc
from convcost.render.units import KIND_COLORS, exact, human, shape_text, share

if TYPE_CHECKING:
    from convcost.analysis.compare import Comparison

# Integer columns of the layer table (int64: exact up to 9.2e18 per layer).
INT_COLUMNS = ("params", "keras_params", "macs", "flops", "other_flops", "call_index",
               "folded_layers")
LAYER_FIELDS = ("name", "path", "type", "kind", "input_shapes", "output_shape", "params",
                "keras_params", "macs", "flops", "other_flops", "supported", "call_index",
                "folded_layers", "note", "from_ops")
TOP_LAYERS = 10


def pandas() -> Any:
    """The pandas module, or a one-line error saying how to install it."""
    try:
        import pandas as pd
    except ImportError:
        raise ConvcostError("DataFrames need pandas: pip install 'convcost[report]'. "
                            "Received: no module named 'pandas'.") from None
    return pd


def report_frame(report: Report, options: RenderOptions | None = None) -> Any:
    """One row per layer call (per folded row with ``options.depth``) as a DataFrame.

    Columns are the JSON's layer fields (``name``, ``path``, ``type``, ``kind``,
    ``input_shapes``, ``output_shape``, ``params``, ``keras_params``, ``macs``, ``flops``,
    ``other_flops``, ``supported``, ``call_index``, ``folded_layers``, ``note``, then the
    ``--memory``/``--roofline`` fields when ``options`` asks for them); shapes are tuples.
    ``attrs`` holds ``model``, ``input_shape``, ``totals`` and ``check``.
    """
    pd = pandas()
    data = report_dict(report, options)
    records = [{**row, "input_shapes": tuple(tuple(s) for s in row["input_shapes"]),
                "output_shape": tuple(row["output_shape"])} for row in data["layers"]]
    columns = list(data["layers"][0]) if records else list(LAYER_FIELDS)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for name in INT_COLUMNS:
        frame[name] = frame[name].astype("int64")
    frame["supported"] = frame["supported"].astype(bool)
    frame["from_ops"] = frame["from_ops"].astype(bool)
    frame.attrs.update({key: data[key] for key in ("model", "input_shape", "totals", "check")})
    return frame


def comparison_frame(comparison: Comparison, *, layers: bool = False) -> Any:
    """A comparison as a DataFrame: one row per model, or (``layers=True``) per layer call.

    Per model: ``model``, ``input_shape``, the totals of the JSON (``params``,
    ``trainable_params``, ``non_trainable_params``, ``macs``, ``flops``, ``other_flops``),
    ``params_match``, and each total over the first model's (``params_ratio``,
    ``macs_ratio``, ``flops_ratio``). Per layer: ``model`` then the layer fields.
    """
    pd = pandas()
    if layers:
        frames = [report_frame(r).assign(model=r.model) for r in comparison.reports]
        joined = pd.concat(frames, ignore_index=True)
        return joined[["model", *[c for c in joined.columns if c != "model"]]]
    first = comparison.reports[0]
    return pd.DataFrame.from_records([
        {"model": r.model, "input_shape": tuple(r.input_shape), **totals(r),
         "params_match": r.params_match,
         **{f"{key}_ratio": share(getattr(r, key), getattr(first, key))
            for key in ("params", "macs", "flops")}} for r in comparison.reports])


# --- the notebook's view: small, inline styles only, no script -----------------------------


def report_html(report: Report) -> str:
    """A notebook's view of a report: totals, the params check, MACs per kind as bars, and
    the :data:`TOP_LAYERS` layers by MACs (``to_pandas()`` has them all)."""
    check = check_dict(report)
    mark = _mark(check["match"])
    unsupported = ", ".join(f"{esc(k)} × {v}" for k, v in report.unsupported.items())
    head = (f"<b>{esc(report.model)}</b> · input {esc(shape_text(report.input_shape))} · "
            f"{exact(len(report.layers))} layer calls<br>params {exact(report.params)} "
            f"({human(report.params)}) {mark} model.count_params() "
            f"{exact(report.keras_count_params)} · MACs {exact(report.macs)} "
            f"({human(report.macs)}) · FLOPs {exact(report.flops)}"
            + (f"<br>unsupported (not counted): {unsupported}" if unsupported else ""))
    return (f"<div>{head}{_kinds_html(report)}{_top_html(report)}<small>report.to_pandas()"
            " has every layer; convcost analyze MODEL --format html draws them.</small></div>")


def _mark(ok: bool) -> str:
    return ("<span style='color:#18794e'>✓</span>" if ok
            else "<span style='color:#c62828'>✗</span>")


def _kinds_html(report: Report) -> str:
    rows = "".join(
        f"<tr><td>{esc(g.key)}</td><td style='text-align:right'>{exact(g.macs)}</td>"
        f"<td style='text-align:right'>{100 * g.macs_share:.1f}%</td><td style='width:160px'>"
        f"<div style='background:{KIND_COLORS.get(g.key, '#999')};height:10px;"
        f"width:{100 * g.macs_share:.1f}%'></div></td></tr>"
        for g in sorted(report.groups("kind"), key=lambda g: -g.macs) if g.macs)
    return f"<table><tr><th>kind</th><th>MACs</th><th>share</th><th></th></tr>{rows}</table>"


def _top_html(report: Report) -> str:
    top = sorted(report.layers, key=lambda row: -row.macs)[:TOP_LAYERS]
    rows = "".join(
        f"<tr><td>{esc(row.path)}</td><td>{esc(row.type)}</td>"
        f"<td style='text-align:right'>{exact(row.params)}</td>"
        f"<td style='text-align:right'>{exact(row.macs)}</td>"
        f"<td style='text-align:right'>{100 * share(row.macs, report.macs):.1f}%</td></tr>"
        for row in top)
    return (f"<table><tr><th>top {len(top)} layers by MACs</th><th>type</th><th>params</th>"
            f"<th>MACs</th><th>share</th></tr>{rows}</table>")


def comparison_html(comparison: Comparison) -> str:
    """A notebook's view of a comparison: totals side by side, then each pair in words."""
    reports = comparison.reports
    head = "".join(f"<th>{esc(r.model)}</th>" for r in reports)
    body = "".join(
        f"<tr><td>{label}</td>" + "".join(
            f"<td style='text-align:right'>{exact(getattr(r, key))} "
            f"({share(getattr(r, key), getattr(reports[0], key)):.4f}×)</td>" for r in reports)
        + "</tr>" for key, label in (("params", "params"), ("macs", "MACs"), ("flops", "FLOPs")))
    checks = "<tr><td>params check</td>" + "".join(
        f"<td style='text-align:right'>{_mark(r.params_match)}</td>" for r in reports) + "</tr>"
    pairs = "".join("<p>" + "<br>".join(esc(line) for line in pair_lines(pair)) + "</p>"
                    for pair in comparison.pairs)
    return (f"<div><table><tr><th></th>{head}</tr>{body}{checks}</table>{pairs}"
            "<small>comparison.to_pandas() has the totals; to_pandas(layers=True) every "
            "layer.</small></div>")
