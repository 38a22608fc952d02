"""The model's graph with its costs: DOT text, and SVG drawn by graphviz's ``dot``.

One node per layer call (a row of the report), filled in its kind's colour, more opaque and
larger the bigger its share of the model's MACs; its label gives name, Keras class, MACs and
params, its tooltip the exact numbers. Edges follow :attr:`LayerCost.sources` (which rows a
call reads) and are labelled with the shape that flows along them. Layers of nested models sit
in a box per model; a legend gives each kind's colour. The DOT text is written here
(graphviz's Debian package ``graphviz`` draws it; no Python binding needed); node ids are
``n0``, ``n1``, ... never a user's name.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Sequence

from convcost.count.report import LayerCost, Report
from convcost.errors import ConvcostError, one_line
from convcost.render.options import RenderOptions
from convcost.render.tables import check_choice
from convcost.render.units import KIND_COLORS, exact, human, shape_text, share

FORMATS = ("svg", "dot")
MAX_NODES = 2000  # dot takes about a second per few hundred nodes
DOT_TIMEOUT_S = 300


def render(data: Report, fmt: str, opts: RenderOptions | None = None) -> str:
    """The graph of ``data`` (a report) as ``fmt`` (one of :data:`FORMATS`): SVG drawn by
    graphviz's ``dot`` (:func:`check_dot`), or the DOT text (:func:`graph_dot`). ``opts`` is
    unused."""
    check_choice("format", fmt, FORMATS)
    return _svg(data) if fmt == "svg" else graph_dot(data)


def dot_string(text: str, *, tooltip: bool = False) -> str:
    """A quoted DOT string that graphviz shows literally.

    ``&`` becomes ``&amp;`` (graphviz passes entities through to the SVG); backslashes are
    doubled (labels read ``\\n``, ``\\N`` escapes), and quadrupled in a tooltip, which is
    unescaped twice; a newline is a line break (``&#10;`` in a tooltip).
    """
    text = text.replace("&", "&amp;").replace("\\", "\\\\\\\\" if tooltip else "\\\\")
    text = text.replace('"', '\\"').replace("\n", "&#10;" if tooltip else "\\n")
    return f'"{text}"'


def graph_dot(report: Report) -> str:
    """The report's graph as DOT text (see the module docstring)."""
    if len(report.layers) > MAX_NODES:
        raise ConvcostError(f"The graph has too many layer calls to draw (at most "
                            f"{MAX_NODES}). Received: {len(report.layers)} in {report.model!r}.")
    lines = ["digraph convcost {",
             f"  graph [rankdir=TB, fontname=Helvetica, labelloc=t, nodesep=0.25, ranksep=0.35,"
             f" label={dot_string(_title(report))}];",
             '  node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10];',
             '  edge [fontname=Helvetica, fontsize=8, color="#666666", arrowsize=0.6];',
             f'  input [shape=ellipse, style=filled, fillcolor="#ffffff", '
             f"label={dot_string('input ' + shape_text(report.input_shape))}];"]
    lines += _legend(report)
    lines += _clusters(report, _tree(report.layers), "", "  ")
    for index, row in enumerate(report.layers):
        for source in row.sources or (-1,):
            origin = "input" if source < 0 else f"n{source}"
            shape = report.input_shape if source < 0 else report.layers[source].output_shape
            lines.append(f"  {origin} -> n{index} [label={dot_string(shape_text(shape))}];")
    return "\n".join([*lines, "}"]) + "\n"


def _legend(report: Report) -> list[str]:
    """A key beside the input: the colour of each kind the graph shows, and what the
    opacity and border say. Kind names and colours are convcost's own (no user text)."""
    kinds = [kind for kind in KIND_COLORS if any(row.kind == kind for row in report.layers)]
    cells = "".join(f'<TR><TD BGCOLOR="{KIND_COLORS[kind]}">{kind}</TD></TR>' for kind in kinds)
    table = ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3">'
             f"<TR><TD><B>kind</B></TD></TR>{cells}"
             "<TR><TD>opacity, border, size:<BR/>share of the MACs</TD></TR></TABLE>")
    return [f"  legend [shape=plain, fontsize=9, label=<{table}>];",
            "  { rank=same; input; legend; }"]


def _title(report: Report) -> str:
    return (f"{report.model}: {exact(report.params)} params, {exact(report.macs)} MACs "
            "per sample")


def _tree(layers: Sequence[LayerCost]) -> dict[str, list[int]]:
    """The rows directly inside each nested model's path ('' for the top level)."""
    tree: dict[str, list[int]] = {}
    for index, row in enumerate(layers):
        parent = row.path.rpartition("/")[0]
        tree.setdefault(parent, []).append(index)
        while parent:  # every enclosing model gets a box, even one with no rows of its own
            parent, _, _ = parent.rpartition("/")
            tree.setdefault(parent, [])
    return tree


def _clusters(report: Report, tree: dict[str, list[int]], path: str, pad: str) -> list[str]:
    """Nodes of ``path`` and, in a box each, of the models nested directly inside it."""
    lines = [f"{pad}n{i} [{_node_attributes(report, report.layers[i])}];" for i in tree[path]]
    children = [p for p in tree if p and p.rpartition("/")[0] == path]
    for child in children:
        lines += [f"{pad}subgraph cluster_{list(tree).index(child)} {{",
                  f"{pad}  label={dot_string(child.rpartition('/')[2])}; style=rounded; "
                  'color="#999999"; fontname=Helvetica;',
                  *_clusters(report, tree, child, pad + "  "), f"{pad}}}"]
    return lines


def _node_attributes(report: Report, row: LayerCost) -> str:
    """Label, tooltip and the look of one node: colour by kind, size and opacity by MACs."""
    part = share(row.macs, report.macs)
    alpha = 0.08 if part <= 0 else min(1.0, max(0.08, 1 + math.log10(max(part, 1e-5)) / 4))
    label = f"{row.name}\n{row.type}"
    if row.macs:
        label += f"\n{human(row.macs)} MACs ({100 * part:.1f}%)"
    if row.params:
        label += f"\n{human(row.params)} params"
    tooltip = (f"{row.path} ({row.type}): {exact(row.macs)} MACs, {exact(row.params)} params,"
               f" {exact(row.flops)} FLOPs, output {shape_text(row.output_shape)}")
    grow = math.sqrt(part)
    return ", ".join([
        f"label={dot_string(label)}", f"tooltip={dot_string(tooltip, tooltip=True)}",
        f'fillcolor="{KIND_COLORS[row.kind]}{round(alpha * 255):02x}"',
        f'fontcolor="{"white" if alpha > 0.8 else "black"}"',
        f'penwidth="{1 + 3 * grow:.2f}"', f'margin="{0.08 + 0.4 * grow:.2f},'
                                          f'{0.03 + 0.2 * grow:.2f}"'])


def check_dot() -> str:
    """The path of graphviz's ``dot``, or a one-line error naming the package to install."""
    dot = shutil.which("dot")
    if dot is None:
        raise ConvcostError("Drawing the graph needs graphviz's 'dot' program: apt-get install "
                            "graphviz (Debian/Ubuntu package 'graphviz'; brew install graphviz "
                            "on macOS). Received: no 'dot' on PATH.")
    return dot


def _svg(report: Report) -> str:
    """The report's graph as SVG, drawn by ``dot`` (:func:`check_dot`)."""
    dot = check_dot()
    try:
        done = subprocess.run([dot, "-Tsvg"], input=graph_dot(report).encode(),
                              capture_output=True, timeout=DOT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConvcostError(f"graphviz's dot took over {DOT_TIMEOUT_S} s. Received: "
                            f"{len(report.layers)} layer calls in {report.model!r}.") from None
    if done.returncode != 0:
        message = one_line(done.stderr.decode(errors="replace"))
        raise ConvcostError(f"graphviz's dot failed: {message} Received: exit code "
                            f"{done.returncode}.")
    return done.stdout.decode()
