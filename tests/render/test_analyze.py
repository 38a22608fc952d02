"""Renderers on hand-built reports: units, folding, the JSON contract, CSV, Markdown, table.

Reports here are built by hand (no Keras), so every expected number is written out below.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys

import pytest

from convcost import render
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError
from convcost.render import RenderOptions
from convcost.render.units import bar


def row(path: str, params: int = 0, macs: int = 0, *, kind: str = "standard", other: int = 0,
        keras_params: int | None = None, supported: bool = True, type_: str = "Conv2D",
        shape: tuple[int, ...] = (4, 4, 8)) -> LayerCost:
    pieces = (Piece(kind, params, macs, other),) if supported else ()
    keras = params if keras_params is None else keras_params
    return LayerCost(path=path, name=path.rsplit("/", 1)[-1], type=type_,
                     input_shapes=((4, 4, 8),), output_shape=shape, pieces=pieces,
                     keras_params=keras, trainable_params=keras, non_trainable_params=0,
                     supported=supported)


def report(*rows: LayerCost, keras_count: int | None = None) -> Report:
    total = sum(r.params for r in rows) if keras_count is None else keras_count
    return Report("toy", (4, 4, 3), tuple(rows), total, backend="tensorflow")


# A small model: conv 3x3 (3->8 ch, 4x4 out): 3*3*3*8 + 8 = 224 params, 3*3*3*8*16 = 3,456 MACs;
# pointwise 8->8: 8*8 + 8 = 72 params, 8*8*16 = 1,024 MACs; BN: 4*8 = 32 params, 2*128 flops.
TOY = report(row("conv", 224, 3456, other=128), row("pw", 72, 1024, kind="pointwise"),
             row("bn", 32, 0, kind="other", other=256, type_="BatchNormalization"))


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (999, "999"), (1000, "1.00 K"), (259_082, "259.08 K"),
    (25_362_816, "25.36 M"), (4_250_000_000, "4.25 G"),
])
def test_human_units(value: int, text: str) -> None:
    assert render.human(value) == text


@pytest.mark.parametrize(("share", "text"), [(0.0, ""), (1.0, "█" * 8), (0.5, "████"),
                                             (1 / 64, "▏")])
def test_bar_is_eighths_of_the_width(share: float, text: str) -> None:
    assert bar(share) == text


def test_totals_are_exact_integers_in_json() -> None:
    data = json.loads(render.to_json(TOY))
    assert data["schema_version"] == 1
    assert data["totals"] == {"params": 328, "trainable_params": 328, "non_trainable_params": 0,
                              "macs": 4480, "flops": 2 * 4480 + 384, "other_flops": 384}
    assert data["check"] == {"keras_count_params": 328, "counted_params": 328, "match": True,
                             "mismatched_layers": []}
    assert [x["path"] for x in data["layers"]] == ["conv", "pw", "bn"]
    assert set(data["layers"][0]) >= {"name", "path", "type", "output_shape", "params", "macs",
                                      "flops", "supported"}
    assert data["unsupported"] == [] and "groups" not in data


def test_json_batch_and_groups() -> None:
    data = json.loads(render.to_json(TOY, RenderOptions(group_by="kind", batch_size=32)))
    assert data["per_batch"] == {"macs": 32 * 4480, "flops": 32 * 9344, "other_flops": 32 * 384}
    groups = {g["kind"]: g for g in data["groups"]}
    assert groups["standard"]["params"] == 224 and groups["pointwise"]["macs"] == 1024
    assert groups["standard"]["macs_share"] == pytest.approx(3456 / 4480)
    assert groups["other"]["params_share"] == pytest.approx(32 / 328)
    assert sum(g["params"] for g in data["groups"]) == 328


# body is called twice; the second time right after the first, then once more after head.
NESTED = report(row("stem", 10, 100), row("body/a", 20, 200), row("body/inner/b", 30, 300),
                row("body/inner/c", 40, 400), row("body/a", 0, 200), row("body/inner/b", 0, 300),
                row("body/inner/c", 0, 400), row("head", 50, 500), row("body/a", 0, 200),
                row("body/inner/b", 0, 300))


@pytest.mark.parametrize(("depth", "paths", "folded"), [
    (None, [x.path for x in NESTED.layers], [0] * 10),
    (0, ["stem", "body", "body", "head", "body"], [0, 3, 3, 0, 2]),
    (1, ["stem", "body/a", "body/inner", "body/a", "body/inner", "head", "body/a", "body/inner"],
     [0, 0, 2, 0, 2, 0, 0, 1]),
    (2, [x.path for x in NESTED.layers], [0] * 10),
])
def test_depth_folds_rows_and_keeps_totals(depth, paths, folded) -> None:
    shown = render.rows(NESTED, depth)
    assert [r.path for r in shown] == paths
    assert [r.folded for r in shown] == folded
    assert sum(r.params for r in shown) == 150 and sum(r.macs for r in shown) == 2900


# keras-hub style blocks: each block has a row of its own arithmetic (costed from ops) at the
# block's path, then its sub-layers' rows below it.
OWN = dataclasses.replace(row("blk_0", 0, 0, kind="other", other=64, type_="Decoder"),
                          from_ops=True)
BLOCKS = report(row("emb", 100, 0, kind="embedding", type_="Embedding"),
                OWN, row("blk_0/attn", 20, 200), row("blk_0/ffn", 30, 300),
                dataclasses.replace(OWN, path="blk_1", name="blk_1"),
                row("blk_1/attn", 20, 200), row("blk_1/ffn", 30, 300),
                row("norm", 4, 0, kind="other", type_="LayerNormalization"))


def test_a_block_folds_with_its_own_row_into_one_row() -> None:
    shown = render.rows(BLOCKS, 0)
    assert [(r.path, r.type, r.folded) for r in shown] == [
        ("emb", "Embedding", 0), ("blk_0", "folded", 3), ("blk_1", "folded", 3),
        ("norm", "LayerNormalization", 0)]
    assert [(r.params, r.macs, r.other_flops) for r in shown[1:3]] == [(50, 500, 64)] * 2
    assert sum(r.params for r in shown) == 100 + 2 * 50 + 4
    assert sum(r.macs for r in shown) == 1000 and sum(r.flops for r in shown) == 2128
    assert [r.from_ops for r in shown] == [False, True, True, False]


def test_a_block_row_stays_a_row_when_folding_below_it() -> None:
    shown = render.rows(BLOCKS, 1)
    assert [r.path for r in shown] == [x.path for x in BLOCKS.layers]
    assert all(r.folded == 0 for r in shown)


def test_rows_costed_from_ops_are_marked_with_a_legend() -> None:
    table = render.to_table(BLOCKS)
    assert "Decoder †" in table and "Embedding †" not in table
    assert ("† no cost rule (for the layer, or a call folded into its row): costed from its "
            "traced TensorFlow ops") in table
    assert "3 layers †" in render.to_table(BLOCKS, RenderOptions(depth=0))
    assert "† no cost rule" in render.to_markdown(BLOCKS)
    narrow = render.to_table(BLOCKS, RenderOptions(width=30))  # no type column: on the path
    assert " type " not in narrow and "blk_0 †" in narrow
    plain = render.to_table(TOY) + render.to_markdown(TOY)
    assert "†" not in plain
    layers = json.loads(render.to_json(BLOCKS))["layers"]
    assert [x["from_ops"] for x in layers] == [False, True, False, False, True, False, False,
                                               False]


def test_group_by_kind_lists_only_kinds_with_rows() -> None:
    options = RenderOptions(group_by="kind")
    used = ["standard", "pointwise", "other"]  # TOY's kinds, in the order of KINDS
    data = json.loads(render.to_json(TOY, options))
    assert [g["kind"] for g in data["groups"]] == used
    csv_kinds = [x["kind"] for x in csv.DictReader(io.StringIO(render.to_csv(TOY, options)))]
    assert csv_kinds == used
    for text in (render.to_table(TOY, options), render.to_markdown(TOY, options)):
        for kind in ("depthwise", "fully_connected", "attention", "recurrent", "embedding"):
            assert kind not in text
        assert all(kind in text for kind in used)


def test_depth_rejects_negative() -> None:
    with pytest.raises(ConvcostError, match="Received: -1"):
        render.rows(NESTED, -1)


def test_csv_rows_are_exact_and_add_up() -> None:
    lines = list(csv.DictReader(io.StringIO(render.to_csv(TOY))))
    assert [x["path"] for x in lines] == ["conv", "pw", "bn"]
    assert sum(int(x["params"]) for x in lines) == 328
    assert sum(int(x["macs"]) for x in lines) == 4480
    assert lines[0]["output_shape"] == "4x4x8"


def test_csv_groups() -> None:
    lines = list(csv.DictReader(io.StringIO(render.to_csv(TOY, RenderOptions(group_by="type")))))
    assert {x["type"]: int(x["params"]) for x in lines} == {"Conv2D": 296,
                                                          "BatchNormalization": 32}


def test_mismatch_names_the_layers() -> None:
    bad = report(row("conv", 224, 3456, keras_params=230), row("pw", 72, 1024), keras_count=302)
    text = render.to_table(bad)
    assert "MISMATCH" in text and "conv (counted 224, Keras 230)" in text
    assert "**params MISMATCH" in render.to_markdown(bad)


def test_unsupported_layers_are_listed_not_zero() -> None:
    odd = report(row("conv", 224, 3456), row("mine", 0, 0, keras_params=99, supported=False,
                                             type_="MyLayer"))
    data = json.loads(render.to_json(odd))
    assert data["unsupported"] == ["MyLayer"] and data["unsupported_counts"] == {"MyLayer": 1}
    assert data["totals"]["params"] == 224 + 99  # Keras' count stands in for the rule's
    table = render.to_table(odd)
    assert "unsupported layers" in table and "MyLayer × 1: no cost rule" in table
    assert "> - MyLayer × 1" in render.to_markdown(odd)


def test_table_fits_width_and_has_no_color_codes() -> None:
    text = render.to_table(TOY, RenderOptions(width=60, flops=True))
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "\x1b[" not in text
    assert "\x1b[" in render.to_table(TOY, RenderOptions(color=True))


def test_markdown_total_row() -> None:
    lines = render.to_markdown(TOY).splitlines()
    assert "| **total** |  |  | **328** | **4,480** | **100.0%** |" in lines


@pytest.mark.parametrize(("fmt", "options", "message"), [
    ("xml", RenderOptions(), "Unknown format.*Received: 'xml'"),
    ("json", RenderOptions(group_by="colour"), "Unknown group-by.*Received: 'colour'"),
])
def test_render_rejects_unknown_choices(fmt, options, message) -> None:
    with pytest.raises(ConvcostError, match=message):
        render.render(TOY, fmt, options)


def test_render_imports_no_keras() -> None:
    code = ("import sys, convcost.render.analyze; "
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
