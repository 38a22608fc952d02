"""Shapes, without Keras: the number of elements of a shape (one helper, with an explicit
choice for unknown sizes), and the checked shapes a caller asks a walk for
(:func:`requested_shapes`, also what the loader checks before TensorFlow loads).

A shape here is a tuple of sizes (a batch dimension, if any, is the caller's business); a size
is ``None`` where it is unknown (a symbolic dimension). What an unknown size means depends on
the question, so the caller says which:

- ``"raise"`` (default): the count needs every size; a one-line
  :class:`~convcost.errors.ConvcostError` names the shape. Weights, traffic per layer, and the
  cost rules (the walker refuses unknown sizes with its own message before any rule runs).
- ``"zero"``: an unknown size holds no elements, so the shape holds none. The backward pass
  of a lookup whose output size is unknown adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from convcost.errors import ConvcostError

Unknown = Literal["raise", "zero"]


def elements(shape: Iterable[int | None], unknown: Unknown = "raise") -> int:
    """Product of the sizes of ``shape`` (1 for a scalar ``()``).

    Args:
        shape: sizes, ``None`` where unknown.
        unknown: what an unknown size means: ``"raise"`` a one-line ConvcostError, or make
            the count ``"zero"``.
    """
    sizes = tuple(shape)
    count = 1
    for size in sizes:
        if size is None:
            if unknown == "raise":
                raise ConvcostError(f"A shape has an unknown dimension. Received: {sizes}.")
            return 0
        count *= int(size)
    return count


#: What ``analyze(input_shape=...)`` takes once checked: one per-sample shape, or one per
#: input by name, or None (the model's own).
Request = tuple[int, ...] | dict[str, tuple[int, ...]] | None


def requested_shapes(input_shape: Any, seq_len: int | None = None) -> Request:
    """``input_shape`` checked: a tuple of positive sizes, a dict of them by input name, or
    None. Raises a one-line error for anything else."""
    if seq_len is not None and (isinstance(seq_len, bool) or not isinstance(seq_len, int)
                                or seq_len <= 0):
        raise ConvcostError(f"seq_len must be a positive whole number. Received: {seq_len!r}.")
    if input_shape is None:
        return None
    if isinstance(input_shape, Mapping):
        if not input_shape:
            raise ConvcostError("input_shape maps no input. Received: {}.")
        return {str(name): _sizes(shape, str(name)) for name, shape in input_shape.items()}
    return _sizes(input_shape, None)


def _sizes(value: Any, name: str | None) -> tuple[int, ...]:
    where = f" for input {name!r}" if name else ""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ConvcostError(f"input_shape{where} must be a sequence of sizes without the batch, "
                            f"e.g. (224, 224, 3), or a mapping {{input name: shape}}. "
                            f"Received: {value!r}.")
    if any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in value):
        raise ConvcostError(f"input_shape sizes{where} must be positive whole numbers. "
                            f"Received: {tuple(value)!r}.")
    return tuple(int(d) for d in value)
