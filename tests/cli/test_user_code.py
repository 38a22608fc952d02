"""User code: custom layer classes through --import (and their cost rules), Lambda layers
through --unsafe in every command that rebuilds a model, and the errors when either is missing.

The model files and the module defining the custom class are written by tests/conftest.py's
``saved_elsewhere`` in a fresh process, and the class is registered under a package name of
its own, so nothing leaks into the other tests' Keras registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, cli_json, run_cli


@pytest.fixture(scope="module")
def saved(saved_elsewhere) -> dict[str, Path]:
    """The module, a model using its class, and a conv model with a Lambda, saved by a
    separate process (so this process has never seen the class): tests/conftest.py's
    ``saved_elsewhere``, which also saves tests/cli/hostile.py's files."""
    return saved_elsewhere["user_code"]


def test_an_unknown_class_names_the_class_and_suggests_import(saved) -> None:
    assert_one_line_error(run_cli("analyze", str(saved["custom"])), 1,
                          r"cannot find: 'Triple' \(module 'triple_layer'\); pass --import")


def test_import_loads_the_class_and_its_cost_rule(saved) -> None:
    data = cli_json("analyze", str(saved["custom"]), "--import", str(saved["code"]))
    rows = {row["name"]: row for row in data["layers"]}
    # Triple on 6 features: 6 weights, 2 FLOPs per output element (x3 and x w) -> 12
    assert (rows["triple"]["params"], rows["triple"]["other_flops"]) == (6, 12)
    assert rows["triple"]["supported"] and data["check"]["match"]
    assert data["totals"]["macs"] == 6 * 4  # the Dense


def test_a_bad_import_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("analyze", "v1", "--import", "no_such_module_xyz"), 1,
                          r"ModuleNotFoundError.*Received: --import 'no_such_module_xyz'")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    assert_one_line_error(run_cli("analyze", "v1", "--import", str(broken)), 1,
                          r"RuntimeError: boom Received: --import")


def test_lambda_needs_unsafe_and_separate_honours_it(saved, tmp_path: Path) -> None:
    out = tmp_path / "sep.keras"
    assert_one_line_error(run_cli("separate", str(saved["lambda"]), "-o", str(out)), 1,
                          r"safe mode refuses.*--unsafe")
    result = run_cli("separate", str(saved["lambda"]), "--unsafe", "--include-first",
                     "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "c1 -> c1_dw + c1_pw" in result.stdout and "c2 -> c2_dw + c2_pw" in result.stdout
    data = cli_json("analyze", str(out), "--unsafe")
    assert [row["name"] for row in data["layers"]][-2:] == ["double", "gap"]


def test_bench_and_train_take_import(saved) -> None:
    """With --import, bench times the model (its Dense: 6 x 4 = 24 MACs) and train gets as far
    as MNIST's shape check. (Without it: the first test of this file; once imported, the class
    stays registered in this process.)"""
    custom, code = str(saved["custom"]), str(saved["code"])
    data = cli_json("bench", custom, "--import", code, "--repeats", "1", "--warmup", "0",
                    "--peak-size", "64", "--peak-repeats", "1", "--batch-size", "2")
    assert [row["macs"] for row in data["models"]] == [24]
    assert_one_line_error(run_cli("train", custom, "--import", code), 1,
                          r"must take one 28x28x1 input and give 10 classes")
