"""``convcost predict`` on a profile fitted to a known formula (tests.conftest): JSON fields,
totals, speed-ups, formats, and the one-line errors of a missing or broken profile."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import assert_one_line_error, cli_json, cli_ok, run_cli


@pytest.fixture(scope="module")
def article(synthetic_profile):
    return cli_json("predict", "naive", "v1", "v2", "--profile", str(synthetic_profile))


def test_json_gives_predicted_ms_per_model_and_per_row(article):
    analyzed = cli_json("analyze", "v1")
    v1 = article["models"][1]
    assert v1["model"] == "v1" and len(v1["rows"]) == len(analyzed["layers"])
    assert [r["path"] for r in v1["rows"]] == [r["path"] for r in analyzed["layers"]]
    for model in article["models"]:
        total = model["fixed_ms"] + sum(row["predicted_ms"] for row in model["rows"])
        assert model["predicted_ms"] == pytest.approx(total)
        assert model["measured_ms"] is None and model["error"] is None
    assert article["runtime"] == "litert" and article["batch_size"] == 1


def test_speedups_are_relative_to_the_first_model(article):
    naive, v1, v2 = article["models"]
    assert naive["predicted_speedup"] == 1.0
    assert v1["predicted_speedup"] == pytest.approx(naive["predicted_ms"] / v1["predicted_ms"])
    macs = {m["model"]: cli_json("analyze", m["model"])["totals"]["macs"]
            for m in article["models"]}
    assert v2["mac_ratio"] == pytest.approx(macs["naive"] / macs["v2"])


def test_flagged_rows_carry_their_reasons(article):
    for model in article["models"]:
        flagged = [row for row in model["rows"] if row["flags"]]
        assert model["flagged_rows"] == len(flagged)
        assert all(isinstance(reason, str) and reason for r in flagged for reason in r["flags"])


def test_table_csv_and_markdown(synthetic_profile):
    table = cli_ok("predict", "v1", "--profile", str(synthetic_profile))
    assert "predicted ms" in table and "v1" in table
    text = cli_ok("predict", "v1", "--profile", str(synthetic_profile), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["path"] == "(total)"
    assert float(rows[-1]["predicted_ms"]) > sum(float(r["predicted_ms"]) for r in rows[:-1])
    markdown = cli_ok("predict", "v1", "v2", "--profile", str(synthetic_profile), "--format",
                      "markdown")
    assert markdown.count("\n| v") == 2


def test_missing_profile_says_which_calibrate_to_run(tmp_path):
    result = run_cli("predict", "v1", "--threads", "2", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert_one_line_error(result, 1, r"run 'convcost calibrate --runtime litert --threads 2 "
                                     r"--batch-size 1'")


def test_a_profile_of_another_setting_is_refused(synthetic_profile):
    result = run_cli("predict", "v1", "--profile", str(synthetic_profile), "--batch-size", "4")
    assert_one_line_error(result, 1, r"is for runtime litert, 1 thread\(s\), batch 1; run "
                                     r"'convcost calibrate --runtime litert --threads 1 "
                                     r"--batch-size 4'")


def test_a_float_profile_does_not_predict_int8(synthetic_profile):
    result = run_cli("predict", "v1", "--runtime", "litert-int8", "--profile",
                     str(synthetic_profile))
    assert_one_line_error(result, 1, r"is for runtime litert, .*run 'convcost calibrate "
                                     r"--runtime litert-int8 --threads 1 --batch-size 1'")


def test_a_corrupt_profile_is_one_line(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("[1, 2")
    assert_one_line_error(run_cli("predict", "v1", "--profile", str(bad)), 1,
                          r"latency profile is not valid JSON")


def test_compare_predict_puts_predicted_speedups_beside_the_mac_ratio(synthetic_profile, article):
    data = cli_json("compare", "naive", "v1", "v2", "--predict", "--profile",
                    str(synthetic_profile))
    predicted = data["predicted"]["models"]
    assert [m["model"] for m in predicted] == ["naive", "v1", "v2"]
    for mine, alone in zip(predicted, article["models"]):
        assert mine["predicted_ms"] == pytest.approx(alone["predicted_ms"])
        assert mine["mac_ratio"] == pytest.approx(alone["mac_ratio"])
    table = cli_ok("compare", "naive", "v1", "--predict", "--profile", str(synthetic_profile))
    assert "predicted ms" in table and "MAC ratio" in table


def test_the_python_api_returns_the_same_data(synthetic_profile, article):
    import convcost

    data = convcost.predict(["naive", "v1", "v2"], profile=str(synthetic_profile))
    assert [m["predicted_ms"] for m in data["models"]] == pytest.approx(
        [m["predicted_ms"] for m in article["models"]])
    with pytest.raises(convcost.ConvcostError, match="run 'convcost calibrate --runtime tf"):
        convcost.predict("v1", runtime="tf", profile=str(synthetic_profile.parent / "no.json"))


def test_weights_beyond_the_cache_are_a_note_in_every_format(synthetic_profile, tmp_path):
    import dataclasses

    from convcost.analysis import latency

    command = "convcost calibrate --runtime litert --threads 1 --batch-size 1"
    profile = latency.load(synthetic_profile, command=command)
    overflow = latency.CacheOverflow(1 << 19, 1e-10, 4, 1 << 18, 1e-5, 1 << 21, 1e-4)
    path = latency.save(dataclasses.replace(profile, overflow=overflow), tmp_path / "o.json")
    # naive: 259,082 weights, 1.04 MB in float32, at 0.1 ns a byte
    note = ("naive: its weights (1.0 MB) exceed the 0.5 MiB cache: 0.104 ms of the prediction "
            "reads them from memory")
    data = cli_json("predict", "naive", "v1", "--profile", str(path))
    assert [m["notes"] for m in data["models"]] == [[note.split(": ", 1)[1]], []]  # v1 fits
    plain = cli_json("predict", "naive", "--profile", str(synthetic_profile))["models"][0]
    assert data["models"][0]["predicted_ms"] - plain["predicted_ms"] == pytest.approx(
        259_082 * 4 * 1e-10 * 1e3)
    assert note in cli_ok("predict", "naive", "--profile", str(path))
    assert f"- {note}" in cli_ok("predict", "naive", "--profile", str(path), "--format",
                                 "markdown")
