"""Whole-model formulas of real Keras models: the zoo (the article's nets, MobileNet,
MobileNetV2, ResNet50) and two transformers built here from plain Keras layers.

Each formula is proven inside :func:`convcost.theory.model.derive` at held-back sizes; the
tests here check it again at sizes the derivation never saw, against ``analyze`` on a model
built afresh at that size, and against hand counts and published figures.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy

import convcost
from convcost.analysis import scaling
from convcost.errors import ConvcostError
from convcost.models import zoo
from convcost.theory.model import SYMBOLS, ModelFormula, derive
from tests.conftest import tiny_decoder, tiny_encoder

H, W, L = SYMBOLS["H"], SYMBOLS["W"], SYMBOLS["L"]
_CACHE: dict[str, ModelFormula] = {}


def zoo_formula(name: str) -> ModelFormula:
    """The formula of a zoo model at its default size, as `analyze --symbolic` derives it."""
    if name not in _CACHE:
        family = scaling.zoo_family(name)
        _CACHE[name] = derive(family.sample, family.names, check=family.check,
                              model=family.report.model, base=family.report)
    return _CACHE[name]


def fresh(name: str, height: int, width: int) -> Any:
    """analyze() of the zoo model built afresh at height x width (no weights allocated)."""
    channels = zoo.entry(name).input_shape[2]
    with convcost.shape_only():
        return convcost.analyze(zoo.build(name, input_shape=(height, width, channels)))


def never_seen(formula: ModelFormula, sizes: tuple[int, int]) -> None:
    assert sizes not in formula.fitted_at and sizes not in formula.verified_at
    assert formula.domain.contains(sizes)


# --- the article's nets -----------------------------------------------------------------------


def test_v1_formula_is_the_hand_count() -> None:
    """v1 on H x W x 1, H and W multiples of 4 (two stride-2 layers), 'same' padding:
    conv_1 3x3x1x32 on H/2 x W/2: 288/4 = 72 HW; dw_2 3x3x32 on H/2 x W/2: 72 HW;
    pw_2 32x64 on H/2 x W/2: 512 HW; dw_3 3x3x64: 144 HW; pw_3 64x128: 2,048 HW;
    dw_4 3x3x128 stride 2, on H/4 x W/4: 1,152/16 = 72 HW; pw_4 128x128 on H/4 x W/4:
    1,024 HW. Sum 72+72+512+144+2,048+72+1,024 = 3,944 HW (= 3,092,096 / 784: each layer's
    MACs at 28x28 times HW/784). Head: fc1 128x128 = 16,384, output 128x10 = 1,280."""
    formula = zoo_formula("v1")
    assert formula.macs.expr == 3944 * H * W + 16384 + 1280
    assert formula.params.expr == 48_330  # model.summary()
    assert formula.domain.steps == (4, 4)
    assert formula.layer("dw_4").macs.expr == 72 * H * W
    assert formula.layer("fc1").macs.expr == 16_384
    assert formula.macs((28, 28)) == 3_109_760  # the article's net at 28x28 (README)


@pytest.mark.parametrize("name", ["naive", "v1", "v2"])
@pytest.mark.parametrize("sizes", [(36, 20), (60, 92)])
def test_article_formula_equals_analyze_at_unseen_sizes(name: str, sizes: tuple[int, int]
                                                        ) -> None:
    formula = zoo_formula(name)
    never_seen(formula, sizes)
    report = fresh(name, *sizes)
    assert (formula.macs(sizes), formula.params(sizes), formula.flops(sizes)) == (
        report.macs, report.params, report.flops)
    for row, layer in zip(report.layers, formula.layers, strict=True):
        assert layer.macs(sizes) == row.macs, row.path


# --- keras.applications -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "sizes"), [("mobilenet", (96, 128)),
                                             pytest.param("mobilenet_v2", (128, 64),
                                                          marks=pytest.mark.slow),
                                             pytest.param("resnet50", (256, 96),
                                                          marks=pytest.mark.slow)])
def test_application_formula_equals_analyze_at_an_unseen_size(name: str,
                                                              sizes: tuple[int, int]) -> None:
    formula = zoo_formula(name)
    never_seen(formula, sizes)
    report = fresh(name, *sizes)
    assert formula.macs(sizes) == report.macs
    assert formula.flops(sizes) == report.flops
    assert formula.params(sizes) == report.params == report.keras_count_params
    assert formula.domain.steps == (32, 32)


@pytest.mark.slow
def test_mobilenet_formulas_give_the_reference_counts_at_224() -> None:
    """Reference values measured with TensorFlow's profiler (FINDINGS.md): MobileNet
    568,740,352 and MobileNetV2 300,774,272 conv + depthwise + dense MACs at 224x224."""
    assert zoo_formula("mobilenet").macs((224, 224)) == 568_740_352
    assert zoo_formula("mobilenet_v2").macs((224, 224)) == 300_774_272


def test_mobilenet_formula_equals_the_paper_table_derivation() -> None:
    """Keras' MobileNet, interpolated, equals MobileNet v1's Table 1 costed symbolically."""
    from convcost.theory import laws

    body, classifier = laws.mobilenet_v1()
    assert sympy.expand(zoo_formula("mobilenet").macs.expr - body.macs - classifier.macs) == 0


@pytest.mark.slow
def test_application_cost_is_a_multiple_of_hw_plus_the_classifier() -> None:
    """Every conv runs on an H/s x W/s map: only H*W terms, plus the constant classifier."""
    for name, classifier in (("mobilenet", 1024 * 1000), ("mobilenet_v2", 1280 * 1000),
                             ("resnet50", 2048 * 1000)):
        poly = zoo_formula(name).macs
        assert {exps for exps, _ in poly.terms} == {(1, 1), (0, 0)}
        assert poly((0, 0)) == classifier


# --- two transformers -------------------------------------------------------------------------


def test_decoder_formula_is_the_hand_count() -> None:
    """tiny_decoder: d = 32, 4 heads of key_dim 8, d_ff = 128, 2 blocks. Per block:
    Q, K, V projections 3 x 32 x 32 L = 3,072 L; scores 4 x 8 x L^2 = 32 L^2; context
    4 x 8 x L^2 = 32 L^2; output projection 32 x 32 L = 1,024 L; MLP 32 x 128 L + 128 x 32 L
    = 8,192 L. Block: 12,288 L + 64 L^2; two blocks: 24,576 L + 128 L^2.
    Params: embedding 100 x 32 = 3,200; per block LN 64, MHA 3 x (32x32 + 32) + 32x32 + 32
    = 4,224, LN 64, MLP 32x128 + 128 + 128x32 + 32 = 8,352: 12,704; final LN 64:
    3,200 + 2 x 12,704 + 64 = 28,672."""
    formula = convcost.analyze_symbolic(tiny_decoder(), input_shape=(16,))
    assert formula.macs.expr == 24_576 * L + 128 * L**2
    assert formula.params.expr == 28_672
    assert formula.names == ("L",) and formula.degrees == (2,)
    assert formula.domain.steps == (1,) and formula.domain.minimum == (1,)


def test_encoder_formula_is_the_hand_count() -> None:
    """tiny_encoder on (L, 16): embed 16 x 32 L = 512 L; GQA: Q 32 x (4 x 8) L = 1,024 L,
    K and V 32 x (2 x 8) L = 512 L each, scores and context 4 heads x L^2 x (8 + 8) = 64 L^2,
    output 32 x 32 L = 1,024 L; MLP 32 x 64 L + 64 x 32 L = 4,096 L; head 32 x 10 = 320.
    Total 7,680 L + 64 L^2 + 320."""
    formula = convcost.analyze_symbolic(tiny_encoder(), input_shape=(10, 16))
    assert formula.macs.expr == 64 * L**2 + 7_680 * L + 320


@pytest.mark.parametrize("build", [tiny_decoder, tiny_encoder])
def test_transformer_formula_equals_analyze_at_unseen_lengths(build: Any) -> None:
    model = build()
    tail = tuple(model.inputs[0].shape[2:])
    formula = convcost.analyze_symbolic(model, input_shape=(10, *tail))
    for length in (33, 250, 1999):
        assert (length,) not in formula.fitted_at and (length,) not in formula.verified_at
        report = convcost.analyze(model, input_shape=(length, *tail))
        assert (formula.macs((length,)), formula.flops((length,))) == (report.macs,
                                                                       report.flops)


# --- domains and refusals ---------------------------------------------------------------------


def test_a_flat_vector_input_has_no_free_size() -> None:
    import keras

    inputs = keras.Input(shape=(784,))
    model = keras.Model(inputs, keras.layers.Dense(10)(inputs), name="mlp")
    with pytest.raises(ConvcostError, match=r"needs an input with a free size.*flat vector"):
        scaling.model_family(model)


def test_a_model_fixed_to_one_size_is_refused_clearly() -> None:
    import keras

    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10)(x), name="flat")
    with pytest.raises(ConvcostError, match="takes no pair of input sizes"):
        convcost.analyze_symbolic(model)


def test_shape_only_builds_allocate_nothing_and_count_the_same() -> None:
    with convcost.shape_only():
        model = zoo.build("v1")
        report = convcost.analyze(model)
    assert report.params == report.keras_count_params == 48_330
    assert report.macs == 3_109_760


def test_a_family_can_bring_its_own_sizes_and_maximum() -> None:
    """The path for models with several inputs (keras-hub: token ids and a padding mask):
    the caller names the free sizes, says how to shape the input, and bounds L."""
    model = tiny_decoder()
    family = scaling.model_family(model, input_shape_=(16,), names=("L",),
                                  shape_of=lambda sizes: (sizes["L"],), maximum={"L": 512})
    formula = derive(family.sample, family.names, check=family.check, model="decoder",
                     base=family.report, maximum=family.maximum)
    assert formula.macs.expr == 24_576 * L + 128 * L**2
    assert formula.domain.text == "exact for every L ≥ 1, at most 512"
    assert all(p[0] <= 512 for p in formula.verified_at)


def test_a_re_shaped_model_whose_weights_do_not_fit_is_refused() -> None:
    import keras

    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inputs))
    family = scaling.model_family(keras.Model(inputs, keras.layers.Dense(10, name="fc")(x)))
    with pytest.raises(ConvcostError, match=r"does not fit the model's weights: layer 'fc' "
                                            r"\(Dense\) would need 36,010 params for it, and "
                                            r"holds 27,050.*Received: input_shape \(32, 32, 1\)"):
        family.sample({"H": 32, "W": 32})


# --- keras-hub text models ---------------------------------------------------------------------


@pytest.mark.slow
def test_gpt2_backbone_formula_is_the_hand_count() -> None:
    """GPT-2 small's backbone (d = 768, d_ff = 3,072, 12 layers, full attention) per token and
    layer: Q, K, V and output projections 4 d² = 2,359,296, MLP 2 d·d_ff = 4,718,592, so
    12 · 7,077,888 = 84,934,656 L; scores and context 2 d L per token and layer: 18,432 L².
    Params: the published 124,439,808 (keras-hub's gpt2_base_en), whatever L. Learned
    positions stop the formula at 1,024 tokens."""
    family = scaling.text_family("gpt2", seq_len=128, include_top=False)
    formula = derive(family.sample, family.names, check=family.check, model="gpt2",
                     base=family.report, maximum=family.maximum)
    assert formula.macs.expr == 84_934_656 * L + 18_432 * L**2
    assert formula.params.expr == 124_439_808
    assert formula.domain.text == "exact for every L ≥ 1, at most 1024"


def test_a_model_of_token_inputs_only_is_a_family_over_l() -> None:
    """Two token inputs (ids and a mask, as keras-hub backbones take) are both set to L: an
    embedding of 100 x 8 and a Dense 8 -> 8 are 64 MACs per token, so 64 L."""
    import keras

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    mask = keras.Input(shape=(None,), dtype="int32", name="mask")
    x = keras.layers.Embedding(100, 8)(ids)
    x = keras.layers.Dense(8, use_bias=False)(x)
    x = x * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    model = keras.Model([ids, mask], x)
    formula = convcost.analyze_symbolic(model, input_shape=(16,))
    assert formula.macs.expr == 64 * L
    assert formula.params.expr == 100 * 8 + 8 * 8
