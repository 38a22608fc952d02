"""Fitting tables to a width: never a cut cell; bars, then columns, then wrapped names."""

from __future__ import annotations

import re

import pytest

from convcost.render.tables import Grid, fitted_table, print_to_string

# Column widths by hand: name 24, type 18, number 13 ("3,857,973,248").
GRID = Grid(["name", "type", "MACs"], [False, False, True],
            [["conv2_block1_preact_conv", "BatchNormalization", "3,857,973,248"],
             ["fc", "Dense", "2,048,000"]],
            ["total", "", "3,860,021,248"], wrap=(1, 0))
NUMBERS = ["3,857,973,248", "2,048,000", "3,860,021,248"]


def text(variants, width):
    return print_to_string(fitted_table(variants, width), width=width)


def widest(out: str) -> int:
    return max(len(line) for line in out.splitlines())


def test_natural_width_when_no_width_is_given() -> None:
    out = text([GRID], None)
    # 24 + 18 + 13 characters and two gaps of 3 (padding, rule column, padding)
    assert widest(out) == 24 + 18 + 13 + 2 * 3
    assert "conv2_block1_preact_conv   BatchNormalization   3,857,973,248" in out


@pytest.mark.parametrize("width", [80, 61, 50, 40, 30, 20])
def test_numbers_are_never_cut(width: int) -> None:
    out = text([GRID], width)
    assert all(number in out for number in NUMBERS), out
    assert "…" not in out


def test_type_wraps_before_the_name() -> None:
    out = text([GRID], 53)  # 8 too many: the type column gives them up (18 -> 10)
    assert "conv2_block1_preact_conv" in out
    assert "BatchNorma " in out and "lization" in out and "BatchNormalization" not in out
    assert widest(out) == 53
    out = text([GRID], 52)  # one more: the type column is at its 10, the name gives it
    assert "conv2_block1_preact_con " in out and widest(out) == 52


def test_a_narrower_variant_is_taken_before_wrapping() -> None:
    lean = GRID.without("type")
    out = text([GRID, lean], 50)  # the lean grid's natural width: 24 + 13 + 3 = 40
    assert "type" not in out and "conv2_block1_preact_conv" in out
    assert widest(out) == 40


def test_too_narrow_makes_the_table_wider_than_asked_not_cut() -> None:
    out = text([GRID], 20)
    lines = out.splitlines()
    # wrapped columns stop at 10 characters: 10 + 10 + 13 + 6 = 39 > 20
    assert widest(out) == 39
    joined = "".join(line[:10].strip() for line in lines[2:4])
    assert joined == "conv2_block1_preact_conv"[:20]
    assert all(number in out for number in NUMBERS)


def test_without_keeps_wrap_indices_on_the_same_columns() -> None:
    lean = GRID.without("type")
    assert lean.headers == ["name", "MACs"] and lean.wrap == (0,)
    assert lean.body[0] == ["conv2_block1_preact_conv", "3,857,973,248"]


def test_cells_are_text_not_markup() -> None:
    grid = Grid(["name", "n"], [False, True], [["[bold]x[/bold]", "1"]], [])
    assert "[bold]x[/bold]" in text([grid], None)


def test_prose_wraps_at_words_and_tables_widen_the_page() -> None:
    from rich.text import Text

    words = " ".join(f"word{i}" for i in range(40))
    out = print_to_string(Text(words), width=None)
    assert widest(out) <= 100 and re.sub(r"\s+", " ", out).strip() == words
