"""Rendering ``analyze --symbolic`` and ``--sweep`` from synthetic reports (no Keras)."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sympy

from convcost.errors import ConvcostError
from convcost.render import RenderOptions, report_dict
from convcost.render import sweep as sweep_out
from convcost.render.symbolic import Symbolic, symbolic_dict
from convcost.render.symbolic import render as render_symbolic
from convcost.theory.model import derive
from convcost.theory.sweep import parse, sizes_of, sweep
from tests.conftest import tiny_cnn, tokens


@pytest.fixture(scope="module")
def cnn():
    base = tiny_cnn({"H": 28, "W": 28})
    return base, derive(tiny_cnn, ("H", "W"), model="tiny", base=base)


def _same_values(plain, extended) -> None:
    """Every key of ``plain`` is in ``extended`` with the same value (keys only added)."""
    if isinstance(plain, dict):
        for key, value in plain.items():
            _same_values(value, extended[key])
    elif isinstance(plain, list):
        assert len(plain) == len(extended)
        for a, b in zip(plain, extended):
            _same_values(a, b)
    else:
        assert plain == extended


@pytest.mark.parametrize("group_by", ["layer", "kind", "type"])
def test_json_only_adds_keys(cnn, group_by) -> None:
    base, formula = cnn
    options = RenderOptions(group_by=group_by)
    _same_values(report_dict(base, options), symbolic_dict(base, formula, options))


def test_json_expressions_parse_and_equal_the_counts(cnn) -> None:
    base, formula = cnn
    data = json.loads(render_symbolic(Symbolic(base, formula), "json"))
    assert data["symbols"] == ["H", "W"]
    assert data["domain"]["step"] == {"H": 4, "W": 4}
    assert data["domain"]["text"] == "exact for H, W multiples of 4, at least 4"
    at = {"H": 28, "W": 28}
    for key in ("macs", "params", "flops", "other_flops"):
        assert sympy.sympify(data["totals"][f"{key}_expr"]).subs(at) == data["totals"][key]
    for layer in data["layers"]:
        assert sympy.sympify(layer["macs_expr"]).subs(at) == layer["macs"]
        assert [sympy.sympify(e).subs(at) for e in layer["output_shape_expr"]] == (
            layer["output_shape"])
    assert data["symbolic"]["analysed"]["on_domain"] is True
    assert data["symbolic"]["latex"]["macs"] == r"\frac{133 H W}{2} + 160"


def test_group_expressions_in_json(cnn) -> None:
    base, formula = cnn
    data = symbolic_dict(base, formula, RenderOptions(group_by="kind"))
    groups = {g["kind"]: g for g in data["groups"]}
    assert groups["depthwise"]["macs_expr"] == "9*H*W/2"
    assert groups["fully_connected"]["macs_expr"] == "160"


def test_table_has_formulas_pretty_latex_domain_and_proof(cnn) -> None:
    base, formula = cnn
    text = render_symbolic(Symbolic(base, formula), "table", RenderOptions(width=120))
    assert "H/4×W/4×16" in text and "9·H·W/2" in text
    assert "\\mathrm{MACs}(H, W) = \\frac{133 H W}{2} + 160" in text
    assert "domain: exact for H, W multiples of 4, at least 4; off it strided layers" in text
    assert "at 28×28: 52,296 MACs, 576 params = the formulas ✓" in text  # 133/2*784 + 160


def test_folded_rows_sum_their_formulas(cnn) -> None:
    base, formula = cnn
    data = symbolic_dict(base, formula, RenderOptions(depth=0))
    assert [layer["macs_expr"] for layer in data["layers"]][:2] == ["54*H*W", "9*H*W/2"]


def test_csv_and_markdown(cnn) -> None:
    base, formula = cnn
    lines = list(csv.reader(io.StringIO(render_symbolic(Symbolic(base, formula), "csv"))))
    assert lines[0][:4] == ["path", "name", "type", "output_shape_expr"]
    assert lines[1][3:5] == ["H/2;W/2;8", "216"]
    markdown = render_symbolic(Symbolic(base, formula), "markdown")
    assert "$$\n\\mathrm{MACs}(H, W) = \\frac{133 H W}{2} + 160\n$$" in markdown


def test_off_domain_analysed_size_is_shown_with_the_difference() -> None:
    base = tiny_cnn({"H": 30, "W": 30})
    formula = derive(tiny_cnn, ("H", "W"), base=base)
    text = render_symbolic(Symbolic(base, formula), "table", RenderOptions(width=120))
    # 61,560 counted vs 60,010 from the formula: +2.58 %
    assert "at 30×30 (off the domain): analyze 61,560 MACs, the formula 60,010 (+2.58 %)" in text


def test_sweep_table_json_csv() -> None:
    formula = derive(tokens, ("L",), model="toy")
    data = sweep(formula, "seq-len", {n: tokens({"L": n}) for n in (128, 256, 512)})
    table = sweep_out.render(data, "table", RenderOptions(width=120))
    assert "MACs(L) = 8·L² + 64·L; params(L) = 64; exact for every L ≥ 1" in table
    document = json.loads(sweep_out.render(data, "json"))
    assert document["formula"]["macs_along"] == "8*L**2 + 64*L"
    assert [row["macs"] for row in document["rows"]] == [8 * n * n + 64 * n
                                                         for n in (128, 256, 512)]
    assert all(row["exact"] and row["on_domain"] for row in document["rows"])
    lines = list(csv.reader(io.StringIO(sweep_out.render(data, "csv"))))
    assert lines[0][:3] == ["seq-len", "params", "macs"] and len(lines) == 4


def test_sweep_along_sizes_substitutes_h_equals_w() -> None:
    formula = derive(tiny_cnn, ("H", "W"))
    data = sweep(formula, "size", {s: tiny_cnn({"H": s, "W": s}) for s in (28, 30, 32)})
    assert str(data.along("macs")) == "133*s**2/2 + 160"
    assert [row.on_domain for row in data.rows] == [True, False, True]
    assert "(off domain)" in sweep_out.render(data, "table", RenderOptions(width=140))


@pytest.mark.parametrize(("text", "message"), [
    ("size", "--sweep takes size=N,N,"), ("width=3", "--sweep takes size=N,N,"),
    ("size=96,,128", "positive whole numbers"), ("seq-len=0", "positive whole numbers"),
])
def test_sweep_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ConvcostError, match=message):
        parse(text)


def test_sweep_axis_must_fit_the_model() -> None:
    assert parse("size=96, 128") == ("size", (96, 128))
    with pytest.raises(ConvcostError, match="use --sweep seq-len="):
        sizes_of("size", ("L",), 96)


def test_every_kind_has_a_short_sweep_column_name() -> None:
    """A sweep of a transformer has attention and embedding columns (was a KeyError)."""
    from convcost.count.report import KINDS
    from convcost.render.sweep import SHORT

    assert set(KINDS) <= set(SHORT)
    assert len(set(SHORT.values())) == len(SHORT)
