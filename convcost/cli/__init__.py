"""The ``convcost`` command line: a thin typer app; each command group lives in its own module.

Importing a command module registers its commands on ``app``. None of them imports TensorFlow
at import time, so ``--help``, ``formulas`` and ``zoo`` stay fast.
"""

from __future__ import annotations

from convcost.cli.app import app, main

# Command modules (one line each; the import registers the commands).
from convcost.cli import zoo  # noqa: F401  isort: skip
from convcost.cli import perf  # noqa: F401  isort: skip
from convcost.cli import formulas  # noqa: F401  isort: skip
from convcost.cli import rewrite  # noqa: F401  isort: skip
from convcost.cli import analyze  # noqa: F401  isort: skip
from convcost.cli import train  # noqa: F401  isort: skip
from convcost.cli import verify  # noqa: F401  isort: skip

__all__ = ["app", "main"]
