"""How wide a command's table is, and that no width loses a digit: ResNet50 on an 80-column
terminal and through a pipe, the other commands' tables at 80 and 60 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from convcost.cli import output
from convcost.errors import ConvcostError
from tests.conftest import assert_one_line_error, run_cli, run_ok

PIPE: dict[str, str | None] = {"COLUMNS": None}  # CliRunner's stdout is not a terminal


# --- console_width: --width, then a file, then $COLUMNS, then the terminal ------------------


def test_forced_width_wins(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert output.console_width(Path("out.txt"), 90) == 90


def test_a_file_or_a_pipe_gets_the_natural_width(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert output.console_width(Path("out.txt")) is None
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert output.console_width() is None


def test_a_terminal_gets_its_width(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr("shutil.get_terminal_size", lambda: __import__("os").terminal_size(
        (77, 24)))
    assert output.console_width() == 77
    monkeypatch.setenv("COLUMNS", "81")
    assert output.console_width() == 81


def test_width_must_be_sensible() -> None:
    with pytest.raises(ConvcostError, match=r"--width must be an integer >= 20\. Received: "
                                            r"--width 5\."):
        output.console_width(None, 5)
    assert_one_line_error(run_cli("zoo", "--width", "0"), 1, r"--width must be an integer")


# --- ResNet50: every number survives 80 columns and a pipe ----------------------------------


@pytest.fixture(scope="module")
def resnet50_json(resnet50_report) -> dict:
    from convcost.render import report_dict

    return report_dict(resnet50_report)


def _numbers(data: dict) -> list[str]:
    """Every integer of the JSON as the table writes it, with thousands separators."""
    values = [value for layer in data["layers"]
              for key, value in layer.items() if key in ("params", "macs")]
    return [f"{value:,}" for value in [*values, data["totals"]["params"],
                                       data["totals"]["macs"]]]


@pytest.mark.parametrize(("env", "width"), [({"COLUMNS": "80"}, 80), (PIPE, None)],
                         ids=["80-columns", "pipe"])
def test_resnet50_keeps_every_number_and_name(resnet50_json, env, width) -> None:
    text = run_ok("analyze", "resnet50", env=env).stdout
    lines = text.splitlines()
    if width is not None:
        assert max(len(line) for line in lines) <= width
    else:  # the natural width: bars and the type column are there
        assert "BatchNormalization" in text and "▎   3.1%" in text  # conv1_conv's bar
    words = set(re.findall(r"\S+", text))
    missing = [n for n in _numbers(resnet50_json) if n not in words]
    assert not missing and "…" not in text
    table = [line.split()[0] for line in lines[3:] if line.strip()]
    assert [x["path"] for x in resnet50_json["layers"]] == table[:len(resnet50_json["layers"])]


def test_a_file_gets_the_full_table(tmp_path) -> None:
    target = tmp_path / "out.txt"
    run_ok("analyze", "v1", "--output", str(target), env={"COLUMNS": "40"})
    text = target.read_text(encoding="utf-8")
    assert "DepthwiseConv2D" in text and "1,605,632" in text and "51.6%" in text
    assert max(len(line) for line in text.splitlines()) > 40


# --- the other commands' tables -------------------------------------------------------------


def test_zoo_wraps_its_source_column_and_keeps_every_name() -> None:
    text = run_ok("zoo", "--width", "60").stdout
    assert max(len(line) for line in text.splitlines()) <= 60
    data = json.loads(run_ok("zoo", "--format", "json").stdout)
    assert all(entry["name"][:10] in text for entry in data)
    assert "…" not in text


def test_compare_at_60_columns_keeps_every_number() -> None:
    text = run_ok("compare", "naive", "v1", "--width", "60").stdout
    for number in ("259,082", "48,330", "25,362,816", "3,109,760", "2,809,856 (90.36%)"):
        assert number in text
    assert "…" not in text


def test_error_lines_lose_keras_terminal_colours() -> None:
    """Keras wraps parts of its messages in ANSI codes; an error line is plain text."""
    from convcost.cli.app import _sentence

    assert _sentence("Exception in \x1b[1mConv2D.call()\x1b[0m:\n negative size") == (
        "Exception in Conv2D.call(): negative size.")


@pytest.mark.parametrize("variable", ["COLUMNS", "LINES"])
def test_unicode_digits_in_the_terminal_size_are_ignored(variable: str) -> None:
    """'²'.isdigit() is True and int('²') fails: rich would crash; the terminal's size wins."""
    result = run_cli("analyze", "naive", env={variable: "²"})
    assert result.exit_code == 0, result.stderr
    assert "params match model.summary()" in result.stdout
