"""Transformers counted matmul by matmul, against hand counts written out here: keras-hub's
GPT-2, BERT, Llama (grouped-query) and Mixtral (mixture of experts) at tiny sizes, full and
causal attention, Kaplan et al.'s per-token relation, and Keras' own attention layers."""

from __future__ import annotations

from fractions import Fraction

import keras
import pytest

import convcost
from convcost.count import keras_internals
from convcost.count.walker import analyze

keras_hub = pytest.importorskip("keras_hub")

L = 16  # tokens


def _shape_only(build):
    with convcost.shape_only():
        return build()


def _gpt2(d: int = 64, layers: int = 2):
    return _shape_only(lambda: keras_hub.models.GPT2Backbone(
        vocabulary_size=100, num_layers=layers, num_heads=4, hidden_dim=d, intermediate_dim=4 * d,
        max_sequence_length=32))


def test_gpt2_by_hand_full_and_causal():
    d, layers = 64, 2
    backbone = _gpt2(d, layers)
    report = analyze(backbone, seq_len=L)
    # per layer: Q, K, V, O 4 L d^2; MLP 2 L d (4d); scores and weighted values 2 L^2 d
    assert report.macs == layers * (12 * L * d * d + 2 * L * L * d)
    causal = analyze(backbone, seq_len=L, attention="causal")
    assert causal.macs == layers * (12 * L * d * d + 2 * d * L * (L + 1) // 2)
    assert report.macs_as("causal") == causal.macs and causal.macs_as("executed") == report.macs
    assert report.params == backbone.count_params() and report.unsupported == {}
    assert all(row.params_match for row in report.layers)  # MHA got query/value, not the mask


def test_gpt2_lm_head_is_the_tied_embedding_used_in_reverse():
    backbone = _gpt2()
    lm = _shape_only(lambda: keras_hub.models.GPT2CausalLM(backbone, preprocessor=None,
                                                           compile=False))
    head = analyze(lm, seq_len=L).macs - analyze(backbone, seq_len=L).macs
    assert head == L * 64 * 100  # positions x d x vocabulary; no params added (tied)
    assert analyze(lm, seq_len=L).params == backbone.count_params()


def test_bert_by_hand_with_pooler():
    d, inner, layers = 64, 128, 2
    backbone = _shape_only(lambda: keras_hub.models.BertBackbone(
        vocabulary_size=100, num_layers=layers, num_heads=4, hidden_dim=d,
        intermediate_dim=inner, max_sequence_length=32))
    report = analyze(backbone, seq_len=L)
    encoder = 4 * L * d * d + 2 * L * d * inner + 2 * L * L * d
    assert report.macs == layers * encoder + d * d  # the pooler: one token, d -> d
    assert report.macs_as("causal") == report.macs  # an encoder: nothing causal
    assert report.params == backbone.count_params()
    assert dict(report.inputs) == {"padding_mask": (L,), "segment_ids": (L,), "token_ids": (L,)}


LLAMA = dict(vocabulary_size=100, num_layers=2, num_query_heads=4, num_key_value_heads=2,
             hidden_dim=64, intermediate_dim=128)


def _llama_hand(length: int, causal: bool = False) -> tuple[int, int]:
    """(weight MACs, attention MACs): Q and O 64 -> 4 heads x 16; K and V (grouped-query)
    64 -> 2 heads x 16; scores and weighted values per query head; a gated MLP of three."""
    d, heads, kv, head_dim, inner, layers = 64, 4, 2, 16, 128, 2
    weights = layers * length * (2 * d * heads * head_dim + 2 * d * kv * head_dim + 3 * d * inner)
    pairs = length * (length + 1) // 2 if causal else length * length
    return weights, layers * 2 * heads * pairs * head_dim


def test_llama_grouped_query_attention_by_hand():
    backbone = _shape_only(lambda: keras_hub.models.LlamaBackbone(**LLAMA))
    report = analyze(backbone, seq_len=L)
    weights, attention = _llama_hand(L)
    kinds = {g.key: g.macs for g in report.groups("kind")}
    assert (kinds["fully_connected"], kinds["attention"]) == (weights, attention)
    assert analyze(backbone, seq_len=L, attention="causal").macs == sum(_llama_hand(L, True))
    assert report.params == backbone.count_params() and report.unsupported == {}
    kinds_of_params = {g.key: g.params for g in report.groups("kind")}
    assert kinds_of_params["embedding"] == 2 * 100 * 64  # untied: lookup + LM-head matrix


def test_kaplan_per_token_relation():
    """Kaplan et al. (2020), Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn FLOPs per token,
    N = non-embedding matmul weights. Executed attention is twice Kaplan's term (it counts one
    of the two products over half the pairs); the causal convention is it times (L+1)/L."""
    backbone = _shape_only(lambda: keras_hub.models.LlamaBackbone(**LLAMA))
    norms = (2 * 2 + 1) * 64
    n = backbone.count_params() - 2 * 100 * 64 - norms  # matmul weights only
    kaplan_attention = 2 * 2 * L * (4 * 16)  # 2 n_layer n_ctx d_attn, d_attn = heads x head_dim
    executed = Fraction(2 * analyze(backbone, seq_len=L).macs, L)
    causal = Fraction(2 * analyze(backbone, seq_len=L, attention="causal").macs, L)
    assert executed == 2 * n + 2 * kaplan_attention
    assert causal == 2 * n + kaplan_attention * Fraction(L + 1, L)


MIXTRAL = dict(vocabulary_size=100, num_layers=2, num_query_heads=4, num_key_value_heads=2,
               hidden_dim=64, intermediate_dim=128, num_experts=4, top_k=2, sliding_window=None)


def test_mixture_of_experts_total_active_routed_and_executed():
    backbone = _shape_only(lambda: keras_hub.models.MixtralBackbone(**MIXTRAL))
    d, inner, experts, k, layers = 64, 128, 4, 2, 2
    expert_params = layers * experts * 3 * d * inner
    attention_part = layers * (2 * L * d * 64 + 2 * L * d * 32 + 2 * 4 * L * L * 16)
    router = layers * L * d * experts

    routed = analyze(backbone, seq_len=L)
    assert routed.params == backbone.count_params()
    assert routed.active_params == routed.params - expert_params + expert_params * k // experts
    assert routed.macs == attention_part + router + layers * 3 * k * L * d * inner
    executed = analyze(backbone, seq_len=L, moe="executed")
    assert executed.macs == attention_part + router + layers * 3 * experts * L * d * inner
    assert routed.macs_as("executed") == executed.macs
    assert any("every expert on every token" in note for note in routed.notes)


def test_mistral_sliding_window_in_the_causal_convention():
    backbone = _shape_only(lambda: keras_hub.models.MistralBackbone(
        vocabulary_size=100, num_layers=1, num_query_heads=4, num_key_value_heads=2,
        hidden_dim=64, intermediate_dim=128, sliding_window=4))
    full = analyze(backbone, seq_len=L)
    causal = analyze(backbone, seq_len=L, attention="causal")
    pairs = 4 * 5 // 2 + (L - 4) * 4  # query i sees min(i + 1, 4) keys
    assert full.macs - causal.macs == 2 * 4 * 16 * (L * L - pairs)


def test_repeated_blocks_are_traced_once(monkeypatch):
    calls = []
    original = keras_internals.compute_output_spec

    def counting(fn, *args, **kwargs):
        calls.append(1)
        return original(fn, *args, **kwargs)

    monkeypatch.setattr(keras_internals, "compute_output_spec", counting)
    backbone = _shape_only(lambda: keras_hub.models.LlamaBackbone(**{**LLAMA, "num_layers": 12}))
    report = analyze(backbone, seq_len=L)
    assert len(calls) == 1  # 12 decoder blocks, one trace
    weights, attention = _llama_hand(L)
    assert report.macs == 6 * (weights + attention)  # 12 layers = 6 x the 2-layer hand count


def test_keras_grouped_query_cross_attention_by_hand():
    """T = 5 queries against S = 7 values (width 16, as Keras requires); head_dim 8 != 16 / 4."""
    gqa = keras.layers.GroupQueryAttention(head_dim=8, num_query_heads=4, num_key_value_heads=2,
                                           name="gqa")
    query, value = keras.Input((5, 16)), keras.Input((7, 16))
    report = analyze(keras.Model([query, value], gqa(query, value)))
    t, s = 5, 7
    # Q: 16 -> 4 x 8; K, V: 16 -> 2 x 8; scores and values per query head; O: 32 -> 16
    hand = t * 16 * 32 + 2 * s * 16 * 16 + 2 * 4 * t * s * 8 + t * 32 * 16
    assert report.macs == hand
    assert report.params == gqa.count_params()


def test_keras_mha_cross_attention_and_causal_mask_by_hand():
    mha = keras.layers.MultiHeadAttention(num_heads=3, key_dim=5, value_dim=7, name="mha")
    query, value, key = keras.Input((4, 10)), keras.Input((6, 12)), keras.Input((6, 9))
    report = analyze(keras.Model([query, value, key], mha(query, value, key)))
    hand = 4 * 10 * 15 + 6 * 9 * 15 + 6 * 12 * 21 + 3 * 4 * 6 * (5 + 7) + 4 * 21 * 10
    assert report.macs == hand and report.params == mha.count_params()

    self_mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="self")
    x = keras.Input((6, 8))
    model = keras.Model(x, self_mha(x, x, use_causal_mask=True))
    core = 2 * 6 * 6 * (4 + 4)
    assert analyze(model).macs - analyze(model, attention="causal").macs == core - core * 21 // 36


def test_gpt2_small_at_1024_tokens_by_hand():
    """GPT-2 small's backbone at L = 1024: 12 x (12 L d^2 + 2 L^2 d), d = 768."""
    from convcost.models import zoo

    with convcost.shape_only():
        backbone = zoo.build("gpt2", include_top=False)
    report = analyze(backbone, seq_len=1024)
    assert report.macs == 12 * (12 * 1024 * 768**2 + 2 * 1024**2 * 768) == 106_300_440_576
    assert report.params == 124_439_808
