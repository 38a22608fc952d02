"""The one base error of convcost; the CLI turns it into a one-line message and an exit code."""

from __future__ import annotations

import re


class ConvcostError(Exception):
    """A problem with the user's input or model, explained in one line.

    Messages say what is wrong, then what was received, e.g.
    ``"Unknown model name. Received: 'mobilnet'. Did you mean 'mobilenet'?"``.
    """

    exit_code = 1


class UnsupportedLayerError(ConvcostError):
    """A layer has no cost rule (raised only where the caller asked to be strict)."""

    exit_code = 2


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """Another library's error message as one plain line: no terminal colours, no line breaks,
    without Keras' "Arguments received by ..." dump, at most ``limit`` characters."""
    text = ANSI_ESCAPE.sub("", str(error)).split("Arguments received by", 1)[0]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "..."
