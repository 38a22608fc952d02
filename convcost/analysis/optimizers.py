"""Optimizer state: how many values an optimizer keeps per trainable weight, read from Keras.

Slots are never taken from a table: a fresh copy of the optimizer (``from_config``, so the
user's optimizer is not touched) is built on zero variables of the model's trainable shapes and
its ``variables`` are counted, minus its scalar bookkeeping (iteration count, learning rate).
Measured on Keras 3.15: SGD 0 per weight, SGD with momentum, RMSprop, Adagrad and Lion 1,
Adam, AdamW and Nadam 2, Adam with ``amsgrad`` 3; Adafactor and Muon depend on the shapes.

The optimizer is built once per distinct shape, on one variable of that shape (so at most the
largest variable and its slots are allocated at a time), and the count is multiplied by the
number of variables of that shape. Variable names are not reproduced, so an optimizer that
treats variables differently by name (Muon's ``exclude_layers``, weight-decay exclusions, which
keep no state) is counted as if no name matched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost.count.shapes import elements
from convcost.errors import ConvcostError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Slots:
    """An optimizer's state for a set of trainable variables.

    Attributes:
        optimizer: the optimizer's class name.
        slot_elements: values kept besides the weights (moments, velocities, ...).
        scalar_variables: its scalar bookkeeping variables (iterations, learning rate).
        trainable_elements: the trainable weights it was built for.
    """

    optimizer: str
    slot_elements: int
    scalar_variables: int
    trainable_elements: int

    @property
    def per_weight(self) -> float:
        """Slot values per trainable weight (SGD 0, momentum 1, Adam 2, ...)."""
        return self.slot_elements / self.trainable_elements if self.trainable_elements else 0.0


def make_optimizer(optimizer: Any) -> Any:
    """A fresh Keras optimizer from a name (``"adam"``) or a copy of an optimizer instance."""
    import keras

    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config(optimizer.get_config())
    try:
        made = keras.optimizers.get(optimizer)
    except (ValueError, TypeError):
        raise ConvcostError(f"Unknown optimizer; use a Keras optimizer name such as adam, sgd, "
                            f"rmsprop, adagrad, adamw, nadam, lion. Received: {optimizer!r}."
                            ) from None
    return type(made).from_config(made.get_config())


def optimizer_slots(optimizer: Any, shapes: Sequence[Sequence[int]]) -> Slots:
    """The state ``optimizer`` keeps for trainable variables of ``shapes``.

    Args:
        optimizer: a Keras optimizer instance (copied, never built itself) or a name.
        shapes: the shapes of the trainable variables (``[v.shape for v in
            model.trainable_variables]``).
    """
    counts = Counter(tuple(int(d) for d in shape) for shape in shapes)
    slots = sum(_slot_elements(optimizer, shape) * times for shape, times in counts.items())
    scalars = _build_once(optimizer, None)[1]
    trainable = sum(elements(shape) * times for shape, times in counts.items())
    name = type(make_optimizer(optimizer)).__name__
    return Slots(name, slots, scalars, trainable)


def model_slots(optimizer: Any, model: Any) -> Slots:
    """:func:`optimizer_slots` for ``model.trainable_variables``."""
    return optimizer_slots(optimizer, [tuple(v.shape) for v in model.trainable_variables])


BUILD_ELEMENTS = 2**22
"""The largest variable built for real to read its slots (16 MB in float32)."""


def _slot_elements(optimizer: Any, shape: Shape) -> int:
    """Slot elements for one variable of ``shape``. A big variable is not allocated: the
    optimizer is built on two smaller shapes instead, and where its slots are the same whole
    number of copies of the variable on both (Adam: 2, SGD with momentum: 1), that holds for
    ``shape`` too. Otherwise (factored slots, as Adafactor's) it is built at ``shape``."""
    size = elements(shape)
    if size <= BUILD_ELEMENTS:
        return _build_once(optimizer, shape)[0]
    copies = set()
    for limit in (BUILD_ELEMENTS, BUILD_ELEMENTS // 8):
        small = _reduced(shape, limit)
        slots, held = _build_once(optimizer, small)[0], elements(small)
        copies.add(slots // held if slots % held == 0 else -1)
    if len(copies) == 1 and -1 not in copies:
        return copies.pop() * size
    return _build_once(optimizer, shape)[0]


def _reduced(shape: Shape, limit: int) -> tuple[int, ...]:
    """``shape`` with its largest sizes halved until it holds at most ``limit`` elements."""
    dims = [int(d) for d in shape]
    while elements(tuple(dims)) > limit:
        largest = dims.index(max(dims))
        dims[largest] = (dims[largest] + 1) // 2
    return tuple(dims)


def _build_once(optimizer: Any, shape: Shape | None) -> tuple[int, int]:
    """(slot elements for one variable of ``shape``, scalar variables) of a fresh copy;
    scalars (bookkeeping, or a per-variable scalar) are not slot elements."""
    import keras

    fresh = make_optimizer(optimizer)
    variables = ([] if shape is None else
                 [keras.Variable(initializer="zeros", shape=shape, dtype="float32")])
    fresh.build(variables)
    sizes = [elements(tuple(v.shape)) for v in fresh.variables]
    scalars = sum(1 for v in fresh.variables if len(v.shape) == 0)
    return sum(sizes) - scalars, scalars

