"""``analyze --symbolic``: a report and its formulas as a table, JSON, CSV or Markdown.

The formulas are exact polynomials in the free input sizes (:mod:`convcost.theory.model`).
The table shows each layer's output shape, params and MACs as formulas (``H/2×W/2×32``,
``72·H·W``), then the totals pretty-printed and as LaTeX, the domain where they are exact,
where they were proven, and the analysed size's numbers beside the formula's.

JSON is the object of ``analyze --format json`` (:func:`convcost.render.analyze.report_dict`,
unchanged) with keys added, every expression a sympy-parsable string::

    "totals": {..., "params_expr", "trainable_params_expr", "non_trainable_params_expr",
               "macs_expr", "other_flops_expr", "flops_expr"},
    "layers": [{..., "params_expr", "macs_expr", "other_flops_expr", "flops_expr",
                "output_shape_expr": [str, ...]}],          # when the rows align (see below)
    "groups": [{..., "params_expr", "macs_expr", "flops_expr"}],     # with --group-by
    "symbols": ["H", "W"],                                            # or ["L"]
    "domain": {"symbols", "step", "minimum", "maximum", "text"},
    "symbolic": {"latex": {"macs", "params", "flops"}, "degrees": {symbol: int},
                 "fitted_at": [{symbol: int}], "verified_at": [{symbol: int}],
                 "layers_aligned": bool, "note": str, "samples": int, "seconds": float,
                 "analysed": {"sizes", "on_domain", "macs", "formula_macs", "params",
                              "formula_params"}}

Layer rows get expressions only when the analysed report's layer calls match the formula's
(same count, Keras classes and paths); otherwise ``layers_aligned`` is false and ``note`` says
why. With ``--depth`` a folded row's expressions are the sums of its layers'.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy
from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.text import Text

from convcost.count.report import Report
from convcost.render.analyze import FORMATS, RenderOptions, check_line, report_dict
from convcost.render.rows import Row, rows
from convcost.render.tables import (
    Grid,
    check_choice,
    fitted_table,
    markdown_table,
    print_to_string,
)
from convcost.render.units import exact
from convcost.theory.model import SYMBOLS, LayerFormula, ModelFormula, Polynomial, rows_match

FIELDS = ("params", "macs", "other_flops", "flops")


@dataclass(frozen=True)
class Symbolic:
    """A report (the model at the sampled size) and the formulas derived for it."""

    report: Report
    formula: ModelFormula


def render(data: Symbolic, fmt: str, opts: RenderOptions | None = None) -> str:
    """Render the report with its formulas as ``fmt`` (table, json, csv or markdown)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    report, formula = data.report, data.formula
    if fmt == "json":
        return json.dumps(symbolic_dict(report, formula, options), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(report, formula, options)
    if fmt == "markdown":
        return to_markdown(report, formula, options)
    return to_table(report, formula, options)


# --- rows and their formulas ------------------------------------------------------------------


def aligned(report: Report, formula: ModelFormula) -> bool:
    """Whether the report's layer calls are the formula's, one for one."""
    return rows_match(report, formula)


def row_formulas(report: Report, formula: ModelFormula,
                 depth: int | None) -> list[LayerFormula | None]:
    """One formula per displayed row (folded rows summed), or Nones when not aligned."""
    shown = rows(report, depth)
    if not aligned(report, formula):
        return [None] * len(shown)
    result: list[LayerFormula | None] = []
    position = 0
    for row in shown:
        count = row.folded or 1
        result.append(_sum(formula.layers[position:position + count], row))
        position += count
    return result


def _sum(layers: Sequence[LayerFormula], row: Row) -> LayerFormula:
    if len(layers) == 1 and not row.folded:
        return layers[0]
    def total(name: str) -> Polynomial:
        result: Polynomial = getattr(layers[0], name)
        for layer in layers[1:]:
            result = result + getattr(layer, name)
        return result

    return LayerFormula(row.path, row.name, row.type, row.call_index, total("params"),
                        total("macs"), total("other_flops"), total("flops"),
                        layers[-1].output_shape)


def shape_formula(layer: LayerFormula | None) -> str:
    """``H/2×W/2×32`` (``?`` when there is no formula)."""
    if layer is None:
        return "?"
    return "×".join(size.text() for size in layer.output_shape) or "scalar"


# --- JSON -------------------------------------------------------------------------------------


def symbolic_dict(report: Report, formula: ModelFormula,
                  options: RenderOptions | None = None) -> dict[str, Any]:
    """The ``--format json`` object of ``analyze`` with the formula keys added."""
    options = options or RenderOptions()
    data = report_dict(report, options)
    data["totals"].update({f"{name}_expr": str(poly) for name, poly in formula.totals.items()})
    for entry, layer in zip(data["layers"], row_formulas(report, formula, options.depth)):
        if layer is not None:
            entry.update({f"{name}_expr": str(getattr(layer, name)) for name in FIELDS})
            entry["output_shape_expr"] = [str(size) for size in layer.output_shape]
    if "groups" in data:
        by = formula.groups(data["group_by"])
        found = {g.key: g for g in by}
        for entry in data["groups"]:
            group = found.get(entry[data["group_by"]])
            if group is not None:
                entry.update({f"{name}_expr": str(getattr(group, name))
                              for name in ("params", "macs", "flops")})
    data["symbols"] = list(formula.names)
    data["domain"] = formula.domain.to_dict()
    data["symbolic"] = _details(report, formula)
    return data


def _details(report: Report, formula: ModelFormula) -> dict[str, Any]:
    names = formula.names
    base = formula.base
    return {
        "latex": {name: getattr(formula, name).latex for name in ("macs", "params", "flops")},
        "degrees": dict(zip(names, formula.degrees)),
        "fitted_at": [dict(zip(names, p)) for p in formula.fitted_at],
        "verified_at": [dict(zip(names, p)) for p in formula.verified_at],
        "layers_aligned": aligned(report, formula),
        "note": _note(report, formula),
        "samples": formula.samples,
        "seconds": round(formula.seconds, 3),
        "analysed": None if base is None else {
            "sizes": dict(zip(names, base.sizes)), "on_domain": base.on_domain,
            "macs": base.macs, "formula_macs": _number(base.formula_macs),
            "params": base.params, "formula_params": _number(base.formula_params)},
    }


def _number(value: Any) -> int | str:
    """An exact integer as an int, a fraction as its sympy string."""
    return int(value) if value.denominator == 1 else str(value)


def _note(report: Report, formula: ModelFormula) -> str:
    if formula.layers and not aligned(report, formula):
        extra = ("The analysed model's layer calls differ from those the formulas were "
                 "derived on; per-layer formulas left out.")
        return " ".join(filter(None, [formula.note, extra]))
    return formula.note


# --- CSV --------------------------------------------------------------------------------------


def to_csv(report: Report, formula: ModelFormula, options: RenderOptions) -> str:
    """One line per row (or group) with its formulas as sympy strings (an output shape's sizes
    separated by ``;``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if options.group_by in ("kind", "type"):
        writer.writerow([options.group_by, "params_expr", "macs_expr", "flops_expr"])
        for group in formula.groups(options.group_by):
            writer.writerow([group.key, group.params, group.macs, group.flops])
        return out.getvalue()
    writer.writerow(["path", "name", "type", "output_shape_expr", *[f"{n}_expr" for n in FIELDS]])
    for row, layer in zip(rows(report, options.depth),
                          row_formulas(report, formula, options.depth)):
        cells = ([";".join(str(size) for size in layer.output_shape),
                  *(getattr(layer, n) for n in FIELDS)]
                 if layer is not None else [""] * 5)
        writer.writerow([row.path, row.name, row.type, *map(str, cells)])
    return out.getvalue()


# --- table and Markdown -----------------------------------------------------------------------


def formula_grid(report: Report, formula: ModelFormula, options: RenderOptions) -> Grid:
    """Rows of formulas: per layer (output, params, MACs[, FLOPs]) or per kind/class."""
    flops = ["FLOPs"] if options.flops else []
    if options.group_by in ("kind", "type"):
        body = [[g.key, g.params.text(), g.macs.text(), *([g.flops.text()] if flops else [])]
                for g in formula.groups(options.group_by)]
        return Grid([options.group_by, "params", "MACs", *flops],
                    [False, True, True, *([True] if flops else [])], body, _total(formula, flops))
    body = []
    for row, layer in zip(rows(report, options.depth),
                          row_formulas(report, formula, options.depth)):
        cells = ([layer.params.text(), layer.macs.text(), *([layer.flops.text()] if flops
                                                               else [])]
                 if layer is not None else ["?"] * (2 + len(flops)))
        kind = f"{row.folded} layers" if row.folded else row.type
        body.append([row.path, kind, shape_formula(layer), *cells])
    return Grid(["layer", "type", "output", "params", "MACs", *flops],
                [False, False, False, True, True, *([True] if flops else [])], body,
                ["total", "", "", *_total(formula, flops)[1:]])


def _total(formula: ModelFormula, flops: list[str]) -> list[str]:
    return ["total", formula.params.text(), formula.macs.text(),
            *([formula.flops.text()] if flops else [])]


def header(report: Report, formula: ModelFormula) -> str:
    """``v1 · input H×W×1 (analysed at 28×28×1) · backend tensorflow · 12 layer calls``."""
    names = formula.names
    shape = [*names, *(str(d) for d in report.input_shape[len(names):])]
    analysed = "×".join(str(d) for d in report.input_shape)
    return (f"{report.model} · input {'×'.join(shape)} (analysed at {analysed}) · backend "
            f"{report.backend or '?'} · {len(report.layers)} layer calls")


def equations(formula: ModelFormula) -> list[tuple[str, Polynomial]]:
    """(``MACs(H, W)``, polynomial) for MACs, FLOPs and params."""
    args = ", ".join(formula.names)
    return [(f"{label}({args})", getattr(formula, name))
            for label, name in (("MACs", "macs"), ("FLOPs", "flops"), ("params", "params"))]


def pretty_block(formula: ModelFormula) -> str:
    """The totals as sympy unicode art: ``MACs(H, W) = 3944⋅H⋅W + 17664``."""
    blocks = []
    for label, poly in equations(formula):
        name = sympy.Function(label.split("(")[0])(*[SYMBOLS[n] for n in formula.names])
        blocks.append(str(sympy.pretty(sympy.Eq(name, poly.expr, evaluate=False),
                                       use_unicode=True)))
    return "\n".join(blocks)


def latex_lines(formula: ModelFormula) -> list[str]:
    """``\\mathrm{MACs}(H, W) = 3944 H W + 17664`` for MACs, FLOPs and params."""
    args = ", ".join(formula.names)
    return [rf"\mathrm{{{label.split('(')[0]}}}({args}) = {poly.latex}"
            for label, poly in equations(formula)]


def proof_lines(formula: ModelFormula) -> list[str]:
    """Domain, where it was fitted and proven, the analysed size, and any note."""
    off = ("; off it strided layers round their sizes and the formulas are not exact"
           if any(step > 1 for step in formula.domain.steps) else "")
    lines = [f"domain: {formula.domain.text}{off}",
             f"proven: fitted at {_points(formula.fitted_at)}; equal to analyze, every count, "
             f"at {_points(formula.verified_at)}"]
    base = formula.base
    if base is not None:
        sizes = "×".join(map(str, base.sizes))
        if base.exact:
            lines.append(f"at {sizes}: {exact(base.macs)} MACs, {exact(base.params)} params = "
                         "the formulas ✓")
        else:
            got = base.formula_macs
            change = 100 * (base.macs - got) / got if got else 0
            lines.append(f"at {sizes} (off the domain): analyze {exact(base.macs)} MACs, the "
                         f"formula {float(got):,.0f} ({float(change):+.2f} %)")
    return lines


def _points(points: Sequence[tuple[int, ...]]) -> str:
    return ", ".join("×".join(map(str, p)) for p in points)


def to_table(report: Report, formula: ModelFormula, options: RenderOptions) -> str:
    """The rich table of formulas, the totals pretty and as LaTeX, the proof, the check."""
    parts: list[RenderableType] = [Text(header(report, formula), style="bold"),
                                   fitted_table([formula_grid(report, formula, options)],
                                                options.width),
                                   Text(pretty_block(formula), no_wrap=True),
                                   Text("LaTeX:"),
                                   *[Text("  " + line, no_wrap=True)
                                     for line in latex_lines(formula)]]
    parts += [Text(line) for line in proof_lines(formula)]
    note = _note(report, formula)
    if note:
        parts.append(Text(f"note: {note}", style="yellow"))
    check, ok = check_line(report)
    parts.append(Text(check, style="green" if ok else "bold red"))
    return print_to_string(RichGroup(*parts), width=options.width, color=options.color,
                           crop=False)


def to_markdown(report: Report, formula: ModelFormula, options: RenderOptions) -> str:
    """Header, the formula table, the totals as display LaTeX, the proof and the check."""
    lines = [f"### {header(report, formula)}", "",
             *markdown_table(formula_grid(report, formula, options)), ""]
    for line in latex_lines(formula):
        lines += ["$$", line, "$$", ""]
    lines += [f"- {line}" for line in proof_lines(formula)]
    note = _note(report, formula)
    if note:
        lines.append(f"- note: {note}")
    lines.append(f"- {check_line(report)[0]}")
    return "\n".join(lines) + "\n"
