"""``analyze --sweep``: params, MACs and their shares per kind across input sizes.

The table has one line per swept size: params, MACs (FLOPs with ``--flops``), whether the
formula gives the same numbers there (``=`` on its domain; off it, the formula's MACs), and
the share of MACs of each kind; a second table gives the share of params of each kind. The
caption is the formula along the sweep (``H = W = s``).

JSON::

    {"schema_version": 1, "model": str, "axis": "size" | "seq-len", "symbol": "s" | "L",
     "formula": {"macs_expr", "params_expr", "flops_expr",            # in the model's symbols
                 "macs_along", "params_along", "flops_along",          # in the swept symbol
                 "latex_along", "symbols", "domain"},
     "rows": [{"value", "sizes": {symbol: int}, "params", "macs", "flops", "on_domain",
               "formula_macs", "formula_params", "exact",
               "kinds": {kind: {"params", "macs", "params_share", "macs_share"}}}]}
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import sympy
from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.text import Text

from convcost.render.analyze import FORMATS, SCHEMA_VERSION, RenderOptions
from convcost.render.tables import Grid, check_choice, fitted_table, pipe_table, print_to_string
from convcost.render.units import exact
from convcost.theory.sweep import Sweep, SweepRow


def render(data: Sweep, fmt: str, opts: RenderOptions | None = None) -> str:
    """Render a sweep as ``fmt`` (table, json, csv or markdown)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "json":
        return json.dumps(sweep_dict(data), indent=2) + "\n"
    if fmt == "csv":
        return to_csv(data)
    if fmt == "markdown":
        return to_markdown(data, options)
    return to_table(data, options)


def caption(data: Sweep) -> str:
    """``MACs(s) = 47751·s²/8 + 1280000 at H = W = s; exact for ...``."""
    symbol = str(data.variable)
    where = "" if data.axis == "seq-len" else f" at {' = '.join(data.formula.names)} = {symbol}"
    return (f"MACs({symbol}) = {_text(data.along('macs'))}{where}; params({symbol}) = "
            f"{_text(data.along('params'))}; {data.formula.domain.text}")


def _text(expr: sympy.Expr) -> str:
    return str(expr).replace("**2", "²").replace("**3", "³").replace("*", "·")


#: Short column names of the kinds.
SHORT = {"standard": "std", "depthwise": "dw", "pointwise": "pw", "fully_connected": "fc",
         "other": "other", "attention": "attn", "recurrent": "rnn", "embedding": "emb"}


def _check(row: SweepRow) -> str:
    if row.exact:
        return "= ✓" if row.on_domain else "="
    return f"{float(row.formula_macs):,.0f} (off domain)"


def _kind_shares(data: Sweep, row: SweepRow, field: str) -> list[str]:
    groups = {g.key: g for g in row.kinds}
    return [f"{100 * getattr(groups[k], f'{field}_share'):.1f}" for k in data.kinds]


def grids(data: Sweep, options: RenderOptions) -> tuple[Grid, Grid]:
    """(counts, formula check and % of MACs per kind; % of params per kind); no total rows."""
    flops = ["FLOPs"] if options.flops else []
    kinds = [SHORT[k] for k in data.kinds]
    body = [[str(r.value), exact(r.params), exact(r.macs), *([exact(r.flops)] if flops else []),
             _check(r), *_kind_shares(data, r, "macs")] for r in data.rows]
    counts = Grid([data.axis, "params", "MACs", *flops, "formula", *kinds],
                  [True, True, True, *([True] if flops else []), False,
                   *([True] * len(kinds))], body, [])
    params = [[str(r.value), *_kind_shares(data, r, "params")] for r in data.rows]
    shares = Grid([data.axis, *kinds], [True] * (1 + len(kinds)), params, [])
    return counts, shares


def _legend(data: Sweep) -> str:
    kinds = ", ".join(f"{SHORT[k]} = {k}" for k in data.kinds if SHORT[k] != k)
    return (f"formula: '= ✓' where analyze equals the formula on its domain, else the "
            f"formula's MACs; kind columns: % of the total ({kinds})")


def to_table(data: Sweep, options: RenderOptions) -> str:
    """Caption, the counts table, the params-shares table."""
    counts, shares = grids(data, options)
    parts: list[RenderableType] = [
        Text(f"{data.model} · sweep of {data.axis} · {len(data.rows)} sizes", style="bold"),
        Text(caption(data)), Text("MACs, and % of MACs per kind:"),
        fitted_table([counts], options.width), Text("% of params per kind:"),
        fitted_table([shares], options.width), Text(_legend(data), style="dim")]
    return print_to_string(RichGroup(*parts), width=options.width, color=options.color,
                           crop=False)


def to_markdown(data: Sweep, options: RenderOptions) -> str:
    """The two tables as Markdown, the caption in italics above them."""
    counts, shares = grids(data, options)
    return "\n".join([f"*{caption(data)}*", "", "MACs, and % of MACs per kind:", "",
                      *pipe_table(counts.headers, _plain(counts.body), counts.numeric), "",
                      "% of params per kind:", "",
                      *pipe_table(shares.headers, _plain(shares.body), shares.numeric), "",
                      f"*{_legend(data)}*"]) + "\n"


def _plain(body: Sequence[Sequence[Any]]) -> list[list[str]]:
    return [[str(cell) for cell in line] for line in body]


def to_csv(data: Sweep) -> str:
    """One line per size: counts, the formula's MACs, MACs and params share per kind."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([data.axis, "params", "macs", "flops", "on_domain", "formula_macs",
                     *[f"{k}_macs_share" for k in data.kinds],
                     *[f"{k}_params_share" for k in data.kinds]])
    for row in data.rows:
        groups = {g.key: g for g in row.kinds}
        writer.writerow([row.value, row.params, row.macs, row.flops,
                         str(row.on_domain).lower(), str(row.formula_macs),
                         *[groups[k].macs_share for k in data.kinds],
                         *[groups[k].params_share for k in data.kinds]])
    return out.getvalue()


def sweep_dict(data: Sweep) -> dict[str, Any]:
    """The JSON object of the module docstring."""
    formula = data.formula
    return {
        "schema_version": SCHEMA_VERSION, "model": data.model, "axis": data.axis,
        "symbol": str(data.variable),
        "formula": {"macs_expr": str(formula.macs), "params_expr": str(formula.params),
                    "flops_expr": str(formula.flops),
                    **{f"{f}_along": str(data.along(f)) for f in ("macs", "params", "flops")},
                    "latex_along": sympy.latex(data.along("macs")),
                    "symbols": list(formula.names), "domain": formula.domain.to_dict()},
        "rows": [_row_dict(row, formula.names) for row in data.rows],
    }


def _row_dict(row: SweepRow, names: tuple[str, ...]) -> dict[str, Any]:
    return {"value": row.value, "sizes": dict(zip(names, row.sizes)), "params": row.params,
            "macs": row.macs, "flops": row.flops, "on_domain": row.on_domain,
            "formula_macs": str(row.formula_macs), "formula_params": str(row.formula_params),
            "exact": row.exact,
            "kinds": {g.key: {"params": g.params, "macs": g.macs,
                              "params_share": g.params_share, "macs_share": g.macs_share}
                      for g in row.kinds}}
