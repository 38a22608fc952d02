"""The memory guard: a run that cannot fit is refused from its counts, before any allocation."""

from __future__ import annotations

import os

import pytest

import convcost
from convcost.errors import ConvcostError
from convcost.measure.fits import check_fits, run_memory
from convcost.measure.machine import available_memory
from convcost.models import zoo


@pytest.fixture(scope="module")
def v1() -> tuple[convcost.Report, int, int]:
    """v1's report from a shape-only build, its count_params() and trainable weight count."""
    import keras

    with convcost.shape_only():
        model = zoo.build("v1")
        report = convcost.analyze(model)
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    return report, model.count_params(), trainable


def test_inference_needs_at_least_the_float32_weights(v1) -> None:
    report, params, _ = v1
    need = run_memory(report, batch=8)
    assert need.weight_bytes == 4 * params == 4 * 48_330
    # the largest call's input and output for 8 samples: at least the 28x28x1 input batch
    assert need.activation_bytes >= 8 * 28 * 28 * 4


def test_training_adds_gradients_and_two_adam_slots(v1) -> None:
    report, params, trainable = v1
    need = run_memory(report, batch=1, training=True)
    assert need.weight_bytes == 4 * (params + trainable + 2 * trainable)


def test_a_run_that_does_not_fit_is_refused_in_one_line(v1) -> None:
    report, _, _ = v1
    with pytest.raises(ConvcostError, match=r"^profile would need at least [\d.]+ KB of memory "
                                            r"\(weights 193.3 KB, activations [\d.]+ KB at "
                                            r"batch 1\) and this machine has 500 bytes available"
                                            r".*Received: 'v1' with input 28x28x1\.$"):
        check_fits(report, purpose="profile", available=500)


def test_a_run_that_fits_passes_and_unknown_memory_refuses_nothing(v1) -> None:
    report, _, _ = v1
    check_fits(report, purpose="verify", available=10**9)


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="Linux only")
def test_available_memory_is_positive_and_below_the_physical_memory() -> None:
    free = available_memory()
    assert free is not None
    assert 0 < free <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
