"""Shape-only builds: the same reports as normal builds, and models too large to allocate."""

from __future__ import annotations

import resource

import keras
import pytest

import convcost
from convcost.count.walker import analyze
from convcost.models import zoo

SMALL = {"naive": None, "v1": None, "v2": None, "mobilenet": (64, 64, 3),
         "mobilenet_v2": (64, 64, 3), "mobilenet_v3_small": (64, 64, 3),
         "resnet50": (64, 64, 3), "convnext_tiny": (64, 64, 3)}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shape_only_and_normal_builds_give_identical_reports(name):
    reports = []
    for shape_only in (False, True):
        keras.backend.clear_session()  # the same automatic layer names in both builds
        reports.append(analyze(zoo.build(name, input_shape=SMALL[name], shape_only=shape_only)))
    assert reports[1] == reports[0]  # every row, piece, shape and count


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_huge_width_multiplier_answers_without_allocating():
    before = _peak_mb()
    report = analyze(zoo.build("naive", alpha=1e5, shape_only=True))  # conv_4: 12.8M x 12.8M
    assert report.params == zoo.build("naive", alpha=1e5, shape_only=True).count_params()
    conv_4 = next(row for row in report.layers if row.name == "conv_4")
    assert conv_4.params == 3 * 3 * 12_800_000 * 12_800_000 + 12_800_000  # 5.9 PB of float32
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
