"""The typer app and its error edge: every failure is one line on stderr and an exit code.

Exit codes: 0 success; 1 bad input (a usage error such as an unknown option or a ``--format``
that is not a choice, or a :class:`~convcost.errors.ConvcostError`: unknown model, bad shape,
unreadable file, ...) and ``verify`` finding a disagreement; 2 ``--strict`` findings
(unsupported layers, failed params check); 3 an internal error (a bug in convcost: one line
says so; ``CONVCOST_DEBUG=1`` shows the traceback); 130 interrupted. No command prints a
traceback unless asked to.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from convcost import __version__, checks, quiet
from convcost.errors import ConvcostError, one_line

# typer prints an argument's Python type beside its name ("MODEL <str>"); the help text says
# what MODEL is, so arguments show their name alone (options already show only a metavar).
TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]

USAGE_ERROR = 1
INTERNAL_ERROR = 3



def _drop_bad_terminal_sizes() -> None:
    """Rich reads $COLUMNS/$LINES with ``isdigit()`` then ``int()``: '²' passes the first and
    breaks the second. A value that is not ASCII digits is dropped (the terminal's size wins)."""
    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not checks.digits(value):
            del os.environ[name]


_drop_bad_terminal_sizes()
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class _OneLineErrors(TyperGroup):
    """Click's usage errors (a bad option value, an unknown option) as one line, exit 1."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        _drop_bad_terminal_sizes()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as shown:
            typer.echo(shown.ctx.get_help() if shown.ctx else str(shown))
            return _leave(0, standalone_mode)
        except click_errors.UsageError as error:
            hint = f" (see '{error.ctx.command_path} -h')" if error.ctx else ""
            stderr.print(f"[bold red]error:[/] {escape(_sentence(error.format_message()))}"
                         f"{escape(hint)}", markup=True, highlight=False)
            return _leave(USAGE_ERROR, standalone_mode)
        except (typer.Abort, KeyboardInterrupt):
            stderr.print("[bold red]error:[/] Aborted. Received: an interrupt.", markup=True)
            return _leave(130, standalone_mode)
        return _leave(result if isinstance(result, int) else 0, standalone_mode)


def _leave(code: int, standalone_mode: bool) -> int:
    if standalone_mode:
        sys.exit(code)
    return code


def _sentence(text: str, limit: int | None = None) -> str:
    """``text`` as one line (:func:`convcost.errors.one_line`; whole unless ``limit``), without
    pydantic's "Value error, " prefix, ending with a full stop."""
    text = text.replace("Value error, ", "")
    line = one_line(text, limit or len(text))
    return line if line.endswith((".", "?", "!")) else line + "."


app = typer.Typer(
    name="convcost",
    cls=_OneLineErrors,
    help="What does this network cost, and why is it (not) fast?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    return typer.Exit(code)


def domain_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for commands: a ConvcostError becomes one stderr line and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConvcostError as error:
            raise fail(str(error), error.exit_code) from None
        except (typer.Exit, typer.Abort, click_errors.ClickException):
            raise
        except KeyboardInterrupt:  # Ctrl-C: one line, the shell's 128 + SIGINT
            raise fail("Interrupted. Received: Ctrl-C (SIGINT).", 130) from None
        except Exception as error:  # a bug: say so in one line, keep the traceback on request
            if os.environ.get("CONVCOST_DEBUG"):
                raise
            raise fail(f"internal error, a bug in convcost (CONVCOST_DEBUG=1 shows the "
                       f"traceback; please report it): {type(error).__name__}: "
                       f"{_sentence(str(error), 300)}", INTERNAL_ERROR) from None

    return wrapper


def load_keras() -> None:
    """Import Keras (and TensorFlow) once, with TensorFlow's C++ start-up lines silenced
    (:func:`convcost.quiet.import_keras`; set TF_CPP_MIN_LOG_LEVEL=0 to see them)."""
    quiet.import_keras()


def main() -> None:
    """Entry point of the ``convcost`` script."""
    quiet.quiet_tensorflow()
    app(prog_name="convcost")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"convcost {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", is_eager=True,
        callback=_print_version)] = False,
) -> None:
    """convcost: params, mult-adds and speed of Keras models, with the theory behind them."""
