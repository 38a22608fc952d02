"""Per-layer-call fields grouped like the rows a report shows.

A report shown to a depth folds the calls below it into one row: render's rows carry
``folded = n`` (the row stands for the next n layer calls; 0 for a row of one call). The fields
``analyze`` adds per layer call (memory and roofline, training) are summed per shown row;
:func:`fold` is the one place that groups them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def fold(items: Sequence[T], rows: Sequence[Any]) -> list[list[T]]:
    """``items`` (one per layer call, in report order) cut into one chunk per row of ``rows``:
    a row with ``folded = n > 0`` takes the next n items, any other row the next one.

    Args:
        items: per-layer-call values.
        rows: the shown rows; only their ``folded`` attribute is read (absent: 0).
    """
    chunks, start = [], 0
    for row in rows:
        size = max(1, getattr(row, "folded", 0))
        if start + size > len(items):
            raise ValueError(f"the rows hold more layer calls than the {len(items)} given")
        chunks.append(list(items[start:start + size]))
        start += size
    return chunks
