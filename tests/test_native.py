"""convcost.native.captured: C-level and Python-level output kept off the terminal."""

from __future__ import annotations

import logging
import os
import sys
import warnings

from convcost.native import captured


def test_both_descriptors_and_python_streams_are_captured_then_restored(capfd):
    with captured() as text:
        os.write(1, b"native stdout\n")
        os.write(2, b"native stderr\n")
        print("python stdout")
        print("python stderr", file=sys.stderr)
        warnings.warn("ignored inside", UserWarning, stacklevel=1)
    os.write(1, b"after\n")
    seen = capfd.readouterr()
    assert seen.out == "after\n" and seen.err == ""
    for line in ("native stdout", "native stderr", "python stdout", "python stderr"):
        assert line in text.getvalue()


def test_only_the_descriptors_asked_for_are_captured(capfd):
    with captured((2,)) as text:
        os.write(1, b"to the terminal\n")
        os.write(2, b"kept off\n")
    seen = capfd.readouterr()
    assert seen.out == "to the terminal\n" and seen.err == ""
    assert text.getvalue() == "kept off\n"


def test_tensorflow_logger_level_is_restored_after_an_error():
    logger = logging.getLogger("tensorflow")
    before = logger.level
    try:
        with captured():
            assert logger.level == logging.ERROR
            raise KeyError("inside")
    except KeyError:
        pass
    assert logger.level == before
