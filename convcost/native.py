"""Native output: the one way to keep what TensorFlow and LiteRT print off the user's terminal.

Their C++ layers write to file descriptors 1 and 2 directly, past ``sys.stdout`` and
``sys.stderr`` and past TF_CPP_MIN_LOG_LEVEL (TF 2.21's start-up lines, the profiler's tables,
LiteRT's "Created TensorFlow Lite XNNPACK delegate"). :func:`captured` takes both routes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def captured(fds: Sequence[int] = (1, 2)) -> Iterator[io.StringIO]:
    """Capture, for the length of the block, what is written to the file descriptors ``fds``
    (1: stdout, 2: stderr; C++ writes included) and to Python's ``sys.stdout`` /
    ``sys.stderr`` for those descriptors; Python warnings are ignored and TensorFlow's Python
    logger shows errors only. Yields a buffer that holds the Python-level text at once and the
    descriptors' text once the block ends; to silence, ignore it.

    Args:
        fds: the file descriptors to capture.
    """
    text = io.StringIO()
    logger = logging.getLogger("tensorflow")
    level = logger.level
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [(fd, os.dup(fd)) for fd in fds]
    with tempfile.TemporaryFile(mode="w+", errors="replace") as sink:
        try:
            logger.setLevel(logging.ERROR)
            for fd, _ in saved:
                os.dup2(sink.fileno(), fd)
            with _python_streams(fds, text), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            logger.setLevel(level)
            sink.seek(0)
            text.write(sink.read())


def _python_streams(fds: Sequence[int], text: io.StringIO) -> contextlib.ExitStack:
    """``sys.stdout`` (fd 1) and ``sys.stderr`` (fd 2), as in ``fds``, redirected to ``text``."""
    streams = contextlib.ExitStack()
    if 1 in fds:
        streams.enter_context(contextlib.redirect_stdout(text))
    if 2 in fds:
        streams.enter_context(contextlib.redirect_stderr(text))
    return streams
