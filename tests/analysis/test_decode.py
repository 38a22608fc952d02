"""LLM decode and prefill traced from keras-hub's cached call, against hand calculations.

Expected numbers come from the published configurations (layers, heads, head size, widths) and
the published parameter counts, by hand, never from convcost."""

from __future__ import annotations

import pytest

from convcost.analysis import decode as dec
from convcost.errors import ConvcostError

pytest.importorskip("keras_hub")

GPT2_D, GPT2_V, GPT2_LAYERS = 768, 50257, 12


@pytest.fixture(scope="module")
def causal_lm():
    """keras-hub models built shape-only, once per module: causal_lm('gpt2')."""
    from convcost.count.scope import shape_only
    from convcost.models import hub

    built: dict[str, object] = {}

    def get(name: str):
        if name not in built:
            with shape_only():
                built[name] = hub.build(name)
        return built[name]

    return get


@pytest.fixture(scope="module")
def layout_of(causal_lm):
    """Each model's cache layout, once per module: layout_of('gpt2')."""
    found: dict[str, dec.CacheLayout] = {}

    def get(name: str) -> dec.CacheLayout:
        if name not in found:
            found[name] = dec.cache_layout(causal_lm(name))
        return found[name]

    return get


@pytest.fixture(scope="module")
def tiny_mistral():
    """A 2-block Mistral with a sliding window of 4 (d 32, 4 query heads, 2 K/V heads)."""
    import keras_hub

    backbone = keras_hub.models.MistralBackbone(
        vocabulary_size=64, num_layers=2, num_query_heads=4, num_key_value_heads=2,
        hidden_dim=32, intermediate_dim=64, sliding_window=4)
    return keras_hub.models.MistralCausalLM(backbone=backbone, preprocessor=None)


# --- KV cache -------------------------------------------------------------------------------


@pytest.mark.slow  # a 7B trace (about 10 s on a quiet machine)
@pytest.mark.parametrize("tokens", [1, 512, 4096, 32768])
@pytest.mark.parametrize("bits", [16, 8, 4])
def test_kv_cache_llama2_7b_mha(layout_of, tokens, bits):
    """MHA: K and V, 32 layers, 32 heads of 128: 2*32*32*128 elements per token."""
    layout = layout_of("llama2_7b")
    assert layout.elements_per_token == 2 * 32 * 32 * 128
    expected = 2 * 32 * 32 * 128 * tokens * bits / 8
    assert layout.bytes(tokens, dec.Precision(kv_bits=bits)) == expected


@pytest.mark.slow  # a 70B trace: about 10 s on a quiet machine
@pytest.mark.parametrize("tokens,bits,batch", [(4096, 16, 1), (4096, 8, 8), (1024, 4, 3)])
def test_kv_cache_llama2_70b_gqa(layout_of, tokens, bits, batch):
    """GQA: 80 layers, 8 K/V heads (not the 64 query heads) of 128. At 4096 tokens, 16 bits:
    1.34 GB per sequence (the often-quoted 10.7 GB is the 64-head MHA mistake)."""
    layout = layout_of("llama2_70b")
    assert layout.elements_per_token == 2 * 80 * 8 * 128
    assert layout.bytes(tokens, dec.Precision(kv_bits=bits), batch) == (
        batch * 2 * 80 * 8 * 128 * tokens * bits / 8)


@pytest.mark.slow  # a 2.5B trace
def test_kv_cache_gemma_2b_mqa(layout_of):
    """MQA: 18 layers, one K/V head of 256 (8 query heads)."""
    assert layout_of("gemma_2b").elements_per_token == 2 * 18 * 1 * 256


def test_kv_cache_sliding_window_keeps_the_window(tiny_mistral):
    layout = dec.cache_layout(tiny_mistral)
    assert layout.window == 4
    assert layout.elements_per_token == 2 * 2 * 2 * 8  # K and V, 2 layers, 2 heads of 8
    assert layout.tokens_kept(3) == 3 and layout.tokens_kept(100) == 4


# --- decode ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_gpt2_decode_macs_at_1023(causal_lm, layout_of):
    """One token against 1024 keys: per block 12*d^2 (QKV, output, MLP 4d) + 2*1024*d
    (scores and context), and the tied LM head d*V."""
    d = GPT2_D
    phase = dec.decode(causal_lm("gpt2"), layout_of("gpt2"), 1023)
    assert phase.keys == 1024
    assert phase.total("macs") == GPT2_LAYERS * (12 * d * d + 2 * 1024 * d) + d * GPT2_V
    block = sum(r.macs for r in phase.rows if r.path.startswith("transformer_layer_3/")
                or r.path == "transformer_layer_3")
    assert block == 12 * d * d + 2 * 1024 * d


@pytest.mark.slow
def test_gpt2_decode_kv_traffic(causal_lm, layout_of):
    """Reads K and V of 1024 tokens in every layer, writes those of the new one."""
    phase = dec.decode(causal_lm("gpt2"), layout_of("gpt2"), 1023)
    assert phase.total("kv_read") == 2 * GPT2_LAYERS * GPT2_D * 1024
    assert phase.total("kv_written") == 2 * GPT2_LAYERS * GPT2_D


@pytest.mark.slow  # a 7B trace
def test_llama2_7b_weights_read_per_token(causal_lm, layout_of):
    """Every weight but the input embedding table, of which one row: 6,738,415,616 published
    params - 32000*4096 + 4096."""
    phase = dec.decode(causal_lm("llama2_7b"), layout_of("llama2_7b"), 100)
    assert phase.total("weights_read") == 6_738_415_616 - 32000 * 4096 + 4096


@pytest.mark.slow  # a 47B MoE trace
def test_mixtral_active_weight_bytes_per_token(causal_lm):
    """Mixtral 8x7B: 12,879,925,248 active params (published: 2 of 8 experts), less the
    embedding table but one row; resident: all 46,702,792,704."""
    from convcost.analysis import inference

    lm = causal_lm("mixtral_8x7b")
    layout = dec.cache_layout(lm)
    phase = dec.decode(lm, layout, 10)
    active = 12_879_925_248 - 32000 * 4096 + 4096
    for bits in (16, 8, 4):
        precision = dec.Precision(weight_bits=bits)
        assert precision.weight_bytes(phase.total("weights_read")) == active * bits / 8
        need = inference.memory(int(lm.count_params()), layout, phase, tokens=11, batch=1,
                                precision=precision)
        assert need.weight_bytes == 46_702_792_704 * bits / 8


def test_window_caps_the_keys(tiny_mistral):
    layout = dec.cache_layout(tiny_mistral)
    assert dec.decode(tiny_mistral, layout, 2).keys == 3
    assert dec.decode(tiny_mistral, layout, 50).keys == 4
    assert (dec.decode(tiny_mistral, layout, 50).total("macs")
            == dec.decode(tiny_mistral, layout, 3).total("macs"))


# --- generate -------------------------------------------------------------------------------


@pytest.mark.parametrize("model,prompt,steps", [pytest.param("gpt2", 8, 5, marks=pytest.mark.slow),
                                                ("tiny_mistral", 2, 6)])
def test_decode_steps_equal_the_sum_of_single_steps(causal_lm, tiny_mistral, model, prompt,
                                                    steps):
    """The summed phase equals the steps traced one by one (the window crossed mid-way)."""
    lm = tiny_mistral if model == "tiny_mistral" else causal_lm(model)
    layout = dec.cache_layout(lm)
    summed = dec.decode_steps(lm, layout, prompt, steps)
    singles = [dec.decode(lm, layout, prompt + t) for t in range(steps)]
    for name in ("macs", "flops", "weights_read", "kv_read", "kv_written"):
        assert summed.total(name) == sum(s.total(name) for s in singles), name
    assert summed.steps == steps


@pytest.mark.slow
def test_prefill_is_the_forward_pass(causal_lm, layout_of):
    """Prefill of P tokens costs what the forward count of the model at L = P costs."""
    from convcost.count.walker import analyze

    lm = causal_lm("gpt2")
    phase = dec.prefill(lm, layout_of("gpt2"), 64, "executed")
    assert phase.total("macs") == analyze(lm, seq_len=64).macs


def test_not_a_causal_lm(causal_lm):
    with pytest.raises(ConvcostError, match="keras-hub causal LM"):
        dec.causal_lm_of(causal_lm("gpt2").backbone)


@pytest.mark.parametrize("weight_bits,kv_bits", [(3, 16), (16, 2)])
def test_bits_are_checked(weight_bits, kv_bits):
    with pytest.raises(ConvcostError, match="must be one of"):
        dec.Precision(weight_bits, kv_bits)


# --- formulas -------------------------------------------------------------------------------


def test_gpt2_formulas_by_hand(causal_lm, layout_of):
    """Decode: per block 12 d^2 + 2 d (C + 1), head d V. Prefill executed: per block
    12 d^2 P + 2 d P^2, head d V P. Generate: prefill + the decode line summed over N steps."""
    from convcost.analysis import decode_symbolic as sym

    d, v, layers = GPT2_D, GPT2_V, GPT2_LAYERS
    c, p, n = sym.C, sym.P, sym.N
    found = sym.formulas(causal_lm("gpt2"), layout_of("gpt2"), "executed")
    decode = layers * (12 * d * d + 2 * d * (c + 1)) + d * v
    prefill = layers * (12 * d * d * p + 2 * d * p * p) + d * v * p
    steps = n * (layers * 12 * d * d + d * v) + layers * 2 * d * (n * (p + 1) + n * (n - 1) / 2)
    assert (found["decode"]["macs"] - decode).expand() == 0
    assert (found["prefill"]["macs"] - prefill).expand() == 0
    assert (found["generate"]["macs"] - prefill - steps).expand() == 0
    assert (found["decode"]["kv_read"] - 2 * layers * d * (c + 1)).expand() == 0


def test_formulas_refuse_a_window(tiny_mistral):
    from convcost.analysis import decode_symbolic as sym

    with pytest.raises(ConvcostError, match="sliding window"):
        sym.formulas(tiny_mistral, dec.cache_layout(tiny_mistral), "executed")


# --- decode at several contexts (the sweep) -------------------------------------------------


@pytest.mark.slow
def test_decode_at_equals_direct_traces_gpt2(causal_lm, layout_of):
    """The affine form from three traces gives, at every context, the rows of a direct trace."""
    lm, layout = causal_lm("gpt2"), layout_of("gpt2")
    contexts = [0, 100, 511, 1023]
    for context, phase in zip(contexts, dec.decode_at(lm, layout, contexts), strict=True):
        assert phase == dec.decode(lm, layout, context), context
    assert dec.decode_at(lm, layout, [1023])[0].total("macs") == (
        GPT2_LAYERS * (12 * GPT2_D**2 + 2 * 1024 * GPT2_D) + GPT2_D * GPT2_V)


@pytest.mark.slow
def test_decode_at_across_a_sliding_window(tiny_mistral):
    layout = dec.cache_layout(tiny_mistral)
    contexts = [0, 1, 2, 3, 9, 50]
    found = dec.decode_at(tiny_mistral, layout, contexts)
    assert [phase.keys for phase in found] == [1, 2, 3, 4, 4, 4]
    for context, phase in zip(contexts, found, strict=True):
        assert phase == dec.decode(tiny_mistral, layout, context), context
