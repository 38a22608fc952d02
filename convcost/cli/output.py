"""Where a command's output goes: stdout, or a file written atomically; and how wide it is."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from convcost import checks
from convcost.errors import ConvcostError
from convcost.files import write_text

MIN_WIDTH = 20


def check_output_dir(output: Path | None) -> None:
    """Fail early (before the slow part) when ``output`` cannot be written."""
    if output is None:
        return
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise ConvcostError(f"--output is a directory, not a file. Received: {str(output)!r}.")
    if not parent.is_dir():
        raise ConvcostError(f"--output's directory does not exist. Received: {str(output)!r}.")
    if not os.access(parent, os.W_OK):
        raise ConvcostError(f"--output's directory is not writable. Received: {str(output)!r}.")


def emit(text: str, output: Path | None, *, make_parents: bool = False) -> None:
    """Write the rendered text to ``output`` (atomically) or to stdout."""
    if output is not None:
        write_text(output, text, make_parents=make_parents, what="output file")
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def console_width(output: Path | None = None, forced: int | None = None) -> int | None:
    """How wide a table may be: ``--width``, else $COLUMNS, else the terminal's width; None
    (the table's natural width, nothing wrapped or cut) for a file or a pipe.

    $COLUMNS counts as the terminal's width when set (shells set it without exporting it,
    so ``convcost ... > file`` still gets the natural width).
    """
    if forced is not None:
        checks.count("--width", forced, minimum=MIN_WIDTH, shown=f"--width {forced}")
        return forced
    if output is not None:
        return None
    columns = os.environ.get("COLUMNS", "")
    if checks.digits(columns) and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def use_color(output: Path | None = None) -> bool:
    """Colors only on a terminal, and never with $NO_COLOR set."""
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
