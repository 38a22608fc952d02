"""``analyze --decode / --generate / --device``: the JSON keys, the hand numbers through the
CLI, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, cli_json, cli_ok, run_cli

pytest.importorskip("keras_hub")

D, V, LAYERS = 768, 50257, 12


def test_decode_json_gpt2_hand_numbers():
    data = cli_json("analyze", "gpt2", "--decode", "--context", "1023", "--batch-size", "2",
                    "--kv-bits", "8")
    assert data["totals"]["macs"] == 2 * (LAYERS * (12 * D * D + 2 * 1024 * D) + D * V)
    assert data["kv_bytes_per_token"] == 2 * LAYERS * D  # 8-bit: one byte per element
    assert data["kv_cache_bytes"] == 2 * 2 * LAYERS * D * 1024
    assert data["weight_bytes"] == 124_439_808 * 4  # float32 by default
    assert "time_per_output_token_s" not in data  # no device, no times


@pytest.mark.slow
def test_generate_totals_are_the_sum_of_the_phases():
    data = cli_json("analyze", "gpt2", "--generate", "16,4", "--device", "l4",
                    "--dtype", "float16")
    prefill, decode = data["phases"]
    assert (prefill["name"], decode["name"], decode["steps"]) == ("prefill", "decode", 4)
    for key in ("macs", "flops", "weight_bytes_read", "kv_bytes_read", "kv_bytes_written"):
        assert data["totals"][key] == prefill[key] + decode[key], key
    for key in ("time_to_first_token_s", "time_per_output_token_s", "tokens_per_s",
                "kv_cache_bytes", "weight_bytes"):
        assert data[key] > 0, key
    assert data["fits"] is True and data["bound"] is True
    assert data["tokens_per_s"] == pytest.approx(1 / data["time_per_output_token_s"])


@pytest.mark.slow  # builds and traces a 7B model three times
def test_llama2_7b_tpot_bound_on_h100_by_hand():
    """Decode at 4095 cached, bf16: memory-bound. Bytes = 2 * (6,738,415,616 - 32000*4096 +
    4096) weights + 2 * 2*32*32*128 * (4096 read + 1 written) KV, over 3.35 TB/s."""
    data = cli_json("analyze", "llama2_7b", "--decode", "--context", "4095", "--dtype",
                    "bfloat16", "--device", "h100_sxm")
    weights = 2 * (6_738_415_616 - 32000 * 4096 + 4096)
    kv = 2 * 2 * 32 * 32 * 128 * 4097
    assert data["time_per_output_token_s"] == pytest.approx((weights + kv) / 3.35e12)
    assert data["phase_times"]["decode"]["limit"] == "memory"


@pytest.mark.slow
def test_efficiency_is_labelled_an_estimate():
    text = cli_ok("analyze", "gpt2", "--decode", "--context", "10", "--device", "t4",
                  "--dtype", "float16", "--efficiency", "0.5")
    assert "estimate at efficiency 0.5" in text and "tokens/s" in text


@pytest.mark.parametrize("args,pattern", [
    (["--decode"], "--decode and --context C go together"),
    (["--context", "5"], "--decode and --context C go together"),
    (["--generate", "5"], "--generate takes P,N"),
    (["--generate", "0,3"], "--generate takes P,N"),
    (["--generate", "\u00b2,3"], "--generate takes P,N"),
    (["--decode", "--context", "5", "--generate", "3,3"], "one of them"),
    (["--decode", "--context", "5", "--device", "h200"], "Unknown device"),
    (["--decode", "--context", "5", "--device", "t4", "--dtype", "bfloat16"],
     "lists no bfloat16 peak"),
    (["--decode", "--context", "5", "--efficiency", "0"], "--efficiency must be in"),
    (["--decode", "--context", "5", "--weight-bits", "6"], "--weight-bits must be one of"),
    (["--decode", "--context", "5", "--format", "csv"], "print table, markdown, json"),
    (["--decode", "--context", "5", "--memory"], "--memory does not combine"),
])
def test_bad_llm_options_are_one_line_errors(args, pattern):
    assert_one_line_error(run_cli("analyze", "gpt2", *args), 1, pattern)


def test_not_an_llm_is_one_line_error():
    assert_one_line_error(run_cli("analyze", "v1", "--decode", "--context", "3"), 1,
                          "keras-hub causal LM")


@pytest.mark.slow
def test_symbolic_generate_matches_the_numbers():
    """The generate formula at P = 16, N = 4 equals the traced totals of --generate 16,4."""
    import sympy

    data = cli_json("analyze", "gpt2", "--generate", "16,4", "--symbolic")
    p, n = sympy.symbols("P N")
    formula = sympy.sympify(data["formulas"]["generate"]["macs"], locals={"P": p, "N": n})
    assert formula.subs({p: 16, n: 4}) == data["totals"]["macs"]


# --- --sweep context= / batch= ---------------------------------------------------------------

SINGLE_KEYS = ("time_per_output_token_s", "tokens_per_s", "kv_cache_bytes", "weight_bytes",
               "memory_bytes", "fits", "max_batch_size")
ON_H100 = ("--decode", "--device", "h100_sxm", "--dtype", "bfloat16")


@pytest.mark.slow
def test_context_sweep_points_equal_single_decodes(tmp_path):
    plot = tmp_path / "sweep.png"
    data = cli_json("analyze", "gpt2", *ON_H100, "--context", "4096",
                    "--sweep", "context=0,1023,2047", "--plot", str(plot))
    assert (data["axis"], data["model"], data["device"]["id"]) == ("context", "gpt2",
                                                                   "h100_sxm")
    assert (data["weight_bits"], data["kv_bits"], data["dtype"]) == (16, 16, "bfloat16")
    assert [p["context"] for p in data["points"]] == [0, 1023, 2047]
    for point in data["points"]:
        single = cli_json("analyze", "gpt2", *ON_H100, "--context", str(point["context"]))
        assert {k: point[k] for k in SINGLE_KEYS} == {k: single[k] for k in SINGLE_KEYS}
        assert point["decode_macs_per_token"] == single["totals"]["macs"]
        # by hand: K and V of 12 layers of width 768 per token, 2 bytes each at bf16
        assert point["kv_cache_bytes"] == 2 * LAYERS * D * (point["context"] + 1) * 2
    assert data["points"][1]["decode_macs_per_token"] == (
        LAYERS * (12 * D * D + 2 * 1024 * D) + D * V)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_batch_sweep_points_equal_single_decodes():
    data = cli_json("analyze", "gpt2", *ON_H100, "--context", "1023", "--sweep", "batch=1,8")
    for point, batch in zip(data["points"], (1, 8), strict=True):
        single = cli_json("analyze", "gpt2", *ON_H100, "--context", "1023",
                          "--batch-size", str(batch))
        assert {k: point[k] for k in SINGLE_KEYS} == {k: single[k] for k in SINGLE_KEYS}
        assert point["kv_cache_bytes"] == batch * 2 * LAYERS * D * 1024 * 2
        assert point["tokens_per_s"] == pytest.approx(batch / point["time_per_output_token_s"])


@pytest.mark.slow
def test_sweep_table_and_markdown():
    table = cli_ok("analyze", "gpt2", *ON_H100, "--sweep", "context=10,20")
    markdown = cli_ok("analyze", "gpt2", *ON_H100, "--sweep", "context=10,20", "--format",
                      "markdown")
    assert "decode across context" in table and "tokens/s" in table
    assert "| context | batch |" in markdown and markdown.count("\n| ") == 4


@pytest.mark.parametrize("args,pattern", [
    (["--sweep", "context=1,2"], "sweeps a decode step on a device"),
    (["--decode", "--sweep", "context=1,2"], "sweeps a decode step on a device"),
    ([*ON_H100, "--sweep", "batch=1,2"], "--decode and --context C go together"),
    ([*ON_H100, "--sweep", "depth=1,2"], "runs over context=C,C,... or batch="),
    ([*ON_H100, "--sweep", "context=1,x"], "takes integers >= 0"),
    ([*ON_H100, "--sweep", "context=\u00b2"], "takes integers >= 0"),  # isdigit, not int
    ([*ON_H100, "--context", "5", "--sweep", "batch=0,2"], "takes integers >= 1"),
    ([*ON_H100, "--context", "5", "--sweep", "batch="], "takes integers >= 1"),
    ([*ON_H100, "--context", "5", "--sweep", "batch=2", "--batch-size", "3"],
     "drop --batch-size"),
    ([*ON_H100, "--sweep", "context=1,2", "--symbolic"], "--symbolic with --sweep"),
    ([*ON_H100, "--context", "5", "--plot", "x.png"], "--plot draws a sweep"),
    ([*ON_H100, "--sweep", "context=1", "--plot", "/no/such/dir/x.png"],
     "--plot's directory does not exist"),
    ([*ON_H100, "--sweep", "context=1", "--format", "csv"], "print table, markdown, json"),
    (["--generate", "4,4", "--device", "l4", "--sweep", "context=1"],
     "sweeps a decode step on a device"),
])
def test_bad_llm_sweeps_are_one_line_errors(args, pattern):
    assert_one_line_error(run_cli("analyze", "gpt2", *args), 1, pattern)
