"""The training-memory estimate: the activations kept for backward, listed by hand for v1,
and the bytes of each part; frozen layers keep nothing."""

from __future__ import annotations

import pytest

import convcost
from convcost.analysis.optimizers import model_slots
from convcost.analysis.training import training_cost
from convcost.analysis.training_memory import kept_activations, training_memory
from convcost.errors import ConvcostError
from convcost.models import zoo

# v1's kept tensors, elements per sample: the outputs of its seven ReLU convs (conv_1, dw_2
# 14x14x32; pw_2, dw_3 14x14x64; pw_3 14x14x128; dw_4, pw_4 7x7x128), bn_1's input (the
# pooled 128), fc1's input and ReLU output, the output layer's input and its softmax.
V1_KEPT = 2 * 6_272 + 2 * 12_544 + 25_088 + 2 * 6_272 + 4 * 128 + 10


def _cost(model):
    return training_cost(convcost.analyze(model))


def test_v1_kept_activations(zoo_model) -> None:
    kept = kept_activations(_cost(zoo_model("v1")).rows)
    assert len(kept) == 12 and sum(k.elements for k in kept) == V1_KEPT == 75_786


def test_v1_bytes_at_batch_128(zoo_model) -> None:
    model = zoo_model("v1")
    m = training_memory(_cost(model), model_slots("adam", model), batch=128)
    assert m.weight_bytes == 48_330 * 4 and m.gradient_bytes == 47_818 * 4
    assert m.slot_bytes == 2 * 47_818 * 4
    assert m.input_bytes == 128 * 28 * 28 * 4
    assert m.kept_bytes == 128 * V1_KEPT * 4
    assert m.in_flight_bytes == 3 * 128 * 14 * 14 * 128 * 4  # pw_3's output is the largest
    assert m.step_bytes == m.gradient_bytes + m.kept_bytes + m.in_flight_bytes
    assert m.peak_bytes == m.step_bytes + m.weight_bytes + m.slot_bytes + m.input_bytes


def test_frozen_prefix_keeps_nothing_below_the_first_trainable_layer() -> None:
    model = zoo.build("v1")
    for name in ("conv_1", "dw_2", "pw_2"):
        model.get_layer(name).trainable = False
    kept = kept_activations(_cost(model).rows)
    # conv_1's and dw_2's outputs are not read any more; pw_2's is: dw_3's dW reads it
    assert sum(k.elements for k in kept) == V1_KEPT - 2 * 6_272


def test_sgd_has_no_slots_and_bad_dtype(zoo_model) -> None:
    model = zoo_model("v1")
    m = training_memory(_cost(model), model_slots("sgd", model), batch=2, dtype="float16")
    assert m.slot_bytes == 0 and m.gradient_bytes == 47_818 * 2
    with pytest.raises(ConvcostError, match=r"Unknown dtype.*Received: 'int8'"):
        training_memory(_cost(model), model_slots("sgd", model), dtype="int8")
