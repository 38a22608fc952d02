"""``convcost analyze --symbolic`` and ``--sweep`` end to end: outputs, files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy

from tests.conftest import assert_one_line_error, cli_json, cli_ok, run_cli, run_ok


def test_symbolic_json_adds_the_formula_keys_to_the_plain_json() -> None:
    plain = cli_json("analyze", "v1")
    data = cli_json("analyze", "v1", "--symbolic")
    assert set(plain) <= set(data)
    for key, value in plain["totals"].items():
        assert data["totals"][key] == value
    assert data["totals"]["macs_expr"] == "3944*H*W + 17664"
    assert data["totals"]["params_expr"] == "48330"
    assert data["totals"]["flops_expr"] == "8088*H*W + 36136"
    assert data["symbols"] == ["H", "W"]
    assert data["domain"]["step"] == {"H": 4, "W": 4}
    assert data["layers"][0]["output_shape_expr"] == ["H/2", "W/2", "32"]
    assert data["symbolic"]["analysed"]["formula_macs"] == plain["totals"]["macs"]


def test_symbolic_table_prints_pretty_and_latex() -> None:
    text = cli_ok("analyze", "v1", "--symbolic")
    assert "MACs(H, W) = 3944⋅H⋅W + 17664" in text
    assert "\\mathrm{MACs}(H, W) = 3944 H W + 17664" in text
    assert "domain: exact for H, W multiples of 4, at least 8" in text
    assert "params match model.summary(): 48,330 ✓" in text


def test_sweep_writes_table_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "v1.png"
    text = cli_ok("analyze", "v1", "--sweep", "size=16,28,30", "--plot", str(plot))
    assert "MACs(s) = 3944·s² + 17664 at H = W = s" in text
    assert "(off domain)" in text  # 30 is not a multiple of 4
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_json_rows_are_analyze_at_each_size() -> None:
    data = cli_json("analyze", "v1", "--sweep", "size=28,32")
    assert [row["macs"] for row in data["rows"]] == [3_109_760, 3944 * 32 * 32 + 17664]
    assert data["rows"][0]["macs"] == cli_json("analyze", "v1")["totals"]["macs"]


def test_a_token_model_file_gets_a_formula_in_l(tmp_path: Path) -> None:
    from tests.conftest import tiny_decoder

    path = tmp_path / "decoder.keras"
    tiny_decoder().save(path)
    data = cli_json("analyze", str(path), "--input-shape", "16", "--symbolic")
    assert sympy.sympify(data["totals"]["macs_expr"]) == sympy.sympify("128*L**2 + 24576*L")
    assert data["domain"]["text"] == "exact for every L ≥ 1"
    sweep = cli_json("analyze", str(path), "--input-shape", "16", "--sweep", "seq-len=8,64")
    assert [row["macs"] for row in sweep["rows"]] == [128 * 64 + 24576 * 8,
                                                       128 * 4096 + 24576 * 64]


def test_causal_reaches_the_formula(tmp_path: Path) -> None:
    # 2 blocks x (QK^T + AV) x d = 32 over the L(L+1)/2 pairs a causal decoder uses, by hand:
    # 2 * 2 * 32 * L(L+1)/2 = 64 L^2 + 64 L; the rest (24,576 L) is the same as executed
    path = tmp_path / "decoder.keras"
    from tests.conftest import tiny_decoder

    tiny_decoder().save(path)
    data = cli_json("analyze", str(path), "--input-shape", "16", "--symbolic", "--causal")
    assert sympy.sympify(data["totals"]["macs_expr"]) == sympy.sympify("64*L**2 + 24640*L")


@pytest.mark.parametrize(("args", "pattern"), [
    (["v1", "--symbolic", "--memory"], r"--memory does not combine with --symbolic or --sweep"),
    (["v1", "--plot", "x.png"], r"--plot draws a sweep; add --sweep"),
    (["v1", "--sweep", "size=8", "--plot", "/nonexistent/x.png"],
     r"--plot's directory does not exist"),
    (["v1", "--sweep", "width=3"], r"--sweep takes size=N,N,\.\.\. \(image models\)"),
    (["v1", "--sweep", "size=8", "--depth", "1"], r"--depth does not apply"),
    (["v1", "--symbolic", "--seq-len", "64"], r"--seq-len applies to text models; 'v1'"),
    (["gpt2", "--symbolic", "--seq-len", "-3"], r"--seq-len must be"),
    (["v1", "--symbolic", "--training"], r"--training does not combine with --symbolic"),
    (["v1", "--symbolic", "--format", "html"], r"--format html is a page of one model"),
    (["v1", "--sweep", "seq-len=8"], r"--sweep seq-len does not fit .* use --sweep size="),
    (["mobilenet", "--sweep", "size=16"],
     r"--sweep size=16: the model does not take this size: .*32"),
])
def test_impossible_requests_are_one_line_errors(args: list[str], pattern: str) -> None:
    assert_one_line_error(run_cli("analyze", *args), 1, pattern)


def test_a_flat_vector_model_has_no_free_size(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input(shape=(784,))
    path = tmp_path / "mlp.keras"
    keras.Model(inputs, keras.layers.Dense(10)(inputs)).save(path)
    assert_one_line_error(run_cli("analyze", str(path), "--symbolic"), 1,
                          r"--symbolic needs an input with a free size .* flat vector")


def test_symbolic_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "v1.json"
    run_ok("analyze", "v1", "--symbolic", "-f", "json", "-o", str(out))
    assert json.loads(out.read_text())["totals"]["macs_expr"] == "3944*H*W + 17664"
