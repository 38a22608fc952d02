"""keras-hub models by name, built from their published configurations (no preset, no download).

Each entry maps a model's published Hugging Face ``config.json`` to keras-hub's constructor
arguments the way keras-hub's own checkpoint converters do
(``keras_hub/src/utils/transformers/convert_<model>.py``, ``utils/timm/convert_mobilenet.py``),
so that ``count_params()`` equals the published count exactly (``tests/models/test_hub.py``).
The data here is plain Python: listing the zoo imports neither TensorFlow nor keras-hub.

Building imports keras-hub (``pip install 'convcost[hub]'``); shape-only builds
(:func:`convcost.shape_only`) allocate no weight, so Llama-2-70B builds in about a second
inside a process of under 1 GB.

keras-hub details that the configurations below encode (checked in keras-hub 0.32):

* Gemma's ``intermediate_dim`` is twice Hugging Face's ``intermediate_size`` (it is the width
  of gate and up together); Gemma uses its own ``RMSNormalization`` with ``x * (1 + scale)``.
* ``MixtralBackbone`` defaults to ``sliding_window=512``; Mixtral-8x7B's config has none.
* A task model (``GPT2CausalLM``, ``ViTImageClassifier``) compiles an optimizer in its
  constructor unless given ``compile=False``, which fails in a shape-only build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convcost.errors import ConvcostError

INSTALL_HINT = "pip install 'convcost[hub]'"


@dataclass(frozen=True)
class HubModel:
    """A keras-hub model convcost builds by name.

    Args:
        backbone: the ``keras_hub.models`` backbone class.
        config: its constructor arguments (the published configuration).
        task: the ``keras_hub.models`` task class that adds the top (LM head, classifier),
            or empty when the published model is the backbone.
        context: the default sequence length of a text model (its context length); 0 for
            image models.
        image_size: the default image side of an image model.
        summary: one line for ``convcost zoo``.
        source: where the configuration and the published parameter count come from.
    """

    backbone: str
    config: dict[str, Any]
    task: str = ""
    task_kwargs: dict[str, Any] = field(default_factory=dict)
    context: int = 0
    image_size: int = 0
    summary: str = ""
    source: str = ""

    @property
    def is_text(self) -> bool:
        """Whether the model reads tokens (it has a context length)."""
        return self.context > 0


def _llama(vocab: int, layers: int, heads: int, kv_heads: int, hidden: int, inner: int,
           rope: float) -> dict[str, Any]:
    return dict(vocabulary_size=vocab, num_layers=layers, num_query_heads=heads,
                num_key_value_heads=kv_heads, hidden_dim=hidden, intermediate_dim=inner,
                rope_max_wavelength=rope, layer_norm_epsilon=1e-5, tie_word_embeddings=False)


_MOBILENET_V3_SMALL_050: dict[str, Any] = {
    "stackwise_num_blocks": [2, 3, 2, 3],
    "stackwise_expansion": [[40, 56], [64, 144, 144], [72, 72], [144, 288, 288]],
    "stackwise_num_filters": [[16, 16], [24, 24, 24], [24, 24], [48, 48, 48]],
    "stackwise_kernel_size": [[3, 3], [5, 5, 5], [5, 5], [5, 5, 5]],
    "stackwise_num_strides": [[2, 1], [2, 1, 1], [1, 1], [2, 1, 1]],
    "stackwise_se_ratio": [[None, None], [0.25] * 3, [0.25] * 2, [0.25] * 3],
    "stackwise_activation": [["relu", "relu"], ["hard_swish"] * 3, ["hard_swish"] * 2,
                             ["hard_swish"] * 3],
    "stackwise_padding": [[1, 1], [2, 2, 2], [2, 2], [2, 2, 2]],
    "output_num_filters": 1024,
    "input_num_filters": 16,
    "depthwise_filters": 8,
    "depthwise_stride": 2,
    "depthwise_residual": False,
    "squeeze_and_excite": 0.5,
    "last_layer_filter": 288,
    "input_activation": "hard_swish",
    "output_activation": "hard_swish",
}
_MOBILENET_V3_SMALL_100 = {
    **_MOBILENET_V3_SMALL_050,
    "stackwise_expansion": [[72, 88], [96, 240, 240], [120, 144], [288, 576, 576]],
    "stackwise_num_filters": [[24, 24], [40, 40, 40], [48, 48], [96, 96, 96]],
    "depthwise_filters": 16,
    "last_layer_filter": 576,
}
_MOBILENET_V3_LARGE_100 = {
    **_MOBILENET_V3_SMALL_050,
    "stackwise_num_blocks": [2, 3, 4, 2, 3],
    "stackwise_expansion": [[64, 72], [72, 120, 120], [240, 200, 184, 184], [480, 672],
                            [672, 960, 960]],
    "stackwise_num_filters": [[24, 24], [40, 40, 40], [80, 80, 80, 80], [112, 112],
                              [160, 160, 160]],
    "stackwise_kernel_size": [[3, 3], [5, 5, 5], [3, 3, 3, 3], [3, 3], [5, 5, 5]],
    "stackwise_num_strides": [[2, 1], [2, 1, 1], [2, 1, 1, 1], [1, 1], [2, 1, 1]],
    "stackwise_se_ratio": [[None, None], [0.25] * 3, [None] * 4, [0.25] * 2, [0.25] * 3],
    "stackwise_activation": [["relu", "relu"], ["relu"] * 3, ["hard_swish"] * 4,
                             ["hard_swish"] * 2, ["hard_swish"] * 3],
    "stackwise_padding": [[1, 1], [2, 2, 2], [1, 1, 1, 1], [1, 1], [2, 2, 2]],
    "depthwise_filters": 16,
    "depthwise_stride": 1,
    "depthwise_residual": True,
    "squeeze_and_excite": None,
    "last_layer_filter": 960,
}
_MOBILENET_SOURCE = ("keras-hub's timm mapping (utils/timm/convert_mobilenet.py, architecture "
                     "{0}); params: mobilenet_presets.py {0}_imagenet")

HUB_MODELS: dict[str, HubModel] = {
    "gpt2": HubModel(
        "GPT2Backbone",
        dict(vocabulary_size=50257, num_layers=12, num_heads=12, hidden_dim=768,
             intermediate_dim=3072, dropout=0.1, max_sequence_length=1024),
        task="GPT2CausalLM", context=1024,
        summary="GPT-2 small (124M), tied LM head",
        source="HF openai-community/gpt2 config.json; 124,439,808 params (gpt2_base_en)"),
    "bert_base": HubModel(
        "BertBackbone",
        dict(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
             intermediate_dim=3072, dropout=0.1, max_sequence_length=512, num_segments=2),
        context=512, summary="BERT-base uncased encoder with pooler",
        source="HF google-bert/bert-base-uncased config.json; 109,482,240 params"),
    "bert_large": HubModel(
        "BertBackbone",
        dict(vocabulary_size=30522, num_layers=24, num_heads=16, hidden_dim=1024,
             intermediate_dim=4096, dropout=0.1, max_sequence_length=512, num_segments=2),
        context=512, summary="BERT-large uncased encoder with pooler",
        source="HF google-bert/bert-large-uncased config.json; 335,141,888 params"),
    "vit_b16": HubModel(
        "ViTBackbone",
        dict(image_shape=(224, 224, 3), patch_size=(16, 16), num_layers=12, num_heads=12,
             hidden_dim=768, mlp_dim=3072, dropout_rate=0.0, attention_dropout=0.0,
             use_mha_bias=True),
        task="ViTImageClassifier", task_kwargs=dict(num_classes=1000), image_size=224,
        summary="ViT-B/16, 224x224, 1000-class head (--no-top: backbone)",
        source="HF google/vit-base-patch16-224 config.json; 86,567,656 params "
               "(backbone 85,798,656)"),
    "llama2_7b": HubModel(
        "LlamaBackbone", _llama(32000, 32, 32, 32, 4096, 11008, 10000), task="LlamaCausalLM",
        context=4096, summary="Llama 2 7B, untied LM head",
        source="HF meta-llama/Llama-2-7b-hf config.json; 6,738,415,616 params"),
    "llama2_70b": HubModel(
        "LlamaBackbone", _llama(32000, 80, 64, 8, 8192, 28672, 10000), task="LlamaCausalLM",
        context=4096, summary="Llama 2 70B, grouped-query attention (8 KV heads)",
        source="HF meta-llama/Llama-2-70b-hf config.json; 68,976,648,192 params"),
    "llama3_8b": HubModel(
        "Llama3Backbone", _llama(128256, 32, 32, 8, 4096, 14336, 500000),
        task="Llama3CausalLM", context=8192, summary="Llama 3 8B, grouped-query attention",
        source="HF meta-llama/Meta-Llama-3-8B config.json; 8,030,261,248 params"),
    "mistral_7b": HubModel(
        "MistralBackbone",
        dict(vocabulary_size=32000, num_layers=32, num_query_heads=32, hidden_dim=4096,
             intermediate_dim=14336, num_key_value_heads=8, rope_max_wavelength=10000,
             layer_norm_epsilon=1e-5, sliding_window=4096),
        task="MistralCausalLM", context=8192,
        summary="Mistral 7B v0.1, sliding window 4096",
        source="HF mistralai/Mistral-7B-v0.1 config.json; 7,241,732,096 params"),
    "mixtral_8x7b": HubModel(
        "MixtralBackbone",
        dict(vocabulary_size=32000, num_layers=32, num_query_heads=32, hidden_dim=4096,
             intermediate_dim=14336, num_key_value_heads=8, num_experts=8, top_k=2,
             rope_max_wavelength=1e6, layer_norm_epsilon=1e-5, sliding_window=None,
             output_router_logits=False),
        task="MixtralCausalLM", context=32768,
        summary="Mixtral 8x7B: 8 experts, top-2 routing",
        source="HF mistralai/Mixtral-8x7B-v0.1 config.json; 46,702,792,704 params "
               "(12,879,925,248 active)"),
    "gemma_2b": HubModel(
        "GemmaBackbone",
        dict(vocabulary_size=256000, num_layers=18, num_query_heads=8, num_key_value_heads=1,
             hidden_dim=2048, intermediate_dim=32768, head_dim=256, layer_norm_epsilon=1e-6),
        task="GemmaCausalLM", context=8192,
        summary="Gemma 2B, multi-query attention, tied LM head",
        source="HF google/gemma-2b config.json (intermediate_size 16384, doubled as "
               "keras-hub's converter does); 2,506,172,416 params"),
    "mobilenet_v3_small_050": HubModel(
        "MobileNetBackbone", _MOBILENET_V3_SMALL_050, image_size=224,
        summary="keras-hub MobileNetV3 small 0.5 backbone",
        source=_MOBILENET_SOURCE.format("mobilenet_v3_small_050")),
    "mobilenet_v3_small_100": HubModel(
        "MobileNetBackbone", _MOBILENET_V3_SMALL_100, image_size=224,
        summary="keras-hub MobileNetV3 small 1.0 backbone",
        source=_MOBILENET_SOURCE.format("mobilenet_v3_small_100")),
    "mobilenet_v3_large_100": HubModel(
        "MobileNetBackbone", _MOBILENET_V3_LARGE_100, image_size=224,
        summary="keras-hub MobileNetV3 large 1.0 backbone",
        source=_MOBILENET_SOURCE.format("mobilenet_v3_large_100")),
}


def keras_hub() -> Any:
    """The keras_hub module, or a one-line error naming the extra to install."""
    try:
        import keras_hub as module
    except ImportError:
        raise ConvcostError(f"keras-hub models need keras-hub: {INSTALL_HINT}. Received: an "
                            "environment without keras_hub.") from None
    return module


def build(name: str, *, image_size: tuple[int, ...] | None = None,
          classes: int | None = None, include_top: bool = True) -> Any:
    """Build the keras-hub model ``name`` (the backbone, plus its task top when asked).

    Args:
        name: a key of :data:`HUB_MODELS`.
        image_size: ``(H, W, C)`` of an image model (its default otherwise).
        classes: the classifier's classes (image models with a head).
        include_top: add the task's top (LM head, classifier) where the entry has one.
    """
    spec = HUB_MODELS[name]
    hub = keras_hub()
    config = dict(spec.config)
    if spec.image_size:
        config["image_shape"] = tuple(image_size) if image_size else (
            spec.image_size, spec.image_size, 3)
    if not (include_top and spec.task):  # the model carries its zoo name, as in `zoo`
        return getattr(hub.models, spec.backbone)(**config, name=name)
    backbone = getattr(hub.models, spec.backbone)(**config)
    kwargs = dict(spec.task_kwargs)
    if classes is not None:
        kwargs["num_classes"] = classes
    return getattr(hub.models, spec.task)(backbone=backbone, preprocessor=None, compile=False,
                                          name=name, **kwargs)
