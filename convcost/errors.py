"""The one base error of convcost; the CLI turns it into a one-line message and an exit code."""

from __future__ import annotations


class ConvcostError(Exception):
    """A problem with the user's input or model, explained in one line.

    Messages say what is wrong, then what was received, e.g.
    ``"Unknown model name. Received: 'mobilnet'. Did you mean 'mobilenet'?"``.
    """

    exit_code = 1


class UnsupportedLayerError(ConvcostError):
    """A layer has no cost rule (raised only where the caller asked to be strict)."""

    exit_code = 2
