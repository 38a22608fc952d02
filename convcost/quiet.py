"""Import Keras (and TensorFlow) without TensorFlow's C++ start-up lines, for the CLI and the
Python API alike.

TensorFlow prints its C++ log lines (oneDNN notes, "Could not find cuda drivers", a CUDA
``E0000`` line on machines without a GPU) to file descriptor 2 while it is imported; on TF 2.21
some of them ignore ``TF_CPP_MIN_LOG_LEVEL``. So, unless the user asked for them
(``TF_CPP_MIN_LOG_LEVEL=0``) or imported Keras already, descriptor 2 is captured and dropped
(:func:`convcost.native.captured`) while Keras is imported, and ``TF_CPP_MIN_LOG_LEVEL``
defaults to 3 for what TensorFlow logs later. Later errors still reach stderr.
"""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Default ``TF_CPP_MIN_LOG_LEVEL`` to 3 (errors only) before TensorFlow is imported."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def import_keras() -> None:
    """Import Keras once, its C++ start-up lines silenced (see the module docstring)."""
    if "keras" in sys.modules:
        return
    quiet_tensorflow()
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        import keras  # the user asked for TensorFlow's logs
        return
    from convcost.native import captured

    with captured((2,)):
        import keras  # noqa: F401
