"""fold: per-layer-call items grouped like the shown rows (a folded row takes n calls)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from convcost.analysis.folding import fold


def _rows(*folded: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(folded=n) for n in folded]


def test_a_folded_row_takes_its_calls_and_any_other_row_one():
    assert fold(list("abcdef"), _rows(0, 3, 0, 1)) == [["a"], ["b", "c", "d"], ["e"], ["f"]]


def test_rows_without_a_folded_attribute_take_one_call_each():
    assert fold([10, 20], [object(), object()]) == [[10], [20]]


def test_rows_that_need_more_calls_than_given_are_an_error():
    with pytest.raises(ValueError, match="more layer calls than the 2 given"):
        fold([1, 2], _rows(3))
