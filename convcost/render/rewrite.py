"""Render what ``separate``/``merge`` did: the rewrite log and the cost before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from convcost.render.options import RenderOptions
from convcost.render.tables import Cell, Grid, check_choice, fitted_table, print_to_string

if TYPE_CHECKING:
    from convcost.analysis.rewrite import RewriteLog
    from convcost.count.report import Report

FORMATS = ("table",)


@dataclass(frozen=True)
class Rewritten:
    """A rewrite: its log, the model's report before and after, and where it was saved."""

    log: RewriteLog
    before: Report
    after: Report
    saved: str


def render(data: Rewritten, fmt: str = "table", opts: RenderOptions | None = None) -> str:
    """The log, the before/after table and where the model was saved (``fmt``: table)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    first, *rest = log_lines(data.log)
    return print_to_string(Text(first, style="bold"), *(Text(line) for line in rest),
                           comparison_table(data.before, data.after, options.width),
                           Text(f"saved: {data.saved}"), width=options.width,
                           color=options.color)


def log_lines(log: RewriteLog) -> list[str]:
    """What was replaced, what was skipped (grouped by reason), and the notes."""
    lines = [f"{log.action} {log.model}: {len(log.replaced)} replaced"]
    lines += [f"  {' + '.join(item.removed)} -> {' + '.join(item.added)}"
              for item in log.replaced]
    lines += [f"  skipped {len(paths)} ({reason}): {', '.join(paths)}"
              for reason, paths in log.skipped_by_reason().items()]
    lines += [f"  note: {note}" for note in log.notes]
    return lines


def comparison_table(before: Report, after: Report, width: int | None = None) -> Table:
    """Params and MACs in total and per kind (kinds that are zero on both sides left out),
    before and after, with the ratio after/before."""
    after_groups = {group.key: group for group in after.groups("kind")}
    body: list[list[Cell]] = []
    for measure in ("params", "macs"):
        label = measure.replace("macs", "MACs")
        body.append([Text(c, style="bold") for c in _row(label, getattr(before, measure),
                                                         getattr(after, measure))])
        for group in before.groups("kind"):
            old, new = getattr(group, measure), getattr(after_groups[group.key], measure)
            if old or new:
                body.append(list(_row(f"  {group.key}", old, new)))
    grid = Grid(["", "before", "after", "after/before"], [False, True, True, True], body, [],
                wrap=(0,))
    return fitted_table([grid], width, title="cost per sample", title_justify="left")


def _row(label: str, before: int, after: int) -> tuple[str, str, str, str]:
    ratio = f"{after / before:.3f}" if before else "-"
    return label, f"{before:,}", f"{after:,}", ratio
