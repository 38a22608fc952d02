"""Reference nets against the article's numbers, the papers' tables and Keras' own counts."""

from __future__ import annotations

import pytest

from convcost import ConvcostError, analyze, shape_only
from convcost.models import zoo


def test_article_param_counts(zoo_model):
    # model.summary() totals printed in the article
    assert zoo_model("naive").count_params() == 259_082
    assert zoo_model("v1").count_params() == 48_330


def test_the_converted_part_shrinks_by_the_articles_factor(zoo_model):
    naive = {row.name: row for row in analyze(zoo_model("naive")).layers}
    v1 = {row.name: row for row in analyze(zoo_model("v1")).layers}
    standard = sum(naive[f"conv_{i}"].params for i in (2, 3, 4))
    separable = sum(v1[f"{kind}_{i}"].params for i in (2, 3, 4) for kind in ("dw", "pw"))
    assert (standard, separable) == (239_936, 29_184)
    assert standard / separable == pytest.approx(8.22, abs=0.005)


def test_v2_params_by_hand(zoo_model):
    conv = 9 * 32 + 32

    def block(d_in: int, filters: int) -> int:
        expanded = filters * 6  # as published: t times the block's output channels
        shortcut = d_in * filters + filters if d_in != filters else 0
        return ((d_in * expanded + expanded) + (9 * expanded + expanded)
                + (expanded * filters + filters) + shortcut)

    head = (32 * 128 + 128) + (128 * 10 + 10)
    expected = conv + block(32, 8) + block(8, 16) + block(16, 16) + block(16, 32) + head
    assert expected == 28_122
    assert zoo_model("v2").count_params() == expected


def test_v2_projection_is_linear_and_expansions_use_relu6(zoo_model):
    layers = {layer.name: layer for layer in zoo_model("v2").layers}
    assert layers["block_1_project"].get_config()["activation"] == "linear"
    assert layers["block_1_expand_relu6"].get_config()["max_value"] == 6.0


def test_mobilenet_matches_the_paper(zoo_model):
    model = zoo_model("mobilenet")
    report = analyze(model)
    assert report.params == model.count_params() == 4_253_864
    assert report.macs == 568_740_352  # MobileNet v1 paper, Table 8: 569 million mult-adds


def test_mobilenet_v2_matches_the_paper(zoo_model):
    report = analyze(zoo_model("mobilenet_v2"))
    assert report.params == 3_538_984
    assert report.macs == pytest.approx(300e6, rel=0.01)  # MobileNetV2 paper, Table 4: 300M


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2", "resnet50", "vgg16",
                                  *(pytest.param(name, marks=pytest.mark.slow)
                                    for name in ("densenet121", "inception_v3"))])
def test_every_layer_of_applications_matches_count_params(name):
    with shape_only():  # count_params() reads the variables' shapes; no weights needed
        model = zoo.build(name)
    report = analyze(model)
    layers = {layer.name: layer for layer in model.layers}
    for row in report.layers:
        assert row.params == layers[row.name].count_params(), row.path
    assert report.params == model.count_params()


def test_width_multiplier_on_naive_by_hand():
    model = zoo.build("naive", alpha=0.5)
    convs = (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 64 + 64)
    head = 2 * (64 * 4) + (64 * 64 + 64) + (64 * 10 + 10)
    assert model.count_params() == convs + head == 65_546


def test_width_multiplier_scales_v1_pointwise_macs_by_alpha_squared():
    full = {r.name: r for r in analyze(zoo.build("v1")).layers}
    half = {r.name: r for r in analyze(zoo.build("v1", alpha=0.5)).layers}
    assert half["pw_3"].macs * 4 == full["pw_3"].macs
    assert half["dw_3"].macs * 2 == full["dw_3"].macs


def test_mobilenet_alpha_is_passed_to_keras():
    assert zoo.build("mobilenet", alpha=0.25, input_shape=(128, 128, 3)).count_params() < 600_000


def test_options_reach_the_builders():
    model = zoo.build("v2", input_shape=(32, 32, 3), classes=5)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 5)
    assert zoo.build("naive", include_top=False).output_shape == (None, 7, 7, 128)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("mobilnet", {}, "Unknown model name. Received: 'mobilnet'. Did you mean 'mobilenet'"),
        ("nothing_like_it", {}, "convcost zoo"),
        ("resnet50", {"alpha": 0.5}, "takes no width multiplier. Received: alpha=0.5"),
        ("v1", {"alpha": -1.0}, "alpha must be a positive number"),
        ("v1", {"classes": 0}, "classes must be a positive integer. Received: classes=0"),
        ("v1", {"input_shape": (28, 28)}, "three positive sizes"),
        ("v1", {"input_shape": (0, 28, 1)}, "three positive sizes"),
        ("mobilenet", {"input_shape": (16, 16, 3)}, "refused the options"),
    ],
)
def test_bad_options_raise_one_clear_error(name, kwargs, message):
    with pytest.raises(ConvcostError, match=message):
        zoo.build(name, **kwargs)


def test_zoo_listing_needs_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys, convcost.models.zoo as z; assert len(z.ZOO) == 56; "
            "print(sorted({'tensorflow', 'keras', 'keras_hub'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, e in zoo.ZOO.items() if e.keras_name])
def test_every_application_is_fully_supported_and_matches_count_params(name):
    """All 40 keras.applications models (python -m pytest -m slow; a few minutes)."""
    model = zoo.build(name)
    report = analyze(model)
    assert report.unsupported == {}
    assert report.params == model.count_params()
    assert report.macs > 0


@pytest.mark.parametrize("include_top", [True, False])
def test_a_hub_model_is_named_as_listed_and_is_the_class_listed(include_top):
    import convcost

    with convcost.shape_only():
        model = zoo.build("gpt2", include_top=include_top)
    assert model.name == "gpt2"  # the report's headline says what the user typed
    built = f"keras_hub.{type(model).__name__}"
    assert built == ("keras_hub.GPT2CausalLM" if include_top else "keras_hub.GPT2Backbone")
    if include_top:
        assert zoo.entry("gpt2").source == built
