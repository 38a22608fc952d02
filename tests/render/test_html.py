"""The HTML page without a browser: self-contained, escaped, every row, charts that add up.

Reports are built by hand (see ``nasty_report``), so every expected number is written here;
the browser tests (test_html_browser.py) load the same pages in Chromium.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from convcost import render
from convcost.count.report import LayerCost, Report
from convcost.errors import ConvcostError
from convcost.render import html
from tests.conftest import BIG, hand_layer, nasty_report

FAKE_JS = "/* plotly */"
def page(report: Report) -> str:
    return html.html_page(render.report_dict(report), plotly_js=FAKE_JS)


def payload(text: str) -> dict:
    return json.loads(text.split('id="convcost-data">', 1)[1].split("</script>", 1)[0])


def test_script_json_cannot_close_its_tag() -> None:
    text = html.script_json({"a": "</script><!--\u2028&"})
    assert not set("<>&\u2028") & set(text)
    assert json.loads(text) == {"a": "</script><!--\u2028&"}


def test_the_page_is_self_contained() -> None:
    text = page(nasty_report())
    assert html.CSP in text and "default-src 'none'" in html.CSP
    assert re.search(r"<(script|link|img|iframe)[^>]*(src|href)=", text) is None
    assert text.count("<script") == 4  # data, table, plotly, charts: nothing injected


def test_names_are_escaped_everywhere() -> None:
    text = page(nasty_report())
    assert "<img" not in text and "alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<title>convcost: &lt;/script&gt;&lt;script&gt;alert(&#x27;model&#x27;)" in text
    labels = payload(text)["figures"]["treemap-block"]["data"][0]["labels"]
    assert "dw &lt;b&gt;bold&lt;b&gt;" in labels  # Plotly would render a raw <b>


def test_every_row_is_in_the_payload_and_the_first_page_in_the_table() -> None:
    report = nasty_report(repeats=1200)
    text = page(report)
    data = payload(text)
    assert len(data["rows"]) == len(report.layers) == 1207
    assert text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr") == html.PAGE_ROWS
    assert "207 more rows" in text


def test_integers_sort_exactly_beyond_2_53() -> None:
    data = payload(page(nasty_report()))
    macs = [c["key"] for c in data["columns"]].index("macs")
    keys = data["sort"][macs]
    assert keys[5:7] == [str(BIG), str(BIG + 1)] and float(keys[5]) == float(keys[6])


def test_summary_has_totals_and_the_check() -> None:
    text = page(nasty_report())
    # 10 + 20 + 30 params; MACs 100 + 2 * 200 + 2 * 300 + BIG + BIG + 1
    assert "60 (60)" in text and f"{100 + 400 + 600 + 2 * BIG + 1:,}" in text
    assert '<span class="ok" id="check">✓</span> counted 60 params' in text


def test_mismatch_and_unsupported_are_shown() -> None:
    bad = Report("m", (4,), (hand_layer("a", 5, 3), hand_layer("b", 0, 0)), 4)
    unsupported = LayerCost("odd", "odd", "MyLayer", ((4,),), (4,), (), 7, 7, 0,
                            supported=False)
    text = page(Report("m", (4,), (*bad.layers, unsupported), 11))
    assert '<span class="bad" id="check">✗</span>' in text
    assert "MyLayer × 1 (no cost rule" in text and 'class="unsupported"' in text


def _leaves(trace: dict) -> list[int]:
    inner = set(trace["parents"])
    return [v for i, v in zip(trace["ids"], trace["values"]) if i not in inner]


@pytest.mark.parametrize("name", ["treemap-block", "treemap-kind"])
def test_treemaps_have_every_call_and_add_up(name) -> None:
    report = nasty_report(repeats=20)
    trace = payload(page(report))["figures"][name]["data"][0]
    assert len(trace["ids"]) == len(set(trace["ids"]))  # a repeated call is its own node
    assert len(_leaves(trace)) == len(report.layers)
    assert sum(_leaves(trace)) == trace["values"][0] == report.macs


def test_a_big_tree_is_cut_but_adds_up() -> None:
    report = nasty_report(repeats=1200)
    trace = payload(page(report))["figures"]["treemap-block"]["data"][0]
    assert len(trace["ids"]) <= html.MAX_TREEMAP_NODES
    assert trace["values"][0] == report.macs and trace["customdata"][0] == len(report.layers)


def test_blocks_of_flat_models_come_from_their_names() -> None:
    def block(path: str) -> list[str]:
        return html.block_of({"path": path, "name": path.rsplit("/", 1)[-1]})

    assert block("conv2_block1_1_conv") == ["conv2_block1"]
    assert block("block_3_expand") == ["block_3"]
    assert block("outer/inner/conv") == ["outer", "inner"]
    assert block("predictions") == []


def test_memory_and_roofline_charts_only_when_asked(resnet50_report) -> None:
    from convcost.analysis.memory import memory
    from convcost.analysis.roofline import MemoryRooflineFields, from_user

    plain = payload(html.html_page(render.report_dict(resnet50_report), plotly_js=FAKE_JS))
    fields = MemoryRooflineFields(memory(resnet50_report), from_user(100, 10), show_memory=True)
    options = render.RenderOptions(columns=fields)
    full = payload(html.html_page(render.report_dict(resnet50_report, options),
                                  plotly_js=FAKE_JS))
    assert set(plain["figures"]) == {"treemap-block", "treemap-kind"}
    assert set(full["figures"]) == {"treemap-block", "treemap-kind", "memory", "roofline"}
    assert {"bytes", "bound"} <= {c["key"] for c in full["columns"]}


def test_without_plotly_one_line_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    with pytest.raises(ConvcostError, match=r"needs plotly: pip install 'convcost\[report\]'"):
        render.render(nasty_report(), "html")
