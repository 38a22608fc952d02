"""The grid behind every table: a rich table for terminals, a pipe table for Markdown."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

from convcost.errors import ConvcostError


@dataclass(frozen=True)
class Grid:
    """Header, body and total row as strings; ``numeric`` marks right-aligned columns."""

    headers: list[str]
    numeric: list[bool]
    body: list[list[str]]
    total: list[str]


def markdown_table(grid: Grid) -> list[str]:
    """Pipe-table lines of a grid; the total row in bold."""
    total = [f"**{c}**" if c else "" for c in grid.total]
    return pipe_table(grid.headers, [*grid.body, total], grid.numeric)


def pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool] | None = None) -> list[str]:
    """Markdown pipe-table lines; ``numeric`` columns are right-aligned, ``|`` is escaped."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    flags = numeric if numeric is not None else [False] * len(headers)
    rule = "| " + " | ".join("---:" if n else "---" for n in flags) + " |"
    return [line(headers), rule, *[line(r) for r in rows]]


def rich_table(grid: Grid) -> Table:
    """A compact rich Table of a grid; one line per row (long names are cut with …)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, numeric in zip(grid.headers, grid.numeric):
        table.add_column(header, justify="right" if numeric else "left", no_wrap=True,
                         overflow="ellipsis")
    for line in grid.body:
        table.add_row(*line)
    table.add_section()
    table.add_row(*grid.total, style="bold")
    return table


def print_to_string(*renderables: RenderableType, width: int, color: bool = False,
                    crop: bool = True) -> str:
    """Print with a fixed width, colors only when asked (so output is deterministic).

    ``crop=False`` lets lines of ``no_wrap`` text run past the width (formulas).
    """
    console = Console(file=io.StringIO(), width=width, force_terminal=color,
                      color_system="standard" if color else None,
                      no_color=not color, highlight=False, emoji=False,
                      legacy_windows=False, soft_wrap=False)
    for renderable in renderables:
        console.print(renderable, crop=crop)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConvcostError(f"Unknown {what}; use one of {', '.join(choices)}. "
                            f"Received: {value!r}.")


