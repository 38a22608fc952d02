"""The report as one self-contained, interactive HTML file (``analyze --format html``).

Everything is inside the file: Plotly's JavaScript is inlined from the installed ``plotly``
package (the ``report`` extra), and a Content-Security-Policy forbids every network load, so
the page works offline and a stray fetch shows as a console error. The page holds:

* the summary: totals, per batch, memory and roofline when asked, and the check of the
  counted params against ``model.count_params()`` (written in HTML: readable without JS);
* the per-layer table, sortable by any column and filtered by a search box. Integers are
  sorted exactly (as decimal strings, beyond 2**53 too); ties keep the layer order. The DOM
  holds :data:`PAGE_ROWS` rows at a time and a button shows the rest;
* treemaps of MACs (and params, with a toggle) by block (path prefix) and by kind and Keras
  class, summed in Python; a big model's tree is cut at :data:`MAX_TREEMAP_NODES` nodes;
* with ``--memory``: bytes per layer; with ``--roofline``: each layer on the roofline.

Every name is escaped (HTML text, and the entities Plotly decodes in its labels). The page is
built from the JSON dict of ``--format json`` (:func:`html_page`; a Report goes through
:func:`convcost.render.analyze.to_html`), so a saved JSON file can be turned into a page too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from convcost import __version__
from convcost.errors import ConvcostError
from convcost.render.units import KIND_COLORS, exact, human, shape_text

PAGE_ROWS = 1000  # rows in the DOM at once: sorting 10,000 DOM rows takes seconds
MAX_TREEMAP_NODES = 600  # Plotly draws ~2 ms per treemap node

# (JSON key, header, numeric); the memory/roofline columns appear when the layers have them
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("index", "#", True), ("path", "layer", False), ("type", "type", False),
    ("kind", "kind", False), ("output_shape", "output", False), ("params", "params", True),
    ("macs", "MACs", True), ("macs_share", "MACs %", True), ("flops", "FLOPs", True),
    ("bytes", "bytes", True), ("intensity", "FLOP/B", True),
    ("activation_bytes", "output bytes", True), ("bound", "bound", False),
    ("bound_seconds", "bound µs", True),
)
_OPTIONAL = {"bytes", "intensity", "activation_bytes", "bound", "bound_seconds"}


def html_page(data: dict[str, Any], *, plotly_js: str | None = None) -> str:
    """The page of a report's JSON dict (``convcost analyze --format json``).

    Args:
        data: the dict of :func:`convcost.render.analyze.report_dict`, or its JSON loaded.
        plotly_js: Plotly's JavaScript (default: the installed package's, inlined).
    """
    script = plotly_script() if plotly_js is None else plotly_js
    layers = data["layers"]
    columns = [c for c in COLUMNS if c[0] not in _OPTIONAL or (layers and c[0] in layers[0])]
    total = data["totals"]["macs"]
    rows = [_row_html(i, layer, columns, total) for i, layer in enumerate(layers)]
    figures = figures_of(data)
    payload = {"page": PAGE_ROWS, "rows": rows, "figures": figures,
               "columns": [{"key": k, "numeric": n} for k, _, n in columns],
               "sort": [_sort_keys(layers, key, numeric) for key, _, numeric in columns],
               "search": [" ".join((x["name"], x["path"], x["type"], x["kind"])).lower()
                          for x in layers]}
    title = f"convcost: {data['model']}"
    return _PAGE.format(
        title=esc(title), summary=summary_html(data), table=_table_html(rows, columns),
        n=exact(len(layers)), version=esc(__version__), style=_STYLE, script=_SCRIPT,
        charts="".join(f'<div class="chart" id="{esc(name)}"></div>' for name in figures),
        payload=script_json(payload), plotly=script.replace("</script", "<\\/script"),
        charts_js=_CHARTS, csp=CSP)


def plotly_script() -> str:
    """Plotly's JavaScript from the installed package; a one-line error when it is missing."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ConvcostError("The HTML report needs plotly: pip install 'convcost[report]'. "
                            "Received: no module named 'plotly'.") from None
    return str(get_plotlyjs())


# --- escaping ---------------------------------------------------------------------------------

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def esc(value: Any) -> str:
    """Text for HTML element content and quoted attribute values."""
    return html.escape(str(value), quote=True)


def plotly_text(value: str) -> str:
    """A label for Plotly, which renders a subset of HTML (``<b>``, ``<a>``) in labels."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def script_json(data: Any) -> str:
    """JSON to place inside ``<script type="application/json">``: nothing in it can close the
    tag or open a comment (``<``, ``>``, ``&`` and the JS line separators as ``\\uXXXX``)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


# --- summary and table ------------------------------------------------------------------------


def summary_html(data: dict[str, Any]) -> str:
    """The summary as an HTML table: model, totals, the params check, unsupported layers."""
    t, check = data["totals"], data["check"]
    ok = check["match"]
    rows = [
        ("model", esc(data["model"])),
        ("input", esc(shape_text(data["input_shape"]))),
        ("backend", esc(data.get("backend") or "?")),
        ("params", f"{exact(t['params'])} ({human(t['params'])}): "
                   f"{exact(t['trainable_params'])} trainable, "
                   f"{exact(t['non_trainable_params'])} non-trainable"),
        ("MACs", f"{exact(t['macs'])} ({human(t['macs'])}) per sample"),
        ("FLOPs", f"{exact(t['flops'])} ({human(t['flops'])}) = 2·MACs + "
                  f"{exact(t['other_flops'])} other"),
        ("check", f'<span class="{"ok" if ok else "bad"}" id="check">{"✓" if ok else "✗"}'
                  f"</span> counted {exact(check['counted_params'])} params, "
                  f"model.count_params() {exact(check['keras_count_params'])}"),
        *_summary_extras(data),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="summary" id="summary">{body}</table>'


def _summary_extras(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Mismatched layers, unsupported layers, per batch, memory and roofline lines."""
    t, rows = data["totals"], []
    if data["check"]["mismatched_layers"]:
        rows.append(("mismatched", ", ".join(
            f"{esc(m['path'])} ({exact(m['params'])} vs {exact(m['keras_params'])})"
            for m in data["check"]["mismatched_layers"])))
    unsupported = data.get("unsupported_counts") or {}
    rows.append(("unsupported", ", ".join(f"{esc(k)} × {v}" for k, v in unsupported.items())
                 + " (no cost rule: MACs not counted, params from Keras)" if unsupported
                 else "none"))
    if "per_batch" in data:
        batch = data["per_batch"]
        rows.append((f"batch of {data['batch_size']}",
                     f"{exact(batch['macs'])} MACs, {exact(batch['flops'])} FLOPs"))
    if "bytes" in t:
        rows.append(("memory", f"{exact(t['bytes'])} bytes moved ({esc(data.get('dtype'))}), "
                               f"{t['intensity']:.2f} FLOP/B, peak activation "
                               f"{exact(t['peak_activation_bytes'])} bytes"))
    if "predicted_seconds" in t and data.get("device"):
        d = data["device"]
        rows.append(("roofline", f"{t['predicted_seconds'] * 1e3:.3f} ms predicted on "
                                 f"{esc(d.get('name', '?'))}: {d['peak_flops'] / 1e9:.1f} "
                                 f"GFLOP/s, {d['bandwidth'] / 1e9:.1f} GB/s"))
    return rows


def _cell(layer: dict[str, Any], key: str, index: int, total_macs: int) -> str:
    if key == "index":
        return str(index)
    if key == "output_shape":
        return esc(shape_text(layer[key]))
    if key == "macs_share":
        return f"{100 * layer['macs'] / total_macs:.2f}" if total_macs else "0.00"
    if key == "intensity":
        return f"{layer[key]:.2f}"
    if key == "bound_seconds":
        return f"{layer[key] * 1e6:.1f}"
    value = layer[key]
    return exact(value) if isinstance(value, int) and not isinstance(value, bool) else esc(value)


def _row_html(index: int, layer: dict[str, Any], columns: Sequence[tuple[str, str, bool]],
              total_macs: int) -> str:
    """One table row, escaped once here; JS only moves these strings around."""
    mark = ""
    if not layer["supported"]:
        mark = ' class="unsupported"'
    elif layer["params"] != layer["keras_params"]:
        mark = ' class="mismatch"'
    note = f' title="{esc(layer["note"])}"' if layer.get("note") else ""
    cells = "".join(f'<td class="num">{_cell(layer, key, index, total_macs)}</td>' if numeric
                    else f"<td>{_cell(layer, key, index, total_macs)}</td>"
                    for key, _, numeric in columns)
    return f'<tr data-i="{index}"{mark}{note}>{cells}</tr>'


def _table_html(rows: list[str], columns: Sequence[tuple[str, str, bool]]) -> str:
    """The table with its first page of rows (readable without JS), and the show-all button."""
    head = "".join(f'<th class="{"num" if numeric else "txt"}" aria-sort="none" tabindex="0">'
                   f"{esc(label)}</th>" for _, label, numeric in columns)
    more = (f'<p id="more-note">{exact(len(rows) - PAGE_ROWS)} more rows: enable JavaScript, '
            "or use --format csv</p>" if len(rows) > PAGE_ROWS else "")
    return (f'<table id="layers"><thead><tr>{head}</tr></thead><tbody>'
            f'{"".join(rows[:PAGE_ROWS])}</tbody></table>{more}'
            '<button id="more" type="button" hidden></button>')


def _sort_keys(layers: list[dict[str, Any]], key: str, numeric: bool) -> list[Any] | None:
    """What JS sorts a column by: exact ints as decimal strings, floats, lowercased text."""
    if key == "index":
        return None  # the layer order itself
    if key == "macs_share":
        key = "macs"  # the same order, exactly
    if key == "output_shape":
        return [shape_text(x[key]) for x in layers]
    values = [x[key] for x in layers]
    if numeric and all(isinstance(v, int) for v in values):
        return [str(v) for v in values]
    return [float(v) for v in values] if numeric else [str(v).lower() for v in values]


# --- charts: raw Plotly figure dicts ----------------------------------------------------------


def figures_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The page's charts by element id: two treemaps; memory and roofline when present."""
    layers = data["layers"]
    figures = {"treemap-block": treemap(data, block_of, "by block"),
               "treemap-kind": treemap(data, lambda x: [x["kind"], x["type"]],
                                       "by kind and Keras class")}
    if layers and "activation_bytes" in layers[0]:
        figures["memory"] = _memory_figure(data)
    if layers and "bound_seconds" in layers[0] and data.get("device"):
        figures["roofline"] = _roofline_figure(data)
    return figures


def block_of(layer: dict[str, Any]) -> list[str]:
    """A layer's place in the block tree: its path's parents (nested models); in a flat
    model, its name up to a token naming a block (``conv2_block1_1_conv`` -> ``conv2_block1``,
    ``block_3_expand`` -> ``block_3``)."""
    parts = layer["path"].split("/")
    if len(parts) > 1:
        return parts[:-1]
    tokens = layer["name"].split("_")
    for i, token in enumerate(tokens[:-1]):
        if "block" in token.lower():
            end = i + 2 if token.lower() == "block" and i + 2 < len(tokens) else i + 1
            return ["_".join(tokens[:end])]
    return []


class _Tree:
    """Treemap nodes, each a sum of layer calls; ids are unique paths (+ '#call')."""

    def __init__(self, model: str) -> None:
        self.index: dict[str, int] = {"": 0}
        self.ids, self.labels, self.parents = [""], [plotly_text(model)], [""]
        self.macs, self.params, self.calls = [0], [0], [0]
        self.kinds: list[set[str]] = [set()]

    def node(self, node_id: str, label: str, parent: str) -> int:
        if node_id not in self.index:
            self.index[node_id] = len(self.ids)
            self.ids.append(node_id)
            self.labels.append(plotly_text(label))
            self.parents.append(parent)
            for values in (self.macs, self.params, self.calls):
                values.append(0)
            self.kinds.append(set())
        return self.index[node_id]

    def add(self, layer: dict[str, Any], chain: list[str], depth: int) -> None:
        """Add a layer call under its chain, cut at ``depth`` levels (deeper: summed into
        the node at the cut)."""
        parent = ""
        for part in chain[:depth]:
            self.node(f"{parent}/{part}", part, parent)
            parent = f"{parent}/{part}"
        at = self.index[parent]
        if len(chain) < depth:
            at = self.node(f"{parent}/{layer['path']}#{layer['call_index']}", layer["name"],
                           parent)
        self.macs[at] += layer["macs"]
        self.params[at] += layer["params"]
        self.calls[at] += 1
        self.kinds[at].add(layer["kind"])

    def sum_up(self) -> None:
        """Each node's values become the sums of its subtree (Plotly's branchvalues 'total')."""
        parent_at = [self.index.get(p, -1) for p in self.parents]
        for i in range(len(self.ids) - 1, 0, -1):
            up = parent_at[i]
            self.macs[up] += self.macs[i]
            self.params[up] += self.params[i]
            self.calls[up] += self.calls[i]
            self.kinds[up] |= self.kinds[i]

    def colors(self) -> list[str]:
        """A node made of one kind has its colour; a mixed one is grey."""
        return [KIND_COLORS.get(next(iter(k)), "#dddddd") if len(k) == 1 else "#eeeeee"
                for k in self.kinds]


def treemap(data: dict[str, Any], chain_of: Callable[[dict[str, Any]], list[str]],
            subtitle: str, max_nodes: int = MAX_TREEMAP_NODES) -> dict[str, Any]:
    """A treemap of MACs (params with the toggle) over ``chain_of(layer)`` plus the layer.

    When the full tree has more than ``max_nodes`` nodes it is cut at the deepest level that
    keeps within it: layers below the cut are summed into their node (the table keeps them).
    """
    chains = [chain_of(layer) for layer in data["layers"]]
    depth = full = max((len(c) for c in chains), default=0) + 1
    while depth > 0 and count_nodes(chains, depth) > max_nodes:
        depth -= 1
    tree = _Tree(data["model"])
    for layer, chain in zip(data["layers"], chains):
        tree.add(layer, chain, depth)
    tree.sum_up()
    title = subtitle + ("" if depth == full else f" (levels below {depth} summed, to keep "
                                                 f"within {max_nodes} boxes)")
    trace = {"type": "treemap", "ids": [i or "/" for i in tree.ids], "labels": tree.labels,
             "parents": [p or ("/" if i else "") for i, p in zip(tree.ids, tree.parents)],
             "values": tree.macs, "customdata": tree.calls, "branchvalues": "total",
             "maxdepth": 3, "sort": True, "marker": {"colors": tree.colors()},
             "texttemplate": "%{label}<br>%{value:,}<br>%{percentRoot:.1%}",
             "hovertemplate": "%{label}<br>%{value:,}<br>%{percentRoot:.2%} of the model<br>"
                              "%{customdata} layer calls<extra></extra>"}
    return {"data": [trace], "layout": _treemap_layout(title, tree)}


def _treemap_layout(title: str, tree: _Tree) -> dict[str, Any]:
    def button(what: str, values: list[int]) -> dict[str, Any]:
        return {"label": what, "method": "update",
                "args": [{"values": [values]}, {"title.text": f"{what} {title}"}]}

    return {"title": {"text": f"MACs {title}"}, "height": 520,
            "margin": {"t": 60, "l": 10, "r": 10, "b": 10},
            # top left: Plotly's mode bar (camera, zoom) takes the top right on hover
            "updatemenus": [{"type": "buttons", "direction": "right", "x": 0, "y": 1.12,
                             "xanchor": "left", "buttons": [button("MACs", tree.macs),
                                                             button("params", tree.params)]}]}


def count_nodes(chains: list[list[str]], depth: int) -> int:
    """Nodes of the treemap when levels deeper than ``depth`` are summed into their parent."""
    inner = {tuple(chain[:d]) for chain in chains for d in range(1, min(len(chain), depth) + 1)}
    return 1 + len(inner) + sum(len(chain) < depth for chain in chains)


def _memory_figure(data: dict[str, Any]) -> dict[str, Any]:
    layers = data["layers"]
    names = [plotly_text(x["path"]) for x in layers]

    def line(key: str, label: str) -> dict[str, Any]:
        return {"type": "scatter", "mode": "lines", "name": label, "x": list(range(len(layers))),
                "y": [x[key] for x in layers], "text": names,
                "hovertemplate": f"%{{text}}<br>%{{y:,}} bytes<extra>{label}</extra>"}

    return {"data": [line("activation_bytes", "output bytes"), line("bytes", "bytes moved")],
            "layout": {"title": {"text": f"memory per layer ({plotly_text(data['dtype'])})"},
                       "xaxis": {"title": {"text": "layer #"}}, "height": 380,
                       "yaxis": {"title": {"text": "bytes"}, "type": "log"}}}


def _roofline_figure(data: dict[str, Any]) -> dict[str, Any]:
    """Each layer at its intensity and the FLOP/s its bound allows, under the roof."""
    device = data["device"]
    peak, bandwidth = device["peak_flops"], device["bandwidth"]
    layers = [x for x in data["layers"] if x["bound_seconds"] > 0 and x["intensity"] > 0]
    xs = [x["intensity"] for x in layers]
    low, high = min([*xs, peak / bandwidth]) / 2, max([*xs, peak / bandwidth]) * 2
    traces = [{"type": "scatter", "mode": "lines", "name": "roof", "hoverinfo": "skip",
               "x": [low, peak / bandwidth, high], "y": [low * bandwidth, peak, peak],
               "line": {"color": "black"}}]
    for kind, color in KIND_COLORS.items():
        mine = [x for x in layers if x["kind"] == kind]
        if mine:
            traces.append({
                "type": "scatter", "mode": "markers", "name": kind,
                "marker": {"color": color, "size": 7}, "x": [x["intensity"] for x in mine],
                "y": [x["flops"] / x["bound_seconds"] for x in mine],
                "text": [plotly_text(x["path"]) for x in mine],
                "hovertemplate": "%{text}<br>%{x:.2f} FLOP/B<br>%{y:.3s}FLOP/s<extra></extra>"})
    return {"data": traces, "layout": {
        "title": {"text": "roofline: the FLOP/s each layer's bound allows"}, "height": 420,
        "xaxis": {"type": "log", "title": {"text": "FLOP / byte"}},
        "yaxis": {"type": "log", "title": {"text": "FLOP/s"}}}}


# --- the page ---------------------------------------------------------------------------------

_STYLE = """
body{font:14px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 8px}
table{border-collapse:collapse}
.summary th{text-align:left;padding:2px 12px 2px 0;font-weight:600;vertical-align:top}
.ok{color:#18794e;font-weight:700}.bad{color:#c62828;font-weight:700}
#layers{font-variant-numeric:tabular-nums;width:100%}
#layers th,#layers td{border-bottom:1px solid #eee;padding:2px 6px;white-space:nowrap}
#layers th{position:sticky;top:0;background:#f6f6f6;cursor:pointer;user-select:none}
#layers th.num,#layers td.num{text-align:right}
#layers th[aria-sort=descending]::after{content:" ▼"}
#layers th[aria-sort=ascending]::after{content:" ▲"}
#layers tr.unsupported{background:#fff4e5}#layers tr.mismatch{background:#fdecea}
.toolbar{margin:12px 0 6px}#filter{width:24em;padding:3px}
#more{margin:6px 0}
.chart{width:100%;min-height:380px}
.charts{display:grid;grid-template-columns:1fr;gap:8px}
@media(min-width:1400px){.charts{grid-template-columns:1fr 1fr}}
footer{margin-top:16px;color:#777;font-size:12px}
"""

_SCRIPT = r"""
(function(){
"use strict";
const P = JSON.parse(document.getElementById("convcost-data").textContent);
const table = document.getElementById("layers"), tbody = table.tBodies[0];
const heads = Array.from(table.tHead.rows[0].cells);
const n = P.rows.length, more = document.getElementById("more");
const note = document.getElementById("more-note"); if (note) note.remove();
let order = Array.from({length: n}, (_, i) => i), view = order, shown = P.page;
function render(){
  const k = Math.min(shown, view.length);
  let h = ""; for (let j = 0; j < k; j++) h += P.rows[view[j]];
  tbody.innerHTML = h;  // rows were escaped in Python
  more.hidden = k >= view.length;
  more.textContent = "show all " + view.length + " rows (" + (view.length - k) + " more)";
  document.getElementById("count").textContent = view.length + " of " + n + " layer calls";
}
more.addEventListener("click", () => { shown = Infinity; render(); });
function cmpInt(a, b){ return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0); }
function cmpAny(a, b){ return a < b ? -1 : a > b ? 1 : 0; }
let state = {col: -1, dir: 0};
function sortBy(j){
  const numeric = P.columns[j].numeric, keys = P.sort[j];
  const dir = state.col === j ? -state.dir : (numeric ? -1 : 1);  // numbers: biggest first
  order = Array.from({length: n}, (_, i) => i);
  if (keys){
    const cmp = typeof keys[0] === "string" && numeric ? cmpInt : cmpAny;
    order.sort((a, b) => dir * cmp(keys[a], keys[b]) || a - b);  // ties keep layer order
  } else if (dir < 0) order.reverse();
  heads.forEach(h => h.setAttribute("aria-sort", "none"));
  heads[j].setAttribute("aria-sort", dir < 0 ? "descending" : "ascending");
  state = {col: j, dir: dir};
  applyFilter();
}
heads.forEach((h, j) => {
  h.addEventListener("click", () => sortBy(j));
  h.addEventListener("keydown", e => { if (e.key === "Enter") sortBy(j); });
});
const box = document.getElementById("filter");
let timer = 0;
function applyFilter(){
  const q = box.value.trim().toLowerCase();
  view = q ? order.filter(i => P.search[i].includes(q)) : order;
  render();
}
box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(applyFilter, 80); });
render();
window.convcostTable = {view: () => view.slice(), figures: P.figures};
})();
"""

# after plotly.js, whose parsing takes a second: the table works before the charts exist
_CHARTS = r"""
(function(){
"use strict";
const config = {displaylogo: false, responsive: true};
requestAnimationFrame(() => setTimeout(async () => {
  for (const [id, fig] of Object.entries(convcostTable.figures))
    await Plotly.newPlot(id, fig.data, fig.layout, config);
  document.body.dataset.ready = "1";
}, 0));
})();
"""

# No network at view time: nothing but the page's own inline scripts and styles may load.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:")

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
<h1>{title}</h1>
{summary}
<div class="charts">{charts}</div>
<div class="toolbar"><input id="filter" type="search" aria-label="filter layers"
 placeholder="filter layers (name, path, type, kind)">
<span id="count">{n} layer calls</span></div>
{table}
<footer>convcost {version}: MACs and FLOPs per sample; FLOPs = 2·MACs + other (element-wise)
FLOPs.</footer>
<script type="application/json" id="convcost-data">{payload}</script>
<script>{script}</script>
<script>{plotly}</script>
<script>{charts_js}</script>
</body></html>
"""
