"""The --training columns, lines and JSON keys on hand-built reports (no Keras): a conv, a
frozen pointwise conv and a dense layer; every number is written out below."""

from __future__ import annotations

import csv
import io
import json

from convcost import render
from convcost.analysis.training import TrainingFields, training_cost
from convcost.count.report import LayerCost, Piece, Report
from convcost.render import RenderOptions


def _row(path: str, kind: str, macs: int, trainable: int, type_: str = "Conv2D",
         other: int = 0) -> LayerCost:
    return LayerCost(path, path.rsplit("/", 1)[-1], type_, ((4, 4, 8),), (4, 4, 8),
                     (Piece(kind, 10, macs, other),), 10, trainable, 10 - trainable)


# conv (trainable, first: dW only) -> block/pw (frozen: dx only) -> block/fc (trainable: both)
TOY = Report("toy", (4, 4, 8), (_row("conv", "standard", 1_000, 10, other=5),
                                _row("block/pw", "pointwise", 200, 0),
                                _row("block/fc", "fully_connected", 30, 10, type_="Dense")),
             30, backend="tensorflow")
FIELDS = TrainingFields(training_cost(TOY))


def test_json_adds_training_keys_only() -> None:
    plain = json.loads(render.to_json(TOY, RenderOptions(batch_size=4)))
    data = json.loads(render.to_json(TOY, RenderOptions(batch_size=4, training=FIELDS)))
    for key, value in plain.items():  # every existing key keeps its value
        if key in ("layers", "totals", "per_batch"):
            continue
        assert data[key] == value
    assert all(set(p) <= set(d) and {k: d[k] for k in p} == p
               for p, d in zip(plain["layers"], data["layers"]))
    assert [layer["training"]["input_grad_macs"] for layer in data["layers"]] == [0, 200, 30]
    assert [layer["training"]["weight_grad_macs"] for layer in data["layers"]] == [1_000, 0, 30]
    # 1,230 forward + 230 input gradients + 1,030 weight gradients
    assert data["totals"]["training_macs"] == 2_490
    # other FLOPs: the conv's 5, once forward and once backward
    assert data["totals"]["training_flops"] == 2 * 2_490 + 2 * 5
    assert data["per_batch"]["training_macs"] == 4 * 2_490


def test_table_columns_and_lines() -> None:
    text = render.to_table(TOY, RenderOptions(width=160, training=FIELDS))
    assert "grads" in text and "dx MACs" in text and "train MACs" in text
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["conv"][-4:] == ["dW", "0", "1,000", "2,000"]
    assert lines["block/pw"][-4:] == ["dx", "200", "0", "400"]
    assert lines["total"][-3:] == ["230", "1,030", "2,490"]
    assert ("training per sample: 1,230 forward + 230 input-gradient + 1,030 "
            "weight-gradient = 2,490 MACs (2.024× forward)") in text
    assert "no weight gradient for block/pw (frozen or no weights)" in text


def test_depth_folds_training_fields() -> None:
    data = json.loads(render.to_json(TOY, RenderOptions(depth=0, training=FIELDS)))
    block = data["layers"][1]["training"]
    assert (block["input_grad_macs"], block["weight_grad_macs"], block["trainable"]) == (
        230, 30, True)


def test_csv_columns() -> None:
    text = render.to_csv(TOY, RenderOptions(training=FIELDS))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["trainable"], r["needs_input_grad"], r["training_macs"]) for r in rows] == [
        ("true", "false", "2000"), ("false", "true", "400"), ("true", "true", "90")]
