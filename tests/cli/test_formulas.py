"""``convcost formulas``: every format, one kind, --subs, errors, and no TensorFlow import."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import assert_one_line_error, run_cli

KINDS = ["standard", "depthwise", "pointwise", "separable", "ratio", "width_resolution",
         "v2_block", "v2_block_stride2", "relu6", "intensity_standard", "intensity_depthwise",
         "mobilenet_resolution", "decoder_lm"]
SYMBOL_NAMES = ["D_K", "M", "N", "D_F", "D_W", "D_H", "alpha", "rho", "h", "w", "d_in", "d_out",
                "t", "k", "s", "c_1", "c_2", "c", "x", "H", "W", "L", "d_model", "d_ff", "n_layer",
                "n_head"]


def invoke(*args: str):
    return run_cli("formulas", *args)


def test_text_prints_every_derivation_in_unicode():
    result = invoke()
    assert result.exit_code == 0, result.output
    for kind in KINDS:
        assert f"{kind}:" in result.output
    assert "─" in result.output  # sympy's unicode fraction bars
    assert "d'⋅h⋅t⋅w⋅" in result.output  # v2 block in the paper's symbols


def test_latex_prints_one_aligned_block_per_derivation():
    result = invoke("--format", "latex")
    assert result.exit_code == 0, result.output
    assert result.output.count("\\begin{aligned}") == len(KINDS)
    assert r"\frac{1}{N} + \frac{1}{D_{K}^{2}}" in result.output


def test_json_lists_every_derivation_with_expressions():
    result = invoke("--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [item["name"] for item in document["derivations"]] == KINDS
    ratio = document["derivations"][KINDS.index("ratio")]
    first = ratio["equations"][0]
    assert {"label", "expression", "latex", "pretty"} <= set(first)
    assert first["expression"] == "1/N + D_K**(-2)"
    assert "value" not in first  # no --subs, no value


def test_one_kind_only():
    result = invoke("v2_block")
    assert result.exit_code == 0, result.output
    assert "v2_block:" in result.output
    assert "ratio:" not in result.output and "v2_block_stride2" not in result.output


@pytest.mark.parametrize("dk_n", ["N=64,D_K=3", " N = 64 , D_K = 3 "])
def test_subs_evaluates_the_ratio(dk_n):
    result = invoke("ratio", "--subs", dk_n)
    assert result.exit_code == 0, result.output
    assert "73/576 ≈ 0.1267" in result.output  # 1/64 + 1/9 = 73/576


def test_subs_in_json_gives_exact_and_float():
    result = invoke("ratio", "--format", "json", "--subs", "N=1024,D_K=3")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["substitutions"] == {"N": "1024", "D_K": "3"}
    value = document["derivations"][0]["equations"][1]["value"]
    assert value["exact"] == "1033/9216"  # 1/1024 + 1/9 = (9 + 1024) / 9216
    assert value["float"] == pytest.approx(1033 / 9216)


def test_subs_in_latex_adds_value_comments():
    result = invoke("intensity_depthwise", "--format", "latex", "--subs", "k=3")
    assert result.exit_code == 0, result.output
    assert "intensity as h*w → ∞, stride 1 = 9/2 ≈ 4.5" in result.output
    assert "intensity as h*w → ∞, stride 2 = 9/5 ≈ 1.8" in result.output


def test_partial_subs_prints_remaining_expression():
    result = invoke("ratio", "--subs", "D_K=3")
    assert result.exit_code == 0, result.output
    assert "at D_K=3: 1/9 + 1/N" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "Unknown formula kind. Received: 'nope'. Valid kinds: standard, depthwise"),
        (["ratio", "--format", "xml"], "'xml' is not one of 'text', 'latex', 'json'."),
        (["ratio", "--subs", "N64"], "'N64' is not one. Received: 'N64'."),
        (["ratio", "--subs", "N="], "'N=' is not one. Received: 'N='."),
        (["ratio", "--subs", "N=64,,D_K=3"], "'' is not one. Received: 'N=64,,D_K=3'."),
        (["ratio", "--subs", "N=1,N=2"], "--subs names N twice. Received: 'N=1,N=2'."),
        (["ratio", "--subs", "Q=3"], "Unknown symbol. Received: 'Q'. Valid symbols: D_K, M"),
        (["ratio", "--subs", "N=abc"], "must be a finite number (e.g. 3, 0.5, 1/2). "
                                       "Received: N='abc'."),
        (["ratio", "--subs", "N=0.5"], "N is a count and must be an integer. Received: N=0.5."),
    ],
)
def test_errors_are_one_line_exit_1(args, message):
    assert_one_line_error(run_cli("formulas", *args), 1, re.escape(message))


def test_help_lists_every_kind_and_symbol():
    from convcost.theory import symbolic

    assert list(symbolic.DERIVATIONS) == KINDS
    assert list(symbolic.SYMBOLS) == SYMBOL_NAMES
    result = run_cli("formulas", "--help", env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    for name in KINDS + SYMBOL_NAMES:
        assert name in result.output


def test_formulas_does_not_import_tensorflow_or_keras():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from convcost.cli import app\n"
        "result = CliRunner().invoke(app, ['formulas'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False False"
