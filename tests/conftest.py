"""Shared fixtures and helpers: quiet TensorFlow, the real MNIST file, models built once per
session, one headless Chromium per session (``browser``), and the CLI helpers every command's
tests use (``run_cli``, ``cli_ok``, ``run_ok``, ``cli_json``, ``assert_one_line_error``;
import them from ``tests.conftest``)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"
CLI_ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


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


@pytest.fixture(scope="session")
def resnet50_report():
    """keras.applications.ResNet50 analysed once, built without allocating its weights."""
    import keras

    import convcost
    from convcost.models import zoo

    with keras.StatelessScope(initialize_variables=False):
        return convcost.analyze(zoo.build("resnet50"))


# --- tools from the system: a browser, graphviz -----------------------------------------------


def require_tool(what: str, found: bool, variable: str, install: str) -> None:
    """Skip when a system tool is missing, unless ``$variable`` is 1 (CI): then fail."""
    if found:
        return
    message = f"{what} not found ({install})"
    if os.environ.get(variable) == "1":
        pytest.fail(f"{message}; {variable}=1 requires it")
    pytest.skip(message)


CHROMIUM = (os.environ.get("CONVCOST_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))
# Playwright adds --headless and a fresh --user-data-dir; these keep Chromium off the network.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the system's, driven by Playwright) for the whole session.

    Playwright's sync API allows one ``sync_playwright()`` at a time, hence one fixture here.
    Skipped without Playwright or Chromium, unless CONVCOST_REQUIRE_BROWSER=1 (CI).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require_tool("playwright", sync_playwright is not None, "CONVCOST_REQUIRE_BROWSER",
                 "pip install playwright")
    require_tool("chromium", CHROMIUM is not None, "CONVCOST_REQUIRE_BROWSER",
                 "apt-get install chromium")
    with sync_playwright() as playwright:  # type: ignore[misc]
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def graphviz() -> str:
    """The path of graphviz's dot; skipped without it unless CONVCOST_REQUIRE_GRAPHVIZ=1."""
    dot = shutil.which("dot")
    require_tool("graphviz's dot", dot is not None, "CONVCOST_REQUIRE_GRAPHVIZ",
                 "apt-get install graphviz")
    return str(dot)


# --- the CLI, in process ------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """``convcost ARGS`` through typer's CliRunner, 120 columns, no color.

    ``env`` overrides variables; ``None`` unsets one (``{"COLUMNS": None}``: a pipe).
    """
    from typer.testing import CliRunner

    from convcost.cli import app

    return CliRunner().invoke(app, list(args), env={**CLI_ENV, **(env or {})})


def run_ok(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """The result of a command that must succeed (exit 0)."""
    result = run_cli(*args, env=env)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def cli_ok(*args: str) -> str:
    """stdout of a command that must succeed (exit 0)."""
    return run_ok(*args).stdout


def cli_json(*args: str) -> Any:
    """The JSON a command prints with ``--format json``."""
    return json.loads(cli_ok(*args, "--format", "json"))


def assert_one_line_error(result: Any, code: int, pattern: str, *, stdout_empty: bool = True,
                          after_progress: bool = False) -> None:
    """Exit ``code``, exactly one line on stderr matching the regex ``pattern``, no traceback.

    Args:
        stdout_empty: also require that nothing went to stdout.
        after_progress: a progress display may stand above the error (train); the error is
            still one ``error:`` line, and the last one.
    """
    assert result.exit_code == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    if after_progress:
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
        lines = errors
    if stdout_empty:
        assert result.stdout == "", result.stdout
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
