"""Shared fixtures: quiet TensorFlow, the real MNIST file, and models built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Real MNIST: $CONVCOST_MNIST, else ../shared/data/mnist.npz beside the checkout."""
    path = Path(os.environ.get("CONVCOST_MNIST", SHARED_MNIST))
    if not path.exists():
        pytest.skip(f"real MNIST not found at {path}; set CONVCOST_MNIST")
    return path


@pytest.fixture(scope="session")
def zoo_model():
    """Build zoo models once per test session: zoo_model('v1')."""
    from convcost.models import zoo

    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = zoo.build(name)
        return cache[name]

    return get
