"""Reports as DataFrames and in notebooks: rows that add up to the totals, JSON column names."""

from __future__ import annotations

import json
import sys

import pytest

from convcost import render
from convcost.analysis.compare import compare
from convcost.errors import ConvcostError
from tests.conftest import nasty_report

# The layer fields of `convcost analyze --format json` (render/analyze.py's contract).
JSON_LAYER_FIELDS = ["name", "path", "type", "kind", "input_shapes", "output_shape", "params",
                     "keras_params", "macs", "flops", "other_flops", "supported", "call_index",
                     "folded_layers", "note", "from_ops"]


@pytest.fixture(scope="module")
def v1(zoo_model):
    import convcost

    return convcost.analyze(zoo_model("v1"))


def test_one_row_per_layer_call_named_like_the_json(v1) -> None:
    frame = v1.to_pandas()
    assert list(frame.columns) == JSON_LAYER_FIELDS
    assert list(frame.columns) == list(json.loads(render.to_json(v1))["layers"][0])
    assert list(frame["path"]) == [row.path for row in v1.layers]
    assert frame.loc[4, "output_shape"] == (14, 14, 128)  # pw_3


def test_rows_sum_to_the_totals(v1) -> None:
    frame = v1.to_pandas()
    # v1: 48,330 params (model.count_params()), 3,109,760 MACs (hand count in the README)
    assert int(frame["params"].sum()) == 48_330 == frame.attrs["totals"]["params"]
    assert int(frame["macs"].sum()) == 3_109_760
    assert int(frame["flops"].sum()) == v1.flops and frame["macs"].dtype == "int64"
    by_kind = frame.groupby("kind")["macs"].sum()
    assert int(by_kind["pointwise"]) == 401_408 + 1_605_632 + 802_816


def test_big_integers_stay_exact() -> None:
    report = nasty_report()
    assert int(report.to_pandas()["macs"].sum()) == report.macs  # above 2**54: no float


def test_the_notebook_view_is_escaped_and_small(v1) -> None:
    text = nasty_report()._repr_html_()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    view = v1._repr_html_()
    assert "48,330" in view and "3,109,760" in view and "✓" in view and "<script" not in view
    assert view.count("<tr>") == 1 + 4 + 1 + 10  # kinds with MACs (4), top 10 layers


def test_a_comparison_by_model_and_by_layer(zoo_model, v1) -> None:
    import convcost

    comparison = compare([convcost.analyze(zoo_model("naive")), v1])
    frame = comparison.to_pandas()
    assert list(frame["model"]) == ["naive", "v1"]
    assert list(frame["params"]) == [259_082, 48_330]
    assert frame.loc[1, "macs_ratio"] == pytest.approx(3_109_760 / 25_362_816)
    layers = comparison.to_pandas(layers=True)
    assert list(layers.columns) == ["model", *JSON_LAYER_FIELDS]
    assert int(layers.groupby("model")["macs"].sum()["naive"]) == 25_362_816
    assert "25,362,816" in comparison._repr_html_()


def test_without_pandas_one_line_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConvcostError, match=r"need pandas: pip install 'convcost\[report\]'"):
        nasty_report().to_pandas()
