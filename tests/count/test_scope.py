"""Shape-only builds: the same reports as normal builds, models too large to allocate, and
nothing left for Keras to initialise later."""

from __future__ import annotations

import resource

import keras
import pytest

import convcost
from convcost.count import keras_internals
from convcost.count.walker import analyze
from convcost.models import zoo

SMALL = {"naive": None, "v1": None, "v2": None, "mobilenet": (64, 64, 3),
         "mobilenet_v2": (64, 64, 3), "mobilenet_v3_small": (64, 64, 3),
         "resnet50": (64, 64, 3), "convnext_tiny": (64, 64, 3)}


@pytest.mark.parametrize("name", [pytest.param(name, marks=() if SMALL[name] is None
                                               else pytest.mark.slow) for name in sorted(SMALL)])
def test_shape_only_and_normal_builds_give_identical_reports(name):
    # the same automatic layer names in both builds (no gc.collect: names are all it is for)
    keras.backend.clear_session(free_memory=False)
    normal = analyze(zoo.build(name, input_shape=SMALL[name]))
    keras.backend.clear_session(free_memory=False)
    with convcost.shape_only():
        model = zoo.build(name, input_shape=SMALL[name])
    assert analyze(model) == normal  # every row, piece, shape and count


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_huge_width_multiplier_answers_without_allocating():
    before = _peak_mb()
    with convcost.shape_only():
        model = zoo.build("naive", alpha=1e5)  # conv_4: 12.8M x 12.8M channels
    report = analyze(model)
    assert report.params == model.count_params()
    conv_4 = next(row for row in report.layers if row.name == "conv_4")
    assert conv_4.params == 3 * 3 * 12_800_000 * 12_800_000 + 12_800_000  # 5.9 PB of float32
    # Keras would initialise them at its next symbolic call: shape_only took them off its list
    assert not any(w in keras_internals.uninitialized_variables() for w in model.weights)
    keras.Model(inp := keras.Input((3,)), keras.layers.Dense(2)(inp))  # a symbolic call
    assert _peak_mb() - before < 500


def test_a_huge_input_shape_answers_without_allocating():
    before = _peak_mb()
    report = convcost.analyze("v1", input_shape=(100_000, 100_000, 1))
    conv_1 = next(row for row in report.layers if row.name == "conv_1")
    assert conv_1.macs == 3 * 3 * 1 * 32 * 50_000 * 50_000
    assert _peak_mb() - before < 500


def test_shape_only_is_public_for_users_models():
    with convcost.shape_only():
        model = keras.Sequential([keras.Input((4096,)), keras.layers.Dense(1_000_000)])
    report = convcost.analyze(model)
    assert report.params == 4096 * 1_000_000 + 1_000_000 == model.count_params()
    assert report.macs == 4096 * 1_000_000
