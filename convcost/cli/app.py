"""The typer app, the error edge (ConvcostError -> one line on stderr, exit code), and main()."""

from __future__ import annotations

import functools
import os
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
