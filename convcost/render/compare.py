"""Render a :class:`~convcost.analysis.compare.Comparison`: rich table, JSON or Markdown.

JSON of ``convcost compare`` (``schema_version`` 1): ``baseline``, ``models`` (model,
input_shape, totals, check, unsupported, groups by kind), ``ratios`` (each model's totals over
the first model's) and ``pairs`` (see :func:`pair_dict`; ``separable_rewrite`` and
``unmatched`` say whether the 1/N + 1/D_K² prediction applies to the pair, and
``predicted.applies`` repeats it beside the prediction).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from convcost.analysis.compare import BIAS_NOTE, Comparison, PairComparison
from convcost.count.report import ADDED_KINDS, KINDS
from convcost.render.analyze import SCHEMA_VERSION, RenderOptions, check_dict, groups_list, totals
from convcost.render.tables import Grid, check_choice, fitted_table, print_to_string
from convcost.render.units import exact, percent, share

FORMATS = ("table", "json", "markdown")


def render(data: Comparison, fmt: str, opts: RenderOptions | None = None) -> str:
    """Render ``data`` (a comparison) as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format for compare", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(comparison_dict(data), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(data)
    return _table(data, options)



def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    """The JSON object of ``convcost compare`` (``schema_version`` 1)."""
    first = comparison.reports[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": first.model,
        "models": [{"model": r.model, "input_shape": list(r.input_shape),
                    "totals": totals(r), "check": check_dict(r),
                    "unsupported": list(r.unsupported), "groups": groups_list(r, "kind")}
                   for r in comparison.reports],
        "ratios": [{"model": r.model, **{key: share(getattr(r, key), getattr(first, key))
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
        "separable_rewrite": pair.separable_rewrite,
        "unmatched": {"base": list(pair.unmatched_base), "other": list(pair.unmatched_other)},
        "shared": [{"base": a, "other": b} for a, b in pair.shared],
        "differing": {"base": side(pair.base_part), "other": side(pair.other_part)},
        "measured": {"params_ratio": pair.params_ratio, "macs_ratio": pair.macs_ratio,
                     "params_reduction": _inverse(pair.params_ratio),
                     "macs_reduction": _inverse(pair.macs_ratio)},
        "predicted": {
            "formula": "1/N + 1/D_K^2",
            "applies": pair.separable_rewrite,
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
        body.append([f"  × {first.model}", *[_times(share(v, values[0])) for v in values]])
    for kind in KINDS:
        groups = [{g.key: g for g in r.groups("kind")}[kind] for r in reports]
        if kind in ADDED_KINDS and not any(g.layers for g in groups):
            continue  # attention, recurrent, embedding: shown where a model has them
        body.append([f"{kind} params", *[f"{exact(g.params)} ({percent(g.params_share)})"
                                         for g in groups]])
        body.append([f"{kind} MACs", *[f"{exact(g.macs)} ({percent(g.macs_share)})"
                                       for g in groups]])
    return Grid(headers, [False, *([True] * len(reports))], body, [], wrap=(0,))


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
    if pair.predictions and not pair.separable_rewrite:
        return [*lines, _not_a_rewrite(pair)]
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


def _not_a_rewrite(pair: PairComparison) -> str:
    """Why the separable prediction is not applied to this pair."""
    left = [f"{pair.base}'s {', '.join(pair.unmatched_base)}" if pair.unmatched_base else "",
            f"{pair.other}'s {', '.join(pair.unmatched_other)}" if pair.unmatched_other else ""]
    return (f"predicted: not applied — {pair.other} is not a depthwise separable rewrite of "
            f"{pair.base} (no k×k depthwise + 1×1 pair of the same shapes for "
            f"{' and '.join(x for x in left if x)}); 1/N + 1/D_K² would predict a separable "
            f"rewrite of {pair.base}, not {pair.other}")


def _calls(count: int) -> str:
    return f"{count} layer call{'' if count == 1 else 's'}"


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:.4f} ({1 / ratio:.2f}× fewer)" if ratio else "0"


def _table(comparison: Comparison, options: RenderOptions) -> str:
    """Side-by-side totals and kinds, then each pair's differing part, as rich text."""
    title = "compare: " + " vs ".join(r.model for r in comparison.reports)
    table = fitted_table([totals_grid(comparison)], options.width)
    parts: list[RenderableType] = [Text(title, style="bold"), table]
    for pair in comparison.pairs:
        parts += [Text(""), *[Text(line) for line in pair_lines(pair)]]
    return print_to_string(Group(*parts), width=options.width, color=options.color)


def _markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: a side-by-side table, then one section per pair."""
    lines = ["### compare: " + " vs ".join(r.model for r in comparison.reports), ""]
    grid = totals_grid(comparison)
    rule = "| " + " | ".join("---:" if n else "---" for n in grid.numeric) + " |"
    lines += ["| " + " | ".join(grid.headers) + " |", rule]
    lines += ["| " + " | ".join(map(str, line)) + " |" for line in grid.body]
    for pair in comparison.pairs:
        lines += ["", f"#### {pair.other} vs {pair.base}", ""]
        lines += [f"  - {line.strip()}" if line.startswith("  ") else f"- {line}"
                  for line in pair_lines(pair)]
    return "\n".join(lines) + "\n"
