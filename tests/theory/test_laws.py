"""Model-level laws (``convcost formulas mobilenet_resolution`` / ``decoder_lm``) against hand
counts, the papers, and the whole-model engine on Keras models."""

from __future__ import annotations

import sympy

from convcost.theory import laws, symbolic
from convcost.theory.model import SYMBOLS

H, W, L = SYMBOLS["H"], SYMBOLS["W"], SYMBOLS["L"]
rho = laws.rho


def test_mobilenet_body_is_a_multiple_of_hw() -> None:
    body, classifier = laws.mobilenet_v1()
    assert sympy.expand(body.macs) == sympy.Rational(22629, 2) * H * W
    assert classifier.macs == 1024 * 1000


def test_mobilenet_at_224_is_the_reference_count() -> None:
    """568,740,352 conv + depthwise + dense MACs of Keras' MobileNet at 224 (measured with
    TensorFlow's profiler, FINDINGS.md); the paper's Table 1 says 569 M."""
    body, classifier = laws.mobilenet_v1(224, 224)
    assert body.macs + classifier.macs == 568_740_352


def test_rho_law_falls_as_rho_squared_except_the_classifier() -> None:
    """(22,629 / 2) x 224^2 = 22,629 x 25,088 = 567,716,352: cost = 567,716,352 rho^2 +
    1,024,000."""
    law = symbolic.derivation("mobilenet_resolution").equation("mult-adds at H = W = 224ρ")
    assert sympy.expand(law.expr - (567_716_352 * rho**2 + 1_024_000)) == 0


def test_rho_law_meets_the_papers_table_7() -> None:
    """MobileNet v1 paper, Table 7: 569, 418, 290, 186 million mult-adds at 224, 192, 160, 128
    (the paper rounds both ways: 568.7 -> 569, 290.7 -> 290); the law at rho = 1, 6/7, 5/7,
    4/7 is within 1 million of each."""
    law = symbolic.derivation("mobilenet_resolution").equation("mult-adds at H = W = 224ρ").expr
    for size, paper in ((224, 569), (192, 418), (160, 290), (128, 186)):
        value = law.subs(rho, sympy.Rational(size, 224))
        assert abs(value / 1e6 - paper) < 1, (size, value)


def test_mobilenet_params_weights_only_are_the_papers_4_2_million() -> None:
    body, classifier = laws.mobilenet_v1()
    assert body.params + classifier.params == 4_209_088  # Table 1: 4.2 M


def test_decoder_block_is_twelve_d_squared_plus_two_d_l_squared_at_d_ff_4d() -> None:
    d = laws.d_model
    block = laws.decoder_block(hidden=4 * d)
    assert sympy.expand(block.macs - (12 * d**2 * L + 2 * d * L**2)) == 0


def test_gpt2_small_backbone() -> None:
    """GPT-2 small: 12 x (12 d^2 L + 2 d L^2), d = 768: 12 x 12 x 589,824 = 84,934,656 and
    12 x 2 x 768 = 18,432."""
    macs = laws.decoder(12, 768, 3072).macs
    assert sympy.expand(macs - (84_934_656 * L + 18_432 * L**2)) == 0


def test_per_token_is_n_plus_an_attention_term_and_twice_kaplans() -> None:
    derivation = symbolic.derivation("decoder_lm")
    n = derivation.equation("N: non-embedding weights").expr
    per_token = derivation.equation("forward mult-adds per token").expr
    d, layers = laws.d_model, laws.n_layer
    assert sympy.expand(per_token - n - 2 * layers * d * L) == 0
    # Kaplan's N = 2 d n_layer (2 d_attn + d_ff) with d_attn = d
    assert sympy.expand(n - 2 * d * layers * (2 * d + laws.d_ff)) == 0
    kaplan = derivation.equation("Kaplan et al. (2020): forward FLOPs per token").expr
    assert sympy.expand(2 * per_token - kaplan - 2 * layers * L * d) == 0


def test_decoder_law_is_what_the_engine_finds_on_a_keras_transformer() -> None:
    """The law at n_layer = 2, d = 32, d_ff = 128 against tiny_decoder, interpolated and
    proven by the engine (bias adds no MACs, so MACs agree although Keras keeps biases)."""
    import convcost
    from tests.conftest import tiny_decoder

    formula = convcost.analyze_symbolic(tiny_decoder(), input_shape=(8,))
    assert sympy.expand(formula.macs.expr - laws.decoder(2, 32, 128).macs) == 0


def test_new_laws_evaluate_with_subs() -> None:
    values = symbolic.evaluate("decoder_lm", {"L": 1024, "d_model": 768, "d_ff": 3072,
                                              "n_layer": 12})
    by_label = {v.label: v for v in values}
    assert by_label["forward mult-adds of n_layer blocks"].exact == (
        84_934_656 * 1024 + 18_432 * 1024**2)
    rho_values = symbolic.evaluate("mobilenet_resolution", {"rho": "1/2"})
    assert {v.label: v for v in rho_values}["mult-adds at H = W = 224ρ"].exact == (
        567_716_352 // 4 + 1_024_000)
