"""The ``convcost`` command line: a thin typer app, one module per command.

Importing a command module registers its command on ``app``. None of them imports TensorFlow
at import time, so ``--help``, ``formulas`` and ``zoo`` stay fast. Shared pieces:
:mod:`.app` (the app, the error edge, exit codes), :mod:`.options` (the options vocabulary),
:mod:`.output` (stdout or an atomic file; width and color), :mod:`.device` (the device
profile: saved, given or measured once), :mod:`.rewriting` (what
``separate`` and ``merge`` share), :mod:`.runtimes` (what ``bench --runtime`` does).
"""

from __future__ import annotations

from convcost.cli.app import app, main

# Command modules, in the order `convcost --help` lists them (the import registers each).
from convcost.cli import analyze  # noqa: F401  isort: skip
from convcost.cli import compare  # noqa: F401  isort: skip
from convcost.cli import graph  # noqa: F401  isort: skip
from convcost.cli import formulas  # noqa: F401  isort: skip
from convcost.cli import zoo  # noqa: F401  isort: skip
from convcost.cli import verify  # noqa: F401  isort: skip
from convcost.cli import probe  # noqa: F401  isort: skip
from convcost.cli import devices  # noqa: F401  isort: skip
from convcost.cli import profile  # noqa: F401  isort: skip
from convcost.cli import train  # noqa: F401  isort: skip
from convcost.cli import bench  # noqa: F401  isort: skip
from convcost.cli import export  # noqa: F401  isort: skip
from convcost.cli import separate  # noqa: F401  isort: skip
from convcost.cli import merge  # noqa: F401  isort: skip
from convcost.cli import calibrate  # noqa: F401  isort: skip
from convcost.cli import predict  # noqa: F401  isort: skip

__all__ = ["app", "main"]
