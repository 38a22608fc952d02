"""The number of elements of a shape: one helper, with an explicit choice for unknown sizes.

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

from collections.abc import Iterable
from typing import Literal

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
