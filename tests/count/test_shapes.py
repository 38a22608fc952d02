"""The one element counter: products by hand, and each meaning of an unknown size."""

from __future__ import annotations

import pytest

from convcost.count.shapes import elements
from convcost.errors import ConvcostError


@pytest.mark.parametrize(("shape", "expected"), [
    ((2, 3, 4), 24), ((), 1), ((7,), 7), ((5, 0, 3), 0), ([1, 224, 224, 3], 150_528),
])
def test_elements_is_the_product_of_the_sizes(shape, expected):
    assert elements(shape) == expected
    assert elements(shape, unknown="zero") == expected


def test_an_unknown_size_raises_a_one_line_error_by_default():
    with pytest.raises(ConvcostError, match=r"^A shape has an unknown dimension\. "
                                            r"Received: \(None, 3\)\.$"):
        elements((None, 3))


def test_an_unknown_size_holds_no_elements_when_asked():
    assert elements((4, None, 3), unknown="zero") == 0
