"""The symbolic theory against hand algebra and hand numbers written out here.

The symbols below are created in this file, with the same names and assumptions as in
convcost.theory.symbolic (sympy symbols with equal name and assumptions are equal), and every
expected
expression is typed from the papers or worked out by hand in a comment.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy
from sympy import Rational, oo

from convcost.count import formulas
from convcost.errors import ConvcostError
from convcost.theory import symbolic as S

COUNT = {"positive": True, "integer": True}
D_K, M, N, D_F, D_W, D_H = sympy.symbols("D_K M N D_F D_W D_H", **COUNT)
alpha, rho = sympy.symbols("alpha rho", positive=True)
h, w, t, k, s = sympy.symbols("h w t k s", **COUNT)
d_in, d_out = sympy.Symbol("d'", **COUNT), sympy.Symbol("d''", **COUNT)
c_1, c_2, c = sympy.symbols("c_1 c_2 c", **COUNT)


def same(expr, expected) -> bool:
    """Exact equality of two rational expressions."""
    return sympy.simplify(expr - expected) == 0


def eq(name: str, label: str):
    return S.DERIVATIONS[name].equation(label).expr


# --- the four layer kinds (MobileNet v1 paper, section 3.1) -----------------------------------

@pytest.mark.parametrize(
    ("cost", "params", "macs"),
    [
        (S.STANDARD, D_K**2 * M * N, D_K**2 * M * N * D_W * D_H),
        (S.DEPTHWISE, D_K**2 * M, D_K**2 * M * D_W * D_H),
        (S.POINTWISE, M * N, M * N * D_W * D_H),
        (S.SEPARABLE, D_K**2 * M + M * N, D_K**2 * M * D_W * D_H + M * N * D_W * D_H),
    ],
    ids=["standard", "depthwise", "pointwise", "separable"],
)
def test_layer_costs_are_the_papers_polynomials(cost, params, macs):
    assert sympy.expand(cost.params - params) == 0
    assert sympy.expand(cost.macs - macs) == 0


@pytest.mark.parametrize("name", ["standard", "depthwise", "pointwise", "separable"])
def test_cost_derivations_show_the_module_costs(name):
    cost = getattr(S, name.upper())
    assert eq(name, "params") == cost.params
    assert eq(name, "mult-adds") == cost.macs


# --- separable / standard ---------------------------------------------------------------------

@pytest.mark.parametrize("field", ["params", "macs"])
def test_ratio_simplifies_to_one_over_n_plus_one_over_dk_squared(field):
    assert sympy.simplify(S.separable_ratio(field) - (1 / N + 1 / D_K**2)) == 0
    assert S.ratio_matches_paper(field)


def test_ratio_at_dk3_n64_is_73_over_576():
    # 1/64 + 1/9 = 9/576 + 64/576 = 73/576
    assert S.separable_ratio("macs").subs({D_K: 3, N: 64}) == Rational(73, 576)
    params, macs, reduction, limit = S.evaluate("ratio", {"N": 64, "D_K": 3})
    assert params.exact == macs.exact == Rational(73, 576)
    assert macs.approx == pytest.approx(73 / 576)
    assert reduction.exact == Rational(576, 73)  # 7.89x fewer mult-adds
    assert limit.exact == 9  # D_K**2: the reduction never reaches 9x


@pytest.mark.parametrize(
    ("n", "ratio"),
    # 1/N + 1/9 = (9 + N) / (9 N)
    [(64, Rational(73, 576)), (128, Rational(137, 1152)), (512, Rational(521, 4608)),
     (1024, Rational(1033, 9216))],
)
def test_ratio_values_at_typical_widths(n, ratio):
    row = {row.n: row for row in S.ratio_values(3, (64, 128, 512, 1024))}[n]
    assert row.ratio == ratio
    assert row.reduction == 1 / ratio
    assert 7.8 < float(row.reduction) < 9  # the "8 to 9 times" of the paper


def test_ratio_of_real_layer_matches_integer_formulas():
    # MobileNet's 14x14 layer, 512 -> 512 channels, 3x3 kernels, evaluated by formulas on ints.
    sep = formulas.separable((3, 3), 512, 512, (14, 14), bias=False).macs
    std = formulas.conv((3, 3), 512, 512, (14, 14), bias=False).macs
    assert Rational(sep, std) == S.separable_ratio("macs").subs({D_K: 3, N: 512})


# --- width and resolution multipliers (MobileNet v1, sections 3.3 and 3.4) --------------------

def test_width_resolution_exact_forms():
    # Hand algebra: the depthwise term D_K^2 (aM)(pD_F)^2 = a p^2 D_K^2 M D_F^2; the pointwise
    # term (aM)(aN)(pD_F)^2 = a^2 p^2 M N D_F^2. Their sum over D_K^2 M D_F^2 + M N D_F^2:
    name = "width_resolution"
    scaled = alpha * rho**2 * D_K**2 * M * D_F**2 + alpha**2 * rho**2 * M * N * D_F**2
    assert same(eq(name, "mult-adds with M → αM, N → αN, D_F → ρD_F"), scaled)
    assert same(eq(name, "depthwise mult-adds: scaled / original"), alpha * rho**2)
    assert same(eq(name, "pointwise mult-adds: scaled / original"), alpha**2 * rho**2)
    exact = alpha * rho**2 * (D_K**2 + alpha * N) / (D_K**2 + N)
    assert same(eq(name, "mult-adds: scaled / original (exact)"), exact)
    assert eq(name, "mult-adds ratio as N → ∞") == alpha**2 * rho**2
    assert same(eq(name, "depthwise params: scaled / original"), alpha)
    assert same(eq(name, "pointwise params: scaled / original"), alpha**2)
    assert same(eq(name, "params: scaled / original (exact)"),
                alpha * (D_K**2 + alpha * N) / (D_K**2 + N))
    assert eq(name, "params ratio as N → ∞") == alpha**2


def test_width_resolution_numeric_half_half_on_a_real_layer():
    # 3x3 separable layer 512 -> 512 on 14x14; alpha = rho = 0.5 gives 256 -> 256 on 7x7.
    at = {"alpha": 0.5, "rho": 0.5, "D_K": 3, "M": 512, "N": 512, "D_F": 14}
    values = {v.label: v for v in S.evaluate("width_resolution", at)}
    scaled = formulas.separable((3, 3), 256, 256, (7, 7), bias=False).macs
    base = formulas.separable((3, 3), 512, 512, (14, 14), bias=False).macs
    assert scaled == 9 * 256 * 49 + 256 * 256 * 49 == 3_324_160
    assert base == 9 * 512 * 196 + 512 * 512 * 196 == 52_283_392
    assert values["mult-adds with M → αM, N → αN, D_F → ρD_F"].exact == scaled
    assert values["mult-adds: scaled / original (exact)"].exact == Rational(scaled, base)
    # 0.5 * 0.25 * (9 + 256) / (9 + 512) = 0.0636, a little above alpha^2 rho^2 = 1/16
    assert values["mult-adds: scaled / original (exact)"].approx == pytest.approx(
        0.125 * 265 / 521)


# --- MobileNet v2 block -----------------------------------------------------------------------

def test_v2_block_is_the_papers_formula():
    cost = S.v2_block(1)
    assert sympy.expand(cost.macs - h * w * d_in * t * (d_in + k**2 + d_out)) == 0
    # expansion d'*(t d') + depthwise k^2 (t d') + projection (t d') d''
    assert sympy.expand(cost.params - t * d_in * (d_in + k**2 + d_out)) == 0
    assert same(eq("v2_block", "mult-adds"), h * w * d_in * t * (d_in + k**2 + d_out))


def test_v2_block_stride2_quarter_cost_after_expansion():
    cost = S.v2_block(2)
    assert cost.macs.free_symbols == {h, w, d_in, d_out, t, k}  # no floor, no helper symbol
    assert same(cost.macs, h * w * d_in * t * (d_in + (k**2 + d_out) / 4))
    assert same(eq("v2_block_stride2", "mult-adds"), cost.macs)
    assert same(eq("v2_block_stride2", "mult-adds at any stride s dividing h and w"),
                h * w * d_in * t * (d_in + (k**2 + d_out) / s**2))
    assert same(eq("v2_block_stride2", "saved by stride 2"),
                Rational(3, 4) * h * w * d_in * t * (k**2 + d_out))
    assert same(cost.params, S.v2_block(1).params)


@pytest.mark.parametrize(
    ("stride", "at", "macs"),
    [
        # 56x56x24 -> 24, t=6, 3x3: 3136 * 24 * 6 * (24 + 9 + 24)
        (1, {"h": 56, "w": 56, "d_in": 24, "d_out": 24, "t": 6, "k": 3}, 25_740_288),
        # 56x56x24 -> 32, stride 2: expand 3136*24*144 = 10,838,016; depthwise on 28x28
        # 784*9*144 = 1,016,064; project 784*144*32 = 3,612,672
        (2, {"h": 56, "w": 56, "d_in": 24, "d_out": 32, "t": 6, "k": 3}, 15_466_752),
    ],
)
def test_v2_block_numbers(stride, at, macs):
    name = "v2_block" if stride == 1 else "v2_block_stride2"
    assert {v.label: v.exact for v in S.evaluate(name, at)}["mult-adds"] == macs
    assert formulas.inverted_residual(56, 56, 24, at["d_out"], 6, stride=stride,
                                      bias=False).macs == macs


# --- ReLU6 ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("x", "y"), [(-1, 0), (0, 0), ("5/2", Rational(5, 2)), (6, 6), (7, 6)])
def test_relu6(x, y):
    (value,) = S.evaluate("relu6", {"x": x})
    assert value.exact == y


# --- arithmetic intensity ---------------------------------------------------------------------

def test_elements_moved_is_inputs_outputs_weights():
    assert S.elements_moved(10, 20, 3) == 33
    # ShuffleNet v2: a 1x1 conv c1 -> c2 on h x w moves hw(c1 + c2) + c1 c2
    assert same(eq("intensity_standard", "elements moved at k = 1 (ShuffleNet v2 MAC)"),
                h * w * (c_1 + c_2) + c_1 * c_2)


def test_standard_intensity_and_limit():
    name = "intensity_standard"
    expected = k**2 * h * w * c_1 * c_2 / (h * w * (c_1 + c_2) + k**2 * c_1 * c_2)
    assert same(eq(name, "intensity: mult-adds / elements moved"), expected)
    assert same(eq(name, "intensity as h*w → ∞"), k**2 * c_1 * c_2 / (c_1 + c_2))
    assert same(S.large_map_limit(expected), sympy.limit(expected, h, oo))


def test_depthwise_intensity_limits():
    name = "intensity_depthwise"
    assert same(eq(name, "intensity, stride 1"), k**2 * h * w * c / (2 * h * w * c + k**2 * c))
    assert eq(name, "intensity as h*w → ∞, stride 1") == k**2 / 2
    assert eq(name, "bound - intensity, stride 1 (positive)").is_positive
    stride_2 = k**2 * (h * w / 4) * c / (h * w * c + h * w * c / 4 + k**2 * c)
    assert same(eq(name, "intensity, stride 2"), stride_2)
    assert eq(name, "intensity as h*w → ∞, stride 2") == k**2 / 5
    assert same(eq(name, "intensity as h*w → ∞, stride s"), k**2 / (s**2 + 1))


@pytest.mark.parametrize(
    ("name", "label", "at", "value"),
    [
        # 3x3 conv 64 -> 64 on 56x56: 9*3136*4096 MACs over 3136*128 + 9*4096 elements
        ("intensity_standard", "intensity: mult-adds / elements moved",
         {"k": 3, "h": 56, "w": 56, "c_1": 64, "c_2": 64}, Rational(115_605_504, 438_272)),
        # 3x3 depthwise, 32 channels, 112x112: 9*12544*32 / (2*12544*32 + 9*32)
        ("intensity_depthwise", "intensity, stride 1",
         {"k": 3, "h": 112, "w": 112, "c": 32}, Rational(3_612_672, 803_104)),
        # stride 2: 9*3136*32 / (12544*32 + 3136*32 + 9*32)
        ("intensity_depthwise", "intensity, stride 2",
         {"k": 3, "h": 112, "w": 112, "c": 32}, Rational(903_168, 502_048)),
    ],
)
def test_intensity_spot_values(name, label, at, value):
    found = {v.label: v for v in S.evaluate(name, at)}[label]
    assert found.exact == value
    assert found.approx == pytest.approx(float(value))


def test_depthwise_is_far_less_intense_than_standard():
    standard = {v.label: v for v in S.evaluate("intensity_standard", {"k": 3, "c_1": 512,
                                                                      "c_2": 512})}
    assert standard["intensity as h*w → ∞"].exact == 9 * 512 * 512 // 1024 == 2304
    depthwise = {v.label: v for v in S.evaluate("intensity_depthwise", {"k": 3})}
    assert depthwise["intensity as h*w → ∞, stride 1"].exact == Rational(9, 2)
    assert depthwise["intensity as h*w → ∞, stride 2"].exact == Rational(9, 5)


# --- registry, rendering, evaluation ----------------------------------------------------------

def test_registry_order_and_renderings():
    assert list(S.DERIVATIONS) == [
        "standard", "depthwise", "pointwise", "separable", "ratio", "width_resolution",
        "v2_block", "v2_block_stride2", "relu6", "intensity_standard", "intensity_depthwise",
        "mobilenet_resolution", "decoder_lm"]
    for name, derivation in S.DERIVATIONS.items():
        assert derivation.name == name
        assert derivation.title and derivation.note and derivation.equations
        assert derivation.latex.startswith("\\begin{aligned}")
        assert derivation.latex.count("&=") == len(derivation.equations)
        for equation in derivation.equations:
            assert equation.label + ":" in derivation.pretty
            assert equation.pretty in derivation.pretty.replace("\n    ", "\n")


def test_pretty_is_unicode_and_latex_is_latex():
    ratio = S.DERIVATIONS["ratio"].equation("mult-adds: separable / standard")
    assert "─" in ratio.pretty  # a unicode fraction bar
    assert ratio.latex == r"\frac{1}{N} + \frac{1}{D_{K}^{2}}"


def test_partial_substitution_keeps_symbols():
    values = S.evaluate("ratio", {"D_K": 3})
    assert same(values[1].exact, 1 / N + Rational(1, 9))
    assert values[1].approx is None


@pytest.mark.parametrize(
    ("name", "values", "match"),
    [
        ("nope", {}, r"Unknown formula kind\. Received: 'nope'\. Valid kinds: standard"),
        ("ratio", {"Q": 3}, r"Unknown symbol\. Received: 'Q'\. Valid symbols: D_K"),
        ("ratio", {"N": 0.5}, r"N is a count and must be an integer\. Received: N=0\.5"),
        ("ratio", {"N": -2}, r"N must be positive\. Received: N=-2"),
        ("ratio", {"N": "abc"}, r"must be a finite number.*Received: N='abc'"),
        ("ratio", {"N": True}, r"must be a finite number.*Received: N=True"),
        ("width_resolution", {"alpha": 0}, r"alpha must be positive\. Received: alpha=0"),
    ],
)
def test_evaluate_errors(name, values, match):
    with pytest.raises(ConvcostError, match=match):
        S.evaluate(name, values)


def test_substitution_accepts_paper_spelling_and_exact_fractions():
    subs = S.substitutions({"d'": 24, "d_out": "32", "alpha": "3/4", "rho": 0.5})
    assert subs == {d_in: 24, d_out: 32, alpha: Rational(3, 4), rho: Rational(1, 2)}


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import convcost", "sympy"),
        ("import convcost.theory.symbolic as s; [s.DERIVATIONS[n] for n in s.DERIVATIONS]",
         "tensorflow"),
        ("import convcost.theory.symbolic as s; [s.DERIVATIONS[n] for n in s.DERIVATIONS]",
         "keras"),
    ],
)
def test_imports_stay_light(code, absent):
    check = f"{code}; import sys; print({absent!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"
