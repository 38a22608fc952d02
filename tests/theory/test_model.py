"""The whole-model formula engine on synthetic reports (no Keras): exact polynomials, the
lattice and its minimum, held-back proof, and clear refusals.

The synthetic "network" is written here with the Keras size rules spelled out (``'same'``
padding rounds up, ``ceil(n / s)``), so every expected formula is a hand calculation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

import pytest
import sympy

from convcost.count.report import Report
from convcost.errors import ConvcostError
from convcost.theory.model import SYMBOLS, NotPolynomial, Polynomial, derive
from tests.conftest import hand_row, tiny_cnn, tokens


def counted(function: Callable[[Mapping[str, int]], Report]) -> tuple[Callable, list]:
    calls: list = []

    def sample(sizes: Mapping[str, int]) -> Report:
        calls.append(dict(sizes))
        return function(sizes)

    return sample, calls


# --- exact formulas ---------------------------------------------------------------------------


def test_cnn_formula_is_the_hand_count() -> None:
    H, W = SYMBOLS["H"], SYMBOLS["W"]
    formula = derive(tiny_cnn, ("H", "W"), model="tiny")
    assert formula.macs.expr == sympy.Rational(133, 2) * H * W + 160
    assert formula.params.expr == 576
    assert formula.domain.steps == (4, 4)
    assert formula.degrees == (1, 1)
    assert formula.layer("dw").macs.expr == sympy.Rational(9, 2) * H * W
    assert [s.text() for s in formula.layer("pw").output_shape] == ["H/4", "W/4", "16"]
    assert formula.macs.text() == "133·H·W/2 + 160"


def test_formula_equals_the_counts_at_sizes_never_sampled() -> None:
    sample, calls = counted(tiny_cnn)
    formula = derive(sample, ("H", "W"))
    seen = {(c["H"], c["W"]) for c in calls}
    for sizes in [(36, 44), (100, 8), (1000, 2000)]:
        assert sizes not in seen
        report = tiny_cnn({"H": sizes[0], "W": sizes[1]})
        assert formula.macs(sizes) == report.macs
        assert formula.flops(sizes) == report.flops


def test_off_the_lattice_same_padding_rounds_up() -> None:
    """At 30x30 (not a multiple of 4) the maps are 15 and 8, not 7.5: more MACs."""
    formula = derive(tiny_cnn, ("H", "W"))
    report = tiny_cnn({"H": 30, "W": 30})
    assert not formula.domain.contains((30, 30))
    # 216*15*15 + 72*8*8 + 128*8*8 + 160 = 48,600 + 4,608 + 8,192 + 160 = 61,560
    assert report.macs == 61_560
    assert formula.macs((30, 30)) == Fraction(133, 2) * 900 + 160 == 60_010


def test_base_report_on_the_lattice_is_one_more_proof() -> None:
    base = tiny_cnn({"H": 28, "W": 28})
    formula = derive(tiny_cnn, ("H", "W"), base=base)
    assert (28, 28) in formula.verified_at
    assert formula.base is not None and formula.base.exact and formula.base.on_domain


def test_base_report_off_the_lattice_is_compared_not_used() -> None:
    formula = derive(tiny_cnn, ("H", "W"), base=tiny_cnn({"H": 30, "W": 30}))
    assert formula.base is not None
    assert not formula.base.on_domain and not formula.base.exact
    assert (formula.base.macs, formula.base.formula_macs) == (61_560, 60_010)


def test_token_formula_is_quadratic() -> None:
    L = SYMBOLS["L"]
    formula = derive(tokens, ("L",))
    assert formula.macs.expr == 8 * L**2 + 64 * L  # 2*4*L^2 + 4*4*4*L
    assert formula.degrees == (2,)
    assert formula.domain.text == "exact for every L ≥ 1"


def test_maximum_bounds_the_probes_and_the_proof() -> None:
    def capped(sizes: Mapping[str, int]) -> Report:
        if sizes["L"] > 100:
            raise ConvcostError(f"too long. Received: {sizes['L']}.")
        return tokens(sizes)

    formula = derive(capped, ("L",), maximum={"L": 100})
    assert all(p[0] <= 100 for p in formula.verified_at)
    assert formula.domain.text == "exact for every L ≥ 1, at most 100"


def test_minimum_is_the_smallest_lattice_size_the_model_takes() -> None:
    def at_least_32(sizes: Mapping[str, int]) -> Report:
        if min(sizes.values()) < 32:
            raise ConvcostError("Input size must be at least 32x32. Received: small.")
        return tiny_cnn(sizes)

    formula = derive(at_least_32, ("H", "W"))
    assert formula.domain.minimum == (32, 32)


def test_polynomial_strings_parse_back_with_sympy() -> None:
    formula = derive(tokens, ("L",))
    parsed = sympy.sympify(str(formula.macs))
    assert parsed.subs("L", 77) == formula.macs((77,)) == tokens({"L": 77}).macs


def test_polynomial_text_with_negative_and_fractional_terms() -> None:
    poly = Polynomial.of(("H", "W"), {(1, 0): Fraction(1, 2), (0, 0): Fraction(-1)})
    assert poly.text() == "H/2 - 1"
    assert str(poly) == "H/2 - 1"
    assert Polynomial.of(("L",), {}).text() == "0"


# --- refusals ---------------------------------------------------------------------------------


def test_no_free_size_is_one_clear_error() -> None:
    def fixed(sizes: Mapping[str, int]) -> Report:
        raise ConvcostError("Layer 'dense' cannot take the requested input shape. Received: x.")

    with pytest.raises(ConvcostError, match=r"takes no pair of input sizes.*no free size"):
        derive(fixed, ("H", "W"), model="mlp")


def test_not_a_polynomial_is_refused() -> None:
    def exponential(sizes: Mapping[str, int]) -> Report:
        n = sizes["L"]
        return Report("exp", (n,), (hand_row("x", "other", (n, 1), 0, 2**n),), 0)

    with pytest.raises(NotPolynomial, match="not a polynomial of degree at most 4 in L"):
        derive(exponential, ("L",))


def test_a_held_back_size_that_disagrees_refuses_the_formula() -> None:
    """Quadratic until L = 12, then one MAC more: the fit is fine, the proof is not."""
    def kinked(sizes: Mapping[str, int]) -> Report:
        report = tokens(sizes)
        if sizes["L"] < 12 or sizes["L"] > 1000:
            return report
        extra = hand_row("extra", "other", (sizes["L"], 4), 0, 1)
        return Report(report.model, report.input_shape, (*report.layers, extra), 64)

    with pytest.raises(NotPolynomial, match=r"not one polynomial.*at L=\d+ the formula gives"):
        derive(kinked, ("L",))


def test_unknown_symbol_names_are_refused() -> None:
    with pytest.raises(ConvcostError, match="distinct names among L, D, H, W"):
        derive(tokens, ("X",))


def test_rows_that_differ_between_sizes_drop_the_layer_formulas_only() -> None:
    def grows(sizes: Mapping[str, int]) -> Report:
        report = tokens(sizes)
        if sizes["L"] % 2:  # an extra zero-cost row at odd lengths
            extra = hand_row("noop", "other", (sizes["L"], 4), layer_type="Identity")
            return Report(report.model, report.input_shape, (*report.layers, extra), 64)
        return report

    formula = derive(grows, ("L",))
    assert formula.layers == ()
    assert "Layer calls differ between sizes" in formula.note
    assert formula.macs.expr == 8 * SYMBOLS["L"] ** 2 + 64 * SYMBOLS["L"]
