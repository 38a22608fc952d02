"""Input checks shared by every entry point, with one wording for counts and for rates.

A count (batch size, repeats, epochs, classes, ...) is an ``int`` (not a ``bool``) of at least
a minimum; a rate or multiplier (alpha, learning rate, GFLOP/s, ...) is a finite number above
zero. Both raise a one-line :class:`~convcost.errors.ConvcostError` that names the option and
what was received.
"""

from __future__ import annotations

import math
from typing import Any

from convcost.errors import ConvcostError

_WORDS = {1: "a positive integer", 0: "a non-negative integer"}

MAX_DIMENSION = 2**31 - 1
"""The largest size of one tensor dimension the backends take (int32 shape entries)."""


def count(label: str, value: Any, *, minimum: int = 1, shown: str | None = None) -> int:
    """``value`` if it is an integer of at least ``minimum``, else a one-line error.

    Args:
        label: how the error names the value (``"--batch-size"``, ``"repeats"``).
        value: the value to check.
        minimum: the smallest value allowed.
        shown: how the error shows what was received (default: ``repr(value)``).
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        words = _WORDS.get(minimum, f"an integer >= {minimum}")
        raise ConvcostError(f"{label} must be {words}. Received: "
                            f"{repr(value) if shown is None else shown}.")
    return value


def dimension(label: str, value: Any, *, shown: str | None = None) -> int:
    """A positive integer that can be a tensor dimension (at most :data:`MAX_DIMENSION`)."""
    count(label, value, shown=shown)
    if value > MAX_DIMENSION:
        raise ConvcostError(f"{label} must be at most {MAX_DIMENSION:,} (a tensor dimension). "
                            f"Received: {repr(value) if shown is None else shown}.")
    return int(value)


def digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits only: ``str.isdigit`` also takes '²' and '①', which
    ``int()`` then refuses."""
    return text.isascii() and text.isdigit()


def at_most(label: str, value: int, maximum: int, why: str, *, shown: str | None = None) -> int:
    """``value`` if it is at most ``maximum``, else a one-line error saying ``why`` that bound."""
    if value > maximum:
        raise ConvcostError(f"{label} must be at most {maximum:,} ({why}). Received: "
                            f"{repr(value) if shown is None else shown}.")
    return value


def positive(label: str, value: Any, *, shown: str | None = None) -> float:
    """``value`` as a float if it is a finite number above zero, else a one-line error.

    Args:
        label: how the error names the value (``"alpha"``, ``"--peak-gflops"``).
        value: the value to check (NaN, infinities and booleans are refused).
        shown: how the error shows what was received (default: ``repr(value)``).
    """
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value <= 0):
        raise ConvcostError(f"{label} must be a positive number. Received: "
                            f"{repr(value) if shown is None else shown}.")
    return float(value)
