"""The typer app, the error edge (ConvcostError -> one line on stderr, exit code), and main()."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from convcost.errors import ConvcostError

app = typer.Typer(
    name="convcost",
    help="What does this network cost, and why is it (not) fast?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


def domain_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: a ConvcostError becomes one stderr line and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConvcostError as error:
            raise fail(str(error), error.exit_code) from None

    return wrapper


def load_keras() -> None:
    """Import Keras (and TensorFlow) once, with TensorFlow's C++ start-up lines silenced.

    On TF 2.21 those lines ignore TF_CPP_MIN_LOG_LEVEL, so while the import runs, file
    descriptor 2 goes to /dev/null, when TensorFlow was asked to be quiet (``main()`` sets the
    variable; set TF_CPP_MIN_LOG_LEVEL=0 to see them). Later errors still reach stderr.
    """
    if "keras" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        import keras
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up chatter before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    """Entry point of the ``convcost`` script."""
    quiet_tensorflow()
    app(prog_name="convcost")


@app.callback()
def root() -> None:
    """convcost: params, mult-adds and speed of Keras models, with the theory behind them."""
