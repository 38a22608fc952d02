"""Report arithmetic: totals from rows, groups by kind and by type, shares."""

from __future__ import annotations

import pytest

from convcost import ConvcostError
from convcost.count.report import KINDS, LayerCost, Piece, Report


def _row(name: str, *pieces: Piece, supported: bool = True, keras_params: int | None = None,
         type_: str = "Conv2D") -> LayerCost:
    params = sum(p.params for p in pieces)
    return LayerCost(path=name, name=name, type=type_, input_shapes=((4, 4, 2),),
                     output_shape=(4, 4, 2), pieces=pieces,
                     keras_params=params if keras_params is None else keras_params,
                     trainable_params=params, non_trainable_params=0, supported=supported)


REPORT = Report(
    model="toy", input_shape=(4, 4, 2), keras_count_params=110,
    layers=(
        _row("a", Piece("standard", 40, 600, 10)),
        _row("b", Piece("depthwise", 10, 100), Piece("pointwise", 20, 300, 5),
             type_="SeparableConv2D"),
        _row("c", keras_params=40, supported=False, type_="Mystery"),
    ),
)


def test_totals_are_sums_of_rows():
    assert REPORT.params == 40 + 30 + 40
    assert REPORT.macs == 1000
    assert REPORT.flops == 2 * 1000 + 15
    assert REPORT.params_match


def test_unsupported_rows_keep_keras_params_and_are_listed():
    assert REPORT.unsupported == {"Mystery": 1}
    assert REPORT.layers[2].params == 40


def test_groups_by_kind_split_a_separable_layer():
    groups = {g.key: g for g in REPORT.groups("kind")}
    assert list(groups) == list(KINDS)
    assert (groups["depthwise"].macs, groups["pointwise"].macs) == (100, 300)
    assert groups["other"].params == 40  # the unsupported layer's params stay visible
    assert sum(g.params for g in groups.values()) == REPORT.params
    assert sum(g.macs_share for g in groups.values()) == pytest.approx(1.0)
    assert groups["standard"].macs_share == pytest.approx(0.6)


def test_groups_by_type():
    groups = {g.key: g for g in REPORT.groups("type")}
    assert groups["SeparableConv2D"].params == 30
    assert groups["Conv2D"].layers == 1


def test_unknown_grouping_is_an_error():
    with pytest.raises(ConvcostError, match="Received: 'colour'"):
        REPORT.groups("colour")


def test_mismatch_is_shown_not_hidden():
    bad = _row("x", Piece("standard", 10, 10), keras_params=12)
    report = Report("m", (1,), (bad,), keras_count_params=12)
    assert not report.params_match
    assert report.mismatched_layers == (bad,)
