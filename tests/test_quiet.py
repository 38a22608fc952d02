"""The Python API imports TensorFlow as quietly as the CLI: no C++ start-up lines on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPT = "import convcost; print(convcost.analyze('naive').macs)"
TF_LINE = ("I0000", "E0000", "W0000", "cuda", "oneDNN")


def _run(level: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300, check=True)


@pytest.mark.slow
def test_api_prints_no_tensorflow_start_up_lines() -> None:
    loud = _run("0")  # asked for, TensorFlow's lines appear (where this machine has any)
    if not any(t in loud.stderr for t in TF_LINE):
        pytest.skip("TensorFlow prints no start-up lines on this machine: nothing to silence")
    quiet = _run(None)
    assert quiet.stdout.strip() == "25362816"
    assert not [line for line in quiet.stderr.splitlines() if any(t in line for t in TF_LINE)]
