"""The grid behind every table: a rich table for terminals, a pipe table for Markdown.

Tables never lose a character. :func:`fitted_table` lays a grid out for a width: at its
natural width when that fits (or when no width is given: a file or a pipe), else the first
narrower *variant* the renderer offers that fits (``analyze`` drops its bar column first),
else with the text columns it marks as wrappable folded onto more lines. Numbers never wrap
and are never cut: when even that is too wide, the table is wider than asked.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcost.errors import ConvcostError

Cell = str | Text
MIN_WRAP = 10  # a wrapped text column keeps at least this many characters per line
TEXT_WIDTH = 100  # prose beside tables wraps here when no width is given


@dataclass(frozen=True)
class Grid:
    """Header, body and total row; ``numeric`` marks right-aligned columns.

    ``wrap`` holds the indices of text columns that may fold onto more lines when the table
    is too wide (names, types); every other column keeps its natural width.
    """

    headers: list[str]
    numeric: list[bool]
    body: Sequence[Sequence[Cell]]
    total: Sequence[Cell]
    wrap: tuple[int, ...] = ()

    def without(self, *headers: str) -> Grid:
        """The grid without the named columns (a narrower variant for :func:`fitted_table`)."""
        keep = [i for i, h in enumerate(self.headers) if h not in headers]
        wrap = tuple(keep.index(i) for i in self.wrap if i in keep)
        return dataclasses.replace(
            self, headers=[self.headers[i] for i in keep], numeric=[self.numeric[i] for i in keep],
            body=[[line[i] for i in keep] for line in self.body],
            total=[self.total[i] for i in keep] if self.total else [], wrap=wrap)


def markdown_table(grid: Grid) -> list[str]:
    """Pipe-table lines of a grid; the total row in bold."""
    total = [f"**{c}**" if str(c) else "" for c in grid.total]
    return pipe_table(grid.headers, [*[[str(c) for c in line] for line in grid.body], total],
                      grid.numeric)


def pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool] | None = None) -> list[str]:
    """Markdown pipe-table lines; ``numeric`` columns are right-aligned, ``|`` is escaped."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    flags = numeric if numeric is not None else [False] * len(headers)
    rule = "| " + " | ".join("---:" if n else "---" for n in flags) + " |"
    return [line(headers), rule, *[line(r) for r in rows]]


def compact_style() -> dict[str, Any]:
    """The look of convcost's own tables: a rule under the header, no outer border."""
    return {"box": box.SIMPLE_HEAD, "pad_edge": False, "show_edge": False}


def narrow_style() -> dict[str, Any]:
    """The look of the measurement tables (bench, train): one space between columns."""
    return {"box": box.SIMPLE_HEAD, "padding": (0, 0, 0, 1), "pad_edge": False}


def narrow_table(grid: Grid, width: int | None, title: str) -> Table:
    """:func:`fitted_table` of one grid in :func:`narrow_style`, titled on the left."""
    return fitted_table([grid], width, title=title, title_justify="left", **narrow_style())


def fitted_table(variants: Sequence[Grid], width: int | None, **style: Any) -> Table:
    """The first of ``variants`` (richest first) that fits ``width``, as a rich Table.

    If none fits at its natural width, the last (leanest) one is narrowed: its wrappable
    columns fold, in the order its ``wrap`` lists them, down to :data:`MIN_WRAP` characters.
    If even that is too wide the table is wider than ``width``: a cell is never cut.
    ``style`` goes to :class:`rich.table.Table` (default: :func:`compact_style`).
    """
    style = style or compact_style()
    return _build(*_layout(variants, width, style), style)


def _layout(variants: Sequence[Grid], width: int | None,
            style: dict[str, Any]) -> tuple[Grid, list[int]]:
    if width is None:
        return variants[0], _natural(variants[0])
    for grid in variants:
        if sum(_natural(grid)) + _overhead(len(grid.headers), style) <= width:
            return grid, _natural(grid)
    last = variants[-1]
    return last, _narrowed(last, width - _overhead(len(last.headers), style))


def _natural(grid: Grid) -> list[int]:
    widths = [cell_len(h) for h in grid.headers]
    for line in (*grid.body, grid.total):
        for i, cell in enumerate(line):
            widths[i] = max(widths[i], _cell_width(cell))
    return widths


def _cell_width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _narrowed(grid: Grid, budget: int) -> list[int]:
    """Natural widths, with the wrappable columns narrowed in order until ``budget`` is met."""
    widths = _natural(grid)
    for i in grid.wrap:
        floor = min(widths[i], max(MIN_WRAP, cell_len(grid.headers[i])))
        widths[i] -= max(0, min(sum(widths) - budget, widths[i] - floor))
    return widths


def _overhead(columns: int, style: dict[str, Any]) -> int:
    """Characters a table of ``columns`` one-character columns adds around them."""
    probe = Table(**style)
    for _ in range(columns):
        probe.add_column(width=1)
    console = Console(file=io.StringIO(), width=10_000)
    return console.measure(probe).maximum - columns


def _build(grid: Grid, widths: list[int], style: dict[str, Any]) -> Table:
    table = Table(**style)
    natural = _natural(grid)
    for i, (header, numeric) in enumerate(zip(grid.headers, grid.numeric)):
        folded = widths[i] < natural[i]
        table.add_column(Text(header), justify="right" if numeric else "left", width=widths[i],
                         min_width=widths[i], no_wrap=not folded,
                         overflow="fold")
    for line in grid.body:
        table.add_row(*map(_text, line))
    if grid.total:
        table.add_section()
        table.add_row(*map(_text, grid.total), style="bold")
    return table


def _text(cell: Cell) -> Text:
    """A cell as Text: a name such as ``[bold]`` is shown as written, never as markup."""
    return Text(cell) if isinstance(cell, str) else cell


def table_width(table: Table) -> int:
    """The width a table takes when nothing limits it."""
    console = Console(file=io.StringIO(), width=10_000)
    return console.measure(table).maximum


def print_to_string(*renderables: RenderableType, width: int | None, color: bool = False,
                    crop: bool = True) -> str:
    """Print with a fixed width, colors only when asked (so output is deterministic).

    ``width=None`` is the natural width: as wide as the widest table (prose wraps at
    :data:`TEXT_WIDTH` or the table's width, whichever is larger). A table wider than
    ``width`` widens the page rather than being cut. ``crop=False`` lets lines of
    ``no_wrap`` text run past the width (formulas).
    """
    tables = [table_width(t) for t in _flatten(renderables) if isinstance(t, Table)]
    page = max([TEXT_WIDTH if width is None else width, *tables])
    console = Console(file=io.StringIO(), width=page, force_terminal=color,
                      color_system="standard" if color else None,
                      no_color=not color, highlight=False, emoji=False,
                      legacy_windows=False, soft_wrap=False)
    for renderable in renderables:
        console.print(renderable, crop=crop)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _flatten(renderables: Sequence[RenderableType]) -> list[RenderableType]:
    found: list[RenderableType] = []
    for item in renderables:
        found += _flatten(item.renderables) if isinstance(item, Group) else [item]
    return found


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConvcostError(f"Unknown {what}; use one of {', '.join(choices)}. "
                            f"Received: {value!r}.")
