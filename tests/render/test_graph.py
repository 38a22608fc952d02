"""The graph of a report: DOT text by hand-built reports, and the SVG graphviz draws of it."""

from __future__ import annotations

import re
import subprocess

import pytest

from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError
from convcost.render import graph


def layer(path: str, macs: int, sources: tuple[int, ...], *, kind: str = "standard",
          shape: tuple[int, ...] = (4, 4, 8)) -> LayerCost:
    return LayerCost(path=path, name=path.rsplit("/", 1)[-1], type="Conv2D",
                     input_shapes=((4, 4, 8),), output_shape=shape,
                     pieces=(Piece(kind, 10, macs, 0),), keras_params=10, trainable_params=10,
                     non_trainable_params=0, sources=sources)


# stem -> blk/a -> blk/b -> add <- side <- stem  (a residual block inside a nested model)
REPORT = Report("toy", (8, 8, 3), (
    layer("stem", 100, (), shape=(8, 8, 4)), layer("blk/a", 300, (0,)),
    layer("blk/b", 500, (1,), kind="depthwise"), layer("side", 100, (0,), shape=(4, 4, 2)),
    layer("add", 0, (2, 3), kind="other")), 50)


def edges(dot: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*(\w+) -> (\w+) \[label="([^"]*)"\];$', dot, re.MULTILINE)


def test_edges_follow_the_sources_with_their_shapes() -> None:
    assert edges(graph.graph_dot(REPORT)) == [
        ("input", "n0", "8×8×3"), ("n0", "n1", "8×8×4"), ("n1", "n2", "4×4×8"),
        ("n0", "n3", "8×8×4"), ("n2", "n4", "4×4×8"), ("n3", "n4", "4×4×2")]


def test_nested_models_are_boxes() -> None:
    dot = graph.graph_dot(REPORT)
    box = dot.split("subgraph cluster_", 1)[1].split("}", 1)[0]
    assert 'label="blk"' in box and "n1 [" in box and "n2 [" in box and "n0 [" not in box


def test_nodes_show_their_costs() -> None:
    dot = graph.graph_dot(REPORT)
    # blk/b: 500 of the 1,000 MACs; the label says so, the tooltip has the exact numbers
    assert 'label="b\\nConv2D\\n500 MACs (50.0%)\\n10 params"' in dot
    assert "blk/b (Conv2D): 500 MACs, 10 params, 1,000 FLOPs" in dot
    assert 'fillcolor="#f58518' in dot  # depthwise orange


@pytest.mark.parametrize(("text", "tooltip", "expected"), [
    ('a"b', False, '"a\\"b"'), ("a&amp;b", False, '"a&amp;amp;b"'),
    ("a\\Nb", False, '"a\\\\Nb"'), ("a\\Nb", True, '"a\\\\\\\\Nb"'),
    ("two\nlines", False, '"two\\nlines"'), ("two\nlines", True, '"two&#10;lines"'),
])
def test_dot_strings_show_text_literally(text: str, tooltip: bool, expected: str) -> None:
    assert graph.dot_string(text, tooltip=tooltip) == expected


def test_names_are_shown_literally_by_graphviz(graphviz: str) -> None:
    odd = Report("m", (4,), (layer('<b>"x"&amp;\\N', 1, ()),), 10)
    svg = subprocess.run([graphviz, "-Tsvg"], input=graph.graph_dot(odd).encode(),
                         capture_output=True, check=True).stdout.decode()
    assert "&lt;b&gt;&quot;x&quot;&amp;amp;\\N" in svg


def test_svg_is_drawn(graphviz: str) -> None:
    svg = graph.render(REPORT, "svg")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # 5 layer calls + the input + the legend; 6 edges (the legend has none)
    assert svg.count('class="node"') == 7 and svg.count('class="edge"') == 6
    legend = [m for m in re.findall(r'<text[^>]*>([^<]*)</text>', svg)
              if m in ("kind", "standard", "depthwise", "other")]
    assert legend == ["kind", "standard", "depthwise", "other"]


def test_legend_gives_the_colour_of_each_kind_shown_and_no_other() -> None:
    dot = graph.graph_dot(REPORT)
    cells = re.findall(r'<TD BGCOLOR="(#[0-9a-f]{6})">(\w+)</TD>', dot)
    assert cells == [("#4c78a8", "standard"), ("#f58518", "depthwise"), ("#9d9d9d", "other")]
    fills = {kind: re.search(rf'fillcolor="{colour}', dot) is not None for colour, kind in cells}
    assert fills == {"standard": True, "depthwise": True, "other": True}  # nodes use them


def test_without_dot_one_line_error(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ConvcostError, match=r"needs graphviz's 'dot'.*apt-get install "
                                            r"graphviz.*Received: no 'dot' on PATH\."):
        graph.render(REPORT, "svg")


def test_too_big_a_graph_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(graph, "MAX_NODES", 3)
    with pytest.raises(ConvcostError, match=r"too many layer calls.*Received: 5 in 'toy'"):
        graph.graph_dot(REPORT)


def test_a_transformer_graph_colours_its_new_kinds() -> None:
    """Embedding and attention rows (keras-hub models are full of them) are drawn, each in its
    kind's colour: a missing colour was a KeyError on 'convcost graph gpt2'."""
    import convcost
    from convcost.count.report import KINDS
    from convcost.render.units import KIND_COLORS
    from tests.conftest import tiny_decoder

    assert set(KINDS) <= set(KIND_COLORS)
    report = convcost.analyze(tiny_decoder(), input_shape=(16,))
    dot = graph.graph_dot(report)
    kinds = {row.name: row.kind for row in report.layers}
    assert kinds["embed"] == "embedding"
    assert f'fillcolor="{KIND_COLORS["embedding"]}' in dot
