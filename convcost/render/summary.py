"""``convcost.summary(model)``: Keras' ``model.summary()`` table with MACs and FLOPs columns.

Keras' columns keep Keras' widths to the character (``line_length`` and ``positions`` mean what
they mean in ``model.summary()``), so every line reads as Keras' own apart from the two added
columns, placed after "Param #"; its totals block follows unchanged, then the MACs, FLOPs and
the params check. Formats: ``table`` (plain text, what ``print_fn`` receives) and ``ansi``
(Keras' colours, for a terminal).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import rich.markup
from rich.console import Console
from rich.table import Column, Table

from convcost.errors import ConvcostError
from convcost.render.tables import check_choice
from convcost.render.units import human

if TYPE_CHECKING:  # analysis.summary reads Keras; rendering needs only its data types
    from convcost.analysis.summary import SummaryData, SummaryRow, WeightTotal

FORMATS = ("table", "ansi")
ADDED = ("MACs", "FLOPs")
PARTIAL = "≥ "  # before a count with a call not fully counted


@dataclass(frozen=True)
class SummaryOptions:
    """Keras' layout arguments, and the terminal width Keras would read (``COLUMNS``)."""

    line_length: int | None = None
    positions: tuple[float, ...] | None = None
    terminal_columns: int = 80


def render(data: SummaryData, fmt: str, opts: SummaryOptions | None = None) -> str:
    """The summary as text: ``table`` (no colour, as Keras gives ``print_fn``) or ``ansi``."""
    check_choice("format", fmt, FORMATS)
    opts = opts or SummaryOptions()
    headers, justify, widths = keras_columns(data, opts)
    table = _table(data, headers, justify, _rendered_widths(headers, justify, widths))
    width = max(opts.terminal_columns, _width_of(table))
    console = Console(file=io.StringIO(), highlight=False, width=width,
                      force_terminal=fmt == "ansi", color_system="standard" if fmt == "ansi"
                      else None)
    console.begin_capture()
    console.print(_bold(f'Model: "{rich.markup.escape(data.model)}"'))
    console.print(table)
    for line in totals_lines(data):
        console.print(line)
    return console.end_capture()


def keras_columns(data: SummaryData, opts: SummaryOptions) -> tuple[list[str], list[str],
                                                                     list[int]]:
    """Keras' headers, alignments and column widths (``print_summary``'s arithmetic)."""
    if data.sequential_like:
        length, positions = 88, list(opts.positions or [0.45, 0.80, 1.0])
        headers, justify = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        length, positions = 108, list(opts.positions or [0.3, 0.56, 0.74, 1.0])
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    if data.show_trainable:
        length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        headers, justify = [*headers, "Trainable"], [*justify, "center"]
    line_length = opts.line_length or min(length, opts.terminal_columns - 4)
    widths, current = [], 0
    for position in positions:
        widths.append(int(position * line_length) - current)
        current += widths[-1]
        if widths[-1] < 4:
            raise ConvcostError("Insufficient console width to print summary. Received: "
                                f"line_length={line_length}, positions={positions}.")
    return headers, justify, widths


def _rendered_widths(headers: list[str], justify: list[str], widths: list[int]) -> list[int]:
    """The content widths rich gives Keras' columns in Keras' table (it shrinks them, with
    their padding and borders, into ``line_length``): read off the top border of an empty
    copy. (Keras' console then crops lines wider than the terminal; convcost's does not.)"""
    line_length = sum(widths)
    columns = [Column(h, justify=j, width=w)  # type: ignore[arg-type]
               for h, j, w in zip(headers, justify, widths)]
    console = Console(file=io.StringIO(), highlight=False, force_terminal=False,
                      color_system=None, width=line_length + 8)
    console.begin_capture()
    console.print(Table(*columns, width=line_length, show_lines=True))
    border = console.end_capture().splitlines()[0]
    return [len(cell) - 2 for cell in border[1:-1].split("┳")]


def _table(data: SummaryData, headers: list[str], justify: list[str],
           widths: list[int]) -> Table:
    """Keras' columns at their rendered widths, the added ones after "Param #"."""
    cells = [[_cost(row.macs, row), _cost(row.flops, row)] for row in data.rows]
    added = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(ADDED)]
    columns = [Column(h, justify=j, width=w)  # type: ignore[arg-type]
               for h, j, w in zip(headers, justify, widths)]
    columns[3:3] = [Column(h, justify="right", width=w) for h, w in zip(ADDED, added)]
    table = Table(*columns, show_lines=True)
    for row, costs in zip(data.rows, cells):
        fields = [row.name, row.shape, row.params, *map(_number, costs)]
        fields += [row.connections] if not data.sequential_like else []
        fields += [row.trainable] if data.show_trainable else []
        table.add_row(*fields)
    return table


def _cost(value: int | None, row: SummaryRow) -> str:
    if value is None:
        return "-"
    return f"{'' if row.complete else PARTIAL}{value:,}"


def _width_of(table: Table) -> int:
    return sum(c.width or 0 for c in table.columns) + 3 * len(table.columns) + 1


def totals_lines(data: SummaryData) -> list[str]:
    """Keras' totals block (params and their size), then the MACs, FLOPs and params check."""
    from convcost.analysis.summary import WeightTotal  # Keras is loaded once there is data

    total = WeightTotal(
        data.trainable.count + data.non_trainable.count
        + (data.optimizer.count if data.optimizer else 0),
        data.trainable.size + data.non_trainable.size
        + (data.optimizer.size if data.optimizer else 0))
    lines = [_weights(" Total params: ", total), _weights(" Trainable params: ", data.trainable),
             _weights(" Non-trainable params: ", data.non_trainable)]
    if data.optimizer is not None:
        lines.append(_weights(" Optimizer params: ", data.optimizer))
    partial = "" if data.complete else PARTIAL
    lines.append(_bold(" Total MACs: ") + _number(f"{partial}{data.macs:,}")
                 + f" ({human(data.macs)} per sample)")
    lines.append(_bold(" Total FLOPs: ") + _number(f"{partial}{data.flops:,}")
                 + f" ({human(data.flops)}, 2·MACs + other FLOPs)")
    if data.outside != (0, 0):
        lines.append(_bold(" Outside the listed layers: ") + f"{data.outside[0]:,} MACs, "
                     f"{data.outside[1]:,} FLOPs (the model's own call)")
    lines.append(_params_check(data))
    return lines


def _params_check(data: SummaryData) -> str:
    if data.params == data.keras_params:
        return (_bold(" Params check: ") + f"{data.params:,} counted = count_params() "
                + _bold("✓", color=34))
    return (_bold(" Params check: ") + f"{data.params:,} counted ≠ {data.keras_params:,} "
            + "count_params() " + _bold("✗", color=9))


def _weights(label: str, total: WeightTotal) -> str:
    return _bold(label) + _number(f"{total.count:,}") + f" ({readable_size(total.size)})"


def readable_size(size: float) -> str:
    """Bytes as Keras' summary writes them: ``188.79 KB`` (powers of 1024, two decimals)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _bold(text: str, color: int | None = None) -> str:
    return f"[bold][color({color})]{text}[/][/]" if color else f"[bold]{text}[/]"


def _number(text: str) -> str:
    return f"[color(34)]{text}[/]"
