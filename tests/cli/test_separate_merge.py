"""``convcost separate`` / ``convcost merge``: files written, counts, and one-line errors."""

from __future__ import annotations

import os

import pytest

from convcost.models import zoo
from convcost.models.loader import load_model
from tests.conftest import run_cli


def invoke(*args):
    return run_cli(*(str(a) for a in args))


def test_separate_naive_writes_the_articles_v1(tmp_path):
    out = tmp_path / "v1.keras"
    result = invoke("separate", "naive", "-o", out)
    assert result.exit_code == 0, result.output
    assert load_model(out).count_params() == 48_330
    for text in ("conv_2 -> conv_2_dw + conv_2_pw", "skipped 1", "259,082", "48,330",
                 "25,362,816", "3,109,760", f"saved: {out}"):
        assert text in result.stdout
    assert os.listdir(tmp_path) == ["v1.keras"]


def test_merge_v1_writes_naive(tmp_path):
    out = tmp_path / "naive.keras"
    result = invoke("merge", "v1", "--output", out)
    assert result.exit_code == 0, result.output
    assert load_model(out).count_params() == 259_082
    assert "dw_2 + pw_2 -> pw_2_merged" in result.stdout


@pytest.mark.parametrize(("command", "source", "expected"),
                         [("separate", "naive", 48_330), ("merge", "v1", 259_082)])
def test_model_files_are_rewritten(tmp_path, command, source, expected):
    path = tmp_path / f"{source}.keras"
    zoo.build(source).save(path)
    result = invoke(command, path, "-o", tmp_path / "out.keras")
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "out.keras").count_params() == expected


def test_alpha_on_a_zoo_model(tmp_path):
    result = invoke("separate", "naive", "--alpha", "0.5", "-o", tmp_path / "out.keras")
    assert result.exit_code == 0, result.output
    # v1 at alpha 0.5 (widths 16, 32, 64, 64; fc 64):
    # conv_1 9*16+16 = 160; dw/pw 160 + 16*32+32, 9*32+32 + 32*64+64, 9*64+64 + 64*64+64;
    # bn_1 4*64; fc1 64*64+64; bn_2 4*64; output 64*10+10.
    expected = (160 + (160 + 544) + (320 + 2_112) + (640 + 4_160) + 256 + 4_160 + 256 + 650)
    assert expected == zoo.build("v1", alpha=0.5).count_params() == 13_418
    assert load_model(tmp_path / "out.keras").count_params() == expected


@pytest.mark.parametrize(
    ("options", "replaced"),
    [(["--layers", "conv_[34]"], ["conv_3", "conv_4"]),
     (["--include-first"], ["conv_1", "conv_2", "conv_3", "conv_4"])],
)
def test_choosing_layers(tmp_path, options, replaced):
    result = invoke("separate", "naive", *options, "-o", tmp_path / "out.keras")
    assert result.exit_code == 0, result.output
    lines = [line.split()[0] for line in result.stdout.splitlines() if "_dw + " in line]
    assert lines == replaced


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["separate", "v1"], "No eligible layer to separate: conv_1: first k×k conv"),
        (["merge", "naive"], "No eligible layer to merge: the model has no DepthwiseConv2D"),
        (["separate", "naive", "--layers", "nope"], "The layers pattern matches no layer"),
        (["separate", "naive", "--input-shape", "a,b"], "--input-shape must be whole numbers"),
        (["separate", "naive", "--alpha", "-1"], "alpha must be a positive number"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    result = invoke(*args, "-o", tmp_path / "out.keras")
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.output
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("out.h5", "The output file must end in .keras"),
        ("missing/out.keras", "The output folder does not exist"),
        ("file.txt/out.keras", "The output folder is not a directory"),
    ],
)
def test_bad_output_paths(tmp_path, output, message):
    (tmp_path / "file.txt").write_text("x")
    result = invoke("merge", "v1", "-o", tmp_path / output)
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert os.listdir(tmp_path) == ["file.txt"]


def test_alpha_with_a_model_file_is_refused(tmp_path):
    path = tmp_path / "naive.keras"
    zoo.build("naive").save(path)
    result = invoke("separate", path, "--alpha", "0.5", "-o", tmp_path / "out.keras")
    assert result.exit_code == 1
    assert "--alpha applies to zoo models only" in result.stderr
    assert os.listdir(tmp_path) == ["naive.keras"]
