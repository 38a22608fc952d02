"""``convcost graph``: zoo names and model files, DOT and SVG, one-line errors."""

from __future__ import annotations

import re

import keras
import pytest

from tests.conftest import assert_one_line_error, run_cli, run_ok


def test_dot_of_v1_is_a_chain_from_the_input() -> None:
    dot = run_ok("graph", "v1", "--format", "dot").stdout
    edges = re.findall(r"^\s*(\w+) -> (\w+)", dot, re.MULTILINE)
    assert edges == [("input", "n0"), *[(f"n{i}", f"n{i + 1}") for i in range(11)]]
    assert '"pw_3\\nConv2D\\n1.61 M MACs (51.6%)' in dot  # 1,605,632 of 3,109,760


def test_svg_of_a_model_file(tmp_path, graphviz) -> None:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    path = tmp_path / "tiny.keras"
    keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x)).save(path)
    target = tmp_path / "tiny.svg"
    result = run_ok("graph", str(path), "--output", str(target))
    svg = target.read_text(encoding="utf-8")
    assert "<svg" in svg and ">conv</text>" in svg and ">gap</text>" in svg
    assert f"wrote {target}" in result.stderr


def test_without_dot_one_line_error_before_building(tmp_path) -> None:
    result = run_cli("graph", "v1", "--output", str(tmp_path / "g.svg"), env={"PATH": ""})
    assert_one_line_error(result, 1, r"graphviz's 'dot'.*apt-get install graphviz")
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("path", ["", None], ids=["without dot", "with the PATH as is"])
def test_unknown_model_one_line_error(path: str | None) -> None:
    """A typo is reported as such, whether or not graphviz is installed."""
    env = {"PATH": path} if path is not None else None
    assert_one_line_error(run_cli("graph", "mobilnet", env=env), 1, r"Unknown model name")
