"""keras-hub's leaf layers: RMS norms, rotary and position embeddings, by hand and by Keras'
own parameter counts (the Mixtral MoE block is in test_transformers.py)."""

from __future__ import annotations

import pytest

import convcost
from convcost.count.walker import analyze

keras_hub = pytest.importorskip("keras_hub")


def test_llama_norms_and_rotary_embeddings_by_hand():
    with convcost.shape_only():
        backbone = keras_hub.models.LlamaBackbone(
            vocabulary_size=100, num_layers=1, num_query_heads=4, num_key_value_heads=2,
            hidden_dim=64, intermediate_dim=128)
    length = 16
    report = analyze(backbone, seq_len=length)
    norms = [row for row in report.layers if row.type == "LlamaLayerNorm"]
    assert [(row.params, row.other_flops) for row in norms] == [(64, 4 * length * 64)] * 3
    rotary = [row.other_flops for row in report.layers if row.type == "LlamaRotaryEmbedding"]
    assert rotary == [7 * length * 64 // 2, 7 * length * 32 // 2]  # on q (4 heads), k (2)
    assert all(row.params_match for row in report.layers) and report.unsupported == {}


def test_gpt2_position_embedding_is_an_embedding():
    with convcost.shape_only():
        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
            max_sequence_length=32)
    row = next(r for r in analyze(backbone, seq_len=4).layers if r.type == "PositionEmbedding")
    assert (row.kind, row.params, row.keras_params, row.macs) == ("embedding", 256, 256, 0)
