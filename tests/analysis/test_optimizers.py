"""Optimizer slots are read from Keras' optimizers, compared with the trainable weights'
count (``count_params`` of the trainable weights) times the slots each optimizer keeps."""

from __future__ import annotations

import keras
import pytest

from convcost.analysis.optimizers import make_optimizer, model_slots, optimizer_slots
from convcost.errors import ConvcostError

OPT = keras.optimizers


@pytest.mark.parametrize(("optimizer", "per_weight"), [
    (OPT.SGD(), 0), (OPT.SGD(momentum=0.9), 1), (OPT.RMSprop(), 1), (OPT.Adagrad(), 1),
    (OPT.Lion(), 1), (OPT.Adam(), 2), (OPT.AdamW(), 2), (OPT.Nadam(), 2), ("adam", 2),
    (OPT.Adam(amsgrad=True), 3), (OPT.RMSprop(momentum=0.9, centered=True), 3),
])
def test_slots_per_trainable_weight(zoo_model, optimizer, per_weight: int) -> None:
    model = zoo_model("v1")
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == 47_818
    slots = model_slots(optimizer, model)
    assert (slots.trainable_elements, slots.slot_elements) == (trainable, per_weight * trainable)
    assert slots.per_weight == per_weight


def test_users_optimizer_is_not_built() -> None:
    adam = OPT.Adam()
    optimizer_slots(adam, [(3, 4), (4,)])
    assert not adam.built
    assert make_optimizer(adam) is not adam


def test_shapes_counted_once_per_shape() -> None:
    slots = optimizer_slots("adam", [(3, 4), (3, 4), (5,)])
    assert (slots.trainable_elements, slots.slot_elements) == (29, 58)


def test_unknown_optimizer() -> None:
    with pytest.raises(ConvcostError, match=r"Unknown optimizer.*Received: 'adamm'"):
        make_optimizer("adamm")
