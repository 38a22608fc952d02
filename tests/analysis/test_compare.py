"""compare.py: matching shared layers, the differing part, and the 1/N + 1/D_K² prediction.

Expected numbers are hand calculations (written out) or the article's figures.
"""

from __future__ import annotations

import pytest

from convcost.analysis.compare import LayerSignature, Prediction, compare, compare_pair, match_rows
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError


def row(path: str, params: int, macs: int, kind: str = "standard",
        shapes: tuple = ((8, 8, 4), (8, 8, 4))) -> LayerCost:
    return LayerCost(path=path, name=path, type="Conv2D", input_shapes=(shapes[0],),
                     output_shape=shapes[1], pieces=(Piece(kind, params, macs),),
                     keras_params=params, trainable_params=params, non_trainable_params=0)


def sig(config: str = "a", kernel=(3, 3), filters: int | None = 4, type_: str = "Conv2D",
        groups: int = 1) -> LayerSignature:
    return LayerSignature(type_, config, kernel, filters, groups)


def rep(name: str, *rows: LayerCost) -> Report:
    return Report(name, (8, 8, 4), rows, sum(r.params for r in rows))


def test_shared_by_name_then_by_config_and_shapes() -> None:
    a = rep("a", row("x", 10, 100), row("y", 20, 200), row("z", 30, 300))
    b = rep("b", row("renamed_x", 10, 100), row("y", 20, 200), row("z", 5, 50))
    a_sigs = {"x": sig("cx"), "y": sig("cy"), "z": sig("cz")}
    b_sigs = {"renamed_x": sig("cx"), "y": sig("cy"), "z": sig("cz-changed")}
    assert sorted(match_rows(a, a_sigs, b, b_sigs)) == [(0, 0), (1, 1)]
    pair = compare_pair(a, a_sigs, b, b_sigs)
    assert pair.shared == (("x", "renamed_x"), ("y", "y"))
    assert pair.base_part.paths == ("z",) and pair.other_part.paths == ("z",)


def test_name_match_wins_over_an_earlier_identical_layer() -> None:
    a = rep("a", row("p", 1, 1), row("q", 1, 1))
    b = rep("b", row("q", 1, 1), row("p", 1, 1))
    same = {"p": sig("c"), "q": sig("c")}
    assert sorted(match_rows(a, same, b, same)) == [(0, 1), (1, 0)]


def test_different_shapes_do_not_match() -> None:
    a = rep("a", row("x", 10, 100))
    b = rep("b", row("x", 10, 400, shapes=((16, 16, 4), (16, 16, 4))))
    assert match_rows(a, {"x": sig()}, b, {"x": sig()}) == []


def test_layers_without_config_never_match() -> None:
    a = rep("a", row("x", 10, 100))
    assert match_rows(a, {"x": sig(config=None)}, a, {"x": sig(config=None)}) == []


@pytest.mark.parametrize(("kernel", "filters", "expected"), [
    ((3, 3), 64, 1 / 64 + 1 / 9),
    ((3, 3), 128, 1 / 128 + 1 / 9),
    ((5, 5), 32, 1 / 32 + 1 / 25),
    ((3,), 16, 1 / 16 + 1 / 3),  # 1-D: D_K² becomes the kernel length
])
def test_prediction_is_one_over_n_plus_one_over_dk_squared(kernel, filters, expected) -> None:
    assert Prediction("c", kernel, filters, 1, 1).ratio == pytest.approx(expected, rel=1e-15)


def test_only_standard_kxk_convs_are_predicted() -> None:
    a = rep("a", row("k3", 100, 1000), row("one", 50, 500, kind="pointwise"),
            row("grouped", 40, 400), row("dense", 30, 30, kind="fully_connected"))
    sigs = {"k3": sig("1", (3, 3), 8), "one": sig("2", (1, 1), 8),
            "grouped": sig("3", (3, 3), 8, groups=2), "dense": sig("4", None, None, "Dense")}
    pair = compare_pair(a, sigs, rep("b"), {})
    assert [p.path for p in pair.predictions] == ["k3"]
    assert pair.predicted_params_ratio == pytest.approx(1 / 8 + 1 / 9)
    assert pair.covered_params == 100 and pair.base_part.params == 220


def test_weighted_prediction_by_hand() -> None:
    a = rep("a", row("c1", 100, 1000), row("c2", 300, 9000))
    sigs = {"c1": sig("1", (3, 3), 64), "c2": sig("2", (3, 3), 128)}
    pair = compare_pair(a, sigs, rep("b"), {})
    r1, r2 = 1 / 64 + 1 / 9, 1 / 128 + 1 / 9
    assert pair.predicted_params_ratio == pytest.approx((100 * r1 + 300 * r2) / 400)
    assert pair.predicted_macs_ratio == pytest.approx((1000 * r1 + 9000 * r2) / 10000)
    assert pair.params_ratio == 0.0 and pair.macs_ratio == 0.0


def test_compare_needs_two_models() -> None:
    with pytest.raises(ConvcostError, match="at least two models. Received: 1"):
        compare([rep("a")], [{}])


# --- the article's nets ----------------------------------------------------------------------

# Hand calculation (bias included): naive's 3x3 convs 2-4 on 14x14, 14x14, 7x7 outputs:
NAIVE_CONVS = {"conv_2": (3 * 3 * 32 * 64 + 64, 3 * 3 * 32 * 64 * 14 * 14),
               "conv_3": (3 * 3 * 64 * 128 + 128, 3 * 3 * 64 * 128 * 14 * 14),
               "conv_4": (3 * 3 * 128 * 128 + 128, 3 * 3 * 128 * 128 * 7 * 7)}
# ... and v1's depthwise + pointwise replacements.
V1_SEPARABLE = {"dw_2": (3 * 3 * 32 + 32, 3 * 3 * 32 * 196), "pw_2": (32 * 64 + 64, 32 * 64 * 196),
                "dw_3": (3 * 3 * 64 + 64, 3 * 3 * 64 * 196),
                "pw_3": (64 * 128 + 128, 64 * 128 * 196),
                "dw_4": (3 * 3 * 128 + 128, 3 * 3 * 128 * 49),
                "pw_4": (128 * 128 + 128, 128 * 128 * 49)}


@pytest.fixture(scope="module")
def naive_vs_v1(zoo_model):
    from convcost.count.walker import analyze

    models = [zoo_model("naive"), zoo_model("v1")]
    return compare([analyze(m) for m in models])


def test_naive_vs_v1_shares_the_unchanged_layers(naive_vs_v1) -> None:
    (pair,) = naive_vs_v1.pairs
    shared = ["conv_1", "gap", "bn_1", "fc1", "bn_2", "output"]
    assert pair.shared == tuple((name, name) for name in shared)
    assert pair.base_part.paths == tuple(NAIVE_CONVS)
    assert pair.other_part.paths == tuple(V1_SEPARABLE)


def test_naive_vs_v1_differing_part_is_the_articles(naive_vs_v1) -> None:
    (pair,) = naive_vs_v1.pairs
    assert pair.base_part.params == sum(p for p, _ in NAIVE_CONVS.values()) == 239_936
    assert pair.other_part.params == sum(p for p, _ in V1_SEPARABLE.values()) == 29_184
    assert 1 / pair.params_ratio == pytest.approx(8.22, abs=0.005)  # the article's 8.22
    assert pair.base_part.macs == sum(m for _, m in NAIVE_CONVS.values()) == 25_288_704
    assert pair.other_part.macs == sum(m for _, m in V1_SEPARABLE.values()) == 3_035_648


def test_naive_vs_v1_prediction(naive_vs_v1) -> None:
    (pair,) = naive_vs_v1.pairs
    ratios = {"conv_2": 1 / 64 + 1 / 9, "conv_3": 1 / 128 + 1 / 9, "conv_4": 1 / 128 + 1 / 9}
    assert {p.path: p.ratio for p in pair.predictions} == pytest.approx(ratios)
    params = sum(NAIVE_CONVS[k][0] * r for k, r in ratios.items()) / 239_936
    assert pair.predicted_params_ratio == pytest.approx(params)
    # Mult-adds carry no bias, so the MAC prediction equals the measured MAC ratio exactly;
    # params differ by the biases (N per standard conv, M + N per replacement).
    assert pair.predicted_macs_ratio == pytest.approx(pair.macs_ratio, rel=1e-12)
    assert pair.params_ratio > pair.predicted_params_ratio


def test_naive_vs_v1_is_a_separable_rewrite(naive_vs_v1) -> None:
    (pair,) = naive_vs_v1.pairs
    assert pair.separable_rewrite
    assert pair.unmatched_base == () and pair.unmatched_other == ()


def test_v2_is_not_a_separable_rewrite_of_naive(zoo_model) -> None:
    """v2 replaces naive's convs by bottlenecks (expand, depthwise, project, shortcut), not by
    one depthwise + 1×1 pair each: the prediction must not be applied to that pair."""
    from convcost.count.walker import analyze

    (pair,) = compare([analyze(zoo_model("naive")), analyze(zoo_model("v2"))]).pairs
    assert not pair.separable_rewrite
    assert pair.unmatched_base == ("conv_1", "conv_2", "conv_3", "conv_4", "fc1")
    assert "block_1_expand" in pair.unmatched_other and "block_4_project" in pair.unmatched_other


def test_a_rewrite_needs_the_same_shapes() -> None:
    """A depthwise + 1×1 pair on another map size does not replace the standard conv."""
    conv = row("c", 3 * 3 * 4 * 8, 3 * 3 * 4 * 8 * 64, shapes=((8, 8, 4), (8, 8, 8)))
    dw = row("dw", 36, 36 * 16, kind="depthwise", shapes=((4, 4, 4), (4, 4, 4)))
    pw = row("pw", 32, 32 * 16, kind="pointwise", shapes=((4, 4, 4), (4, 4, 8)))
    sigs = {"c": sig("c", (3, 3), 8), "dw": sig("dw", (3, 3), None, "DepthwiseConv2D"),
            "pw": sig("pw", (1, 1), 8)}
    pair = compare_pair(rep("a", conv), sigs, rep("b", dw, pw), sigs)
    assert not pair.separable_rewrite and pair.unmatched_base == ("c",)
    same = row("dw", 36, 36 * 64, kind="depthwise", shapes=((8, 8, 4), (8, 8, 4)))
    pw_same = row("pw", 32, 32 * 64, kind="pointwise", shapes=((8, 8, 4), (8, 8, 8)))
    assert compare_pair(rep("a", conv), sigs, rep("b", same, pw_same), sigs).separable_rewrite
