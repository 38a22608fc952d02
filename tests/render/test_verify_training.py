"""``verify --training`` rendered from a hand-made check: the JSON keys and values, the notes."""

from __future__ import annotations

import json

import pytest

from convcost.analysis.verify_training import RoleCheck, TrainingCheck
from convcost.errors import ConvcostError
from convcost.render import RenderOptions
from convcost.render.verify_training import render, training_check_dict

DW_INPUT = "DepthwiseConv2dNativeBackpropInput"
CHECK = TrainingCheck("toy", {"forward": RoleCheck(1_000, 1_000, 1_000.0, ("Conv2D",)),
                              "dx": RoleCheck(200, 200, 0.0, (DW_INPUT,)),
                              "dW": RoleCheck(30, 30, 30.0, ("MatMul",))}, (DW_INPUT,), ())


def test_json_is_the_check_as_plain_data() -> None:
    data = json.loads(render(CHECK, "json"))
    assert data == training_check_dict(CHECK)
    assert list(data) == ["model", "agree", "roles", "profiler_uncounted_ops", "hidden_ops"]
    assert data["agree"] is True
    assert data["roles"]["dx"] == {"convcost": 200, "ops": 200, "profiler": 0.0,
                                   "op_types": [DW_INPUT]}
    assert data["profiler_uncounted_ops"] == [DW_INPUT] and data["hidden_ops"] == []


def test_table_shows_every_count_and_what_the_profiler_misses() -> None:
    text = render(CHECK, "table", RenderOptions(width=120))
    assert "toy: training MACs per sample" in text
    assert "1,000" in text and "200" in text and "30" in text
    assert f"The profiler has no statistic for: {DW_INPUT} (counted 0)." in text
    assert "Not entered" not in text  # nothing hidden


def test_csv_is_refused() -> None:
    with pytest.raises(ConvcostError, match="Unknown format"):
        render(CHECK, "csv")
