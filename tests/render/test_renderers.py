"""Every renderer of a command's output has one shape: ``FORMATS`` and
``render(data, fmt, opts=None) -> str``; the CLI's ``--format`` choices are that ``FORMATS``;
no renderer imports TensorFlow when it is imported."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from convcost.errors import ConvcostError

RENDERERS = ("analyze", "symbolic", "sweep", "tflite", "compare", "profile", "verify",
             "verify_training", "bench", "runtimes", "experiment", "formulas", "graph",
             "rewrite", "zoo", "probe", "devices", "decode", "llm_sweep", "summary", "predict",
             "calibrate")
PIECES = {"options", "tables", "rows", "units", "columns", "training_cost", "html", "notebook",
          "plots"}
# command -> the renderer whose FORMATS are its --format choices
COMMANDS = {"analyze": "analyze", "compare": "compare", "profile": "profile",
            "verify": "verify", "zoo": "zoo", "bench": "bench", "formulas": "formulas",
            "graph": "graph", "devices": "devices", "predict": "predict"}


def test_every_render_module_is_a_renderer_or_a_piece() -> None:
    folder = Path(importlib.import_module("convcost.render").__file__ or "").parent
    assert {path.stem for path in folder.glob("*.py")} - {"__init__"} == set(RENDERERS) | PIECES


@pytest.mark.parametrize("name", RENDERERS)
def test_renderer_has_formats_and_render(name: str) -> None:
    module = importlib.import_module(f"convcost.render.{name}")
    assert isinstance(module.FORMATS, tuple) and module.FORMATS
    assert all(isinstance(fmt, str) for fmt in module.FORMATS)
    parameters = list(inspect.signature(module.render).parameters.values())
    assert [p.name for p in parameters] == ["data", "fmt", "opts"]
    assert parameters[2].default is None


@pytest.mark.parametrize("name", RENDERERS)
def test_renderer_refuses_an_unknown_format_before_reading_its_data(name: str) -> None:
    module = importlib.import_module(f"convcost.render.{name}")
    with pytest.raises(ConvcostError, match=r"^Unknown format.*Received: 'nope'\.$"):
        module.render(None, "nope")


def test_cli_format_choices_are_the_renderers_formats() -> None:
    """Typer reads the choices from ``fmt``'s annotation: Annotated[Literal[...], option]."""
    from convcost.cli import app

    callbacks = {info.name: info.callback for info in app.registered_commands}
    for command, renderer in COMMANDS.items():
        annotation = get_type_hints(callbacks[command], include_extras=True)["fmt"]
        literal, option = get_args(annotation)
        assert "-f" in option.param_decls, command
        formats = importlib.import_module(f"convcost.render.{renderer}").FORMATS
        assert get_args(literal) == formats, command


def test_importing_every_renderer_imports_no_tensorflow() -> None:
    code = ("import sys, importlib\n"
            f"for name in {RENDERERS!r}: importlib.import_module('convcost.render.' + name)\n"
            "import convcost.cli\n"
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"
