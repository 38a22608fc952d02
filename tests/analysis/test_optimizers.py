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


@pytest.mark.parametrize(("optimizer", "per_weight"), [
    ("adam", 2),                                    # m and v (Kingma & Ba)
    (keras.optimizers.SGD(momentum=0.9), 1),       # the momentum buffer
    ("rmsprop", 1),                                 # the running mean of squares
])
def test_a_huge_variable_is_never_built(optimizer, per_weight: int, monkeypatch) -> None:
    from convcost.analysis import optimizers
    from convcost.count.shapes import elements

    built: list[tuple[int, ...] | None] = []
    real = optimizers._build_once

    def spy(optimizer, shape):
        built.append(shape)
        return real(optimizer, shape)

    monkeypatch.setattr(optimizers, "_build_once", spy)
    shape = (64_000_000, 64_000_000)  # v1 at --alpha 1e6: 16 PB in float32
    slots = optimizer_slots(optimizer, [shape])
    assert slots.slot_elements == per_weight * 64_000_000**2
    assert max(elements(s) for s in built if s) <= optimizers.BUILD_ELEMENTS


def test_factored_slots_are_built_at_the_real_shape(monkeypatch) -> None:
    """Adafactor's slots are not whole copies of the variable (keras' adafactor.py: a row
    factor of shape[:-1], a column factor of shape[:-2] + shape[-1:], and a velocity of the
    variable's shape): the small builds disagree, so it is built at its own shape (32 MB)."""
    from convcost.analysis import optimizers

    monkeypatch.setattr(optimizers, "BUILD_ELEMENTS", 2**20)
    rows, cols = 4096, 2048
    assert optimizer_slots("adafactor", [(rows, cols)]).slot_elements == \
        rows + cols + rows * cols
