"""keras-hub's layers: RMS norms, rotary and position embeddings, Mixtral's mixture of experts,
and which sub-layer of each decoder block is causal self-attention.

keras-hub is optional and slow to import, so these rules are registered by :func:`register`,
which the walker calls before every analysis: once keras-hub has been imported (a keras-hub
model exists only then) the classes are looked up (``keras_internals.hub_class``)
and their rules registered; otherwise nothing happens. Composite keras-hub layers (transformer
blocks, attention layers that compute their scores with ``ops.einsum``) need no rule: the
walker traces them, costs their sub-layers by rule and their own arithmetic from its ops.
"""

from __future__ import annotations

from typing import Any

from convcost.count import formulas as f
from convcost.count.keras_internals import hub_class
from convcost.count.report import Piece, Variant
from convcost.count.rules.base import (
    Call,
    elements,
    other,
    register_causal,
    register_rule,
)

_RMS_NORMS = (("models.llama.llama_layernorm", "LlamaLayerNorm"),
              ("models.mistral.mistral_layer_norm", "MistralLayerNormalization"),
              ("models.mixtral.mixtral_layer_norm", "MixtralLayerNormalization"),
              ("models.gemma.rms_normalization", "RMSNormalization"),
              ("layers.modeling.rms_normalization", "RMSNormalization"))

_registered = False


def register() -> None:
    """Register the keras-hub rules if keras-hub is imported (idempotent, cheap otherwise)."""
    global _registered
    if _registered or hub_class("layers.modeling.position_embedding", "PositionEmbedding") is None:
        return
    _registered = True
    register_rule(*_found(_RMS_NORMS))(_rms_norm)
    register_rule(*_found([("layers.modeling.rotary_embedding", "RotaryEmbedding")]))(_rotary)
    register_rule(*_found([("layers.modeling.position_embedding", "PositionEmbedding")]))(
        _position_embedding)
    register_rule(*_found([("models.mixtral.mixtral_decoder", "MixtralSparseMoeBlock")]))(
        _mixtral_moe)
    register_causal(*_found([("layers.modeling.transformer_decoder", "TransformerDecoder")]))(
        _transformer_decoder)
    register_causal(*_found([("models.llama.llama_decoder", "LlamaTransformerDecoder")]))(
        _self_attention)
    register_causal(*_found([
        ("models.mistral.mistral_transformer_decoder", "MistralTransformerDecoder"),
        ("models.mixtral.mixtral_decoder", "MixtralTransformerDecoder")]))(_windowed)
    register_causal(*_found([("models.gemma.gemma_decoder_block", "GemmaDecoderBlock")]))(_gemma)


def _found(names: Any) -> list[type]:
    return [cls for module, name in names if (cls := hub_class(module, name)) is not None]


def _rms_norm(layer: Any, call: Call) -> tuple[Piece, ...]:
    """keras-hub RMS norms (Llama, Mistral, Mixtral, Gemma's x * (1 + scale), the generic one):
    a scale per feature; square, mean, times 1/rms, scale: 4 FLOPs per element, as
    ``keras.layers.RMSNormalization``."""
    return other(4 * elements(call.output), params=int(call.input[-1]))


def _rotary(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Rotary position embedding applied to q or k: ``x * cos + rotate_half(x) * sin``: two
    products and a sum per element, and the negation of half of them: 3.5 FLOPs per element.
    The cos/sin tables depend on the positions only (computed once per length): not counted."""
    return other(7 * elements(call.output) // 2)


def _position_embedding(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Learned positions: sequence_length x features weights; a slice of them is a copy."""
    return (Piece("embedding", params=int(layer.sequence_length) * int(call.input[-1])),)


def _mixtral_moe(layer: Any, call: Call) -> tuple[Piece, ...]:
    """Mixtral's sparse MoE block on T tokens of width d: a router Dense(d -> E, no bias), then
    E experts, each a gated MLP of three d x I matrices (gate, up, down).

    Router: T*d*E MACs; softmax 3*T*E, top-k T*E, renormalise 2*T*k FLOPs. Experts, routed
    (the convention ``moe="routed"``, default): each token through its top-k experts, 3*k*T*d*I
    MACs, silu and gating 2*k*T*I, weighting and sum k*T*d each. Executed (keras-hub runs
    every expert on every token and zeroes the unselected outputs): the same with E for k, plus
    building the dense routing matrix 2*T*k*E. Params: all 3*E*d*I expert weights; active per
    token: 3*k*d*I.
    """
    tokens, d = elements(call.input[:-1]), int(call.input[-1])
    experts, k, inner = int(layer.num_experts), int(layer.top_k), int(layer.intermediate_dim)
    softmax = f.SOFTMAX_FLOPS_PER_ELEMENT * tokens * experts
    router = Piece("fully_connected", params=d * experts, macs=tokens * d * experts,
                   other_flops=softmax + tokens * experts + 2 * tokens * k)

    def expert_flops(n: int) -> int:
        return 2 * n * tokens * inner + 2 * n * tokens * d

    executed_flops = expert_flops(experts) + 2 * tokens * k * experts
    routed = Variant("routed", 3 * k * tokens * d * inner, expert_flops(k))
    bank = Piece("fully_connected", params=3 * experts * d * inner,
                 macs=3 * experts * tokens * d * inner, other_flops=executed_flops,
                 variants=(routed,), active_params=3 * k * d * inner)
    return (router, bank)


def _transformer_decoder(decoder: Any, options: dict[str, Any],
                         layer: Any) -> tuple[bool, int | None]:
    """keras-hub's TransformerDecoder (GPT-2): its ``self_attention`` is causal unless called
    with ``use_causal_mask=False``; its cross-attention never is."""
    causal = layer.name == "self_attention" and options.get("use_causal_mask", True) is not False
    return causal, None


def _self_attention(decoder: Any, options: dict[str, Any], layer: Any) -> tuple[bool, int | None]:
    """Llama decoder blocks: the ``self_attention`` sub-layer is causal, without a window."""
    return layer.name == "self_attention", None


def _windowed(decoder: Any, options: dict[str, Any], layer: Any) -> tuple[bool, int | None]:
    """Mistral and Mixtral blocks: causal ``self_attention`` with the block's
    ``sliding_window`` (None: no window)."""
    window = getattr(decoder, "sliding_window", None)
    return layer.name == "self_attention", int(window) if window else None


def _gemma(decoder: Any, options: dict[str, Any], layer: Any) -> tuple[bool, int | None]:
    """Gemma blocks: causal ``attention``, windowed when ``use_sliding_window_attention``."""
    window = decoder.sliding_window_size if decoder.use_sliding_window_attention else None
    return layer.name == "attention", int(window) if window else None
