"""keras-hub zoo models: built from published configurations, params equal to the published
counts (Hugging Face model cards and keras-hub's preset metadata, quoted below)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import convcost
from convcost import ConvcostError
from convcost.count.walker import analyze
from convcost.models import hub, zoo

pytest.importorskip("keras_hub")

DEFAULT_RUN = ("gpt2", "mobilenet_v3_small_050")
PUBLISHED = {
    # name: (params with the zoo's default top, backbone params); source in models/hub.py
    "gpt2": (124_439_808, 124_439_808),  # GPT-2 small "124M" (tied LM head: no params)
    "bert_base": (109_482_240, 109_482_240),  # BERT-base uncased incl. pooler
    "bert_large": (335_141_888, 335_141_888),
    "vit_b16": (86_567_656, 85_798_656),  # ViT-B/16: 1000-class head / backbone
    "llama2_7b": (6_738_415_616, 6_738_415_616),
    "llama2_70b": (68_976_648_192, 68_976_648_192),
    "llama3_8b": (8_030_261_248, 8_030_261_248),
    "mistral_7b": (7_241_732_096, 7_241_732_096),
    "mixtral_8x7b": (46_702_792_704, 46_702_792_704),  # "46.7B"
    "gemma_2b": (2_506_172_416, 2_506_172_416),
    "mobilenet_v3_small_050": (278_784, 278_784),
    "mobilenet_v3_small_100": (939_120, 939_120),
    "mobilenet_v3_large_100": (2_996_352, 2_996_352),
}


def test_every_hub_entry_has_a_published_count():
    assert set(PUBLISHED) == set(hub.HUB_MODELS)


# gpt2 and the small MobileNetV3 by default; the others (1-2 s each) in the slow run
@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name in DEFAULT_RUN
                                               else pytest.mark.slow)
                                  for name in sorted(PUBLISHED)])
def test_params_equal_the_published_count(name):
    with_top, backbone = PUBLISHED[name]
    with convcost.shape_only():
        model = zoo.build(name)
    assert model.count_params() == with_top
    assert getattr(model, "backbone", model).count_params() == backbone


def test_mixtral_active_params_and_macs_per_token_from_its_config():
    """Mixtral-8x7B (d 4096, 32 layers, 8 experts of 3 x 4096 x 14336, top-2, vocab 32000):
    active params = all - 6/8 of the experts; per-token MACs routed vs executed."""
    with convcost.shape_only():
        model = zoo.build("mixtral_8x7b", include_top=False)
    length = 64
    report = analyze(model, seq_len=length)
    experts = 32 * 8 * 3 * 4096 * 14336
    assert report.active_params == 46_702_792_704 - experts * 6 // 8 == 12_879_925_248
    attention = 32 * 2 * 32 * length * length * 128  # scores and values, 32 query heads of 128
    projections = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024)
    router = 32 * 4096 * 8
    routed = projections + router + 32 * 2 * 3 * 4096 * 14336
    executed = projections + router + experts
    assert (routed, executed) == (12_617_515_008, 46_440_382_464)  # per token
    assert report.macs == length * routed + attention
    assert report.macs_as("executed") == length * executed + attention


def test_text_models_take_their_length_at_analysis():
    with pytest.raises(ConvcostError, match=r"text model.*seq_len.*--seq-len"):
        zoo.build("gpt2", input_shape=(128,))
    with pytest.raises(ConvcostError, match=r"takes no classes"):
        zoo.build("gpt2", classes=10)


def test_a_missing_keras_hub_is_one_line_naming_the_extra():
    code = ("import sys; sys.modules['keras_hub'] = None\n"
            "from convcost.models import zoo\n"
            "try:\n    zoo.build('gpt2')\nexcept Exception as error:\n    print(error)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "pip install 'convcost[hub]'" in done.stdout and done.stdout.count("\n") == 1
