"""Folded rows of a real keras-hub backbone: one row per transformer block at depth 0.

Params by hand for GPT-2 blocks of width d = 8, FFN 16: q, k, v, o projections 4·(8·8 + 8) =
288, two layer norms 2·2·8 = 32, FFN (8·16 + 16) + (16·8 + 8) = 280: 600 per block. MACs at 4
tokens: projections 4·4·8·8 = 1,024, scores and weighted values 2·4·4·8 = 256 (every score
as executed), FFN 2·4·8·16 = 1,024: 2,304 per block.
"""

from __future__ import annotations

import pytest

import convcost
from convcost.count.walker import analyze
from convcost.render.rows import rows

keras_hub = pytest.importorskip("keras_hub")


@pytest.fixture(scope="module")
def gpt2():
    with convcost.shape_only():
        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16,
            max_sequence_length=32)
    return backbone, analyze(backbone, seq_len=4)


def test_each_block_is_one_folded_row(gpt2) -> None:
    backbone, report = gpt2
    shown = rows(report, 0)
    names = [r.path for r in shown]
    assert len(names) == len(set(names))  # no two rows of one name
    blocks = [r for r in shown if r.path.startswith("transformer_layer_")]
    assert [r.path for r in blocks] == ["transformer_layer_0", "transformer_layer_1"]
    assert all(r.type == "folded" for r in blocks)
    assert [(r.params, r.macs) for r in blocks] == [(600, 2304)] * 2
    assert [r.from_ops for r in blocks] == [True, True]  # the block's own residual adds
    assert sum(r.params for r in shown) == backbone.count_params() == report.params
    assert sum(r.macs for r in shown) == report.macs
    assert sum(r.other_flops for r in shown) == report.other_flops


def test_rule_counted_rows_are_not_marked(gpt2) -> None:
    _, report = gpt2
    dense = [r for r in report.layers if r.type in ("EinsumDense", "Dense")]
    assert dense and not any(r.from_ops for r in dense)
    embeddings = [r for r in report.layers if r.type == "ReversibleEmbedding"]
    assert embeddings and not any(r.from_ops for r in embeddings)
