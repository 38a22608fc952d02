"""Input shapes: models with several inputs (by name), token inputs (seq_len), bad shapes."""

from __future__ import annotations

import keras
import pytest

import convcost
from convcost import ConvcostError
from convcost.count.walker import analyze


def _two_images() -> keras.Model:
    """Two image inputs of any size, a conv on each, pooled, concatenated, a classifier."""
    left = keras.Input((None, None, 3), name="left")
    right = keras.Input((None, None, 1), name="right")
    a = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv_l")(left))
    b = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 1, name="conv_r")(right))
    out = keras.layers.Dense(5, name="fc")(keras.layers.Concatenate()([a, b]))
    return keras.Model([left, right], out)


def test_two_image_inputs_take_one_shape_each_by_name():
    report = analyze(_two_images(), input_shape={"left": (10, 10, 3), "right": (6, 8, 1)})
    rows = {row.name: row for row in report.layers}
    assert rows["conv_l"].macs == 3 * 3 * 3 * 4 * 8 * 8  # valid 3x3: 10 -> 8
    assert rows["conv_r"].macs == 1 * 2 * 6 * 8
    assert rows["fc"].macs == 6 * 5
    assert report.inputs == (("left", (10, 10, 3)), ("right", (6, 8, 1)))
    assert report.input_shape == (10, 10, 3) and report.multi_input


@pytest.mark.parametrize("shape, message", [
    ({"left": (10, 10, 3), "middle": (4, 4, 1)}, r"Unknown input name 'middle'.*left, right"),
    ({"left": (10, 10, 3)}, r"Missing input shape for 'right'.*Received"),
    ((10, 10, 3), r"single-input model.*mapping.*2 inputs \(left, right\).*Received"),
    ({"left": (10, 10), "right": (6, 8, 1)}, r"3 dimensions.*'left'.*Received"),
])
def test_named_shape_errors_are_one_line(shape, message):
    with pytest.raises(ConvcostError, match=message) as info:
        analyze(_two_images(), input_shape=shape)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("shape", [(-8,), (0, 28, 1), (28.5, 28, 1), "28,28,1", 28, (),
                                   (True, 2, 3), {"input": (-1, 2, 3)}])
def test_bad_shapes_are_one_line_errors(zoo_model, shape):
    with pytest.raises(ConvcostError, match=r"input_shape.*Received") as info:
        analyze(zoo_model("naive"), input_shape=shape)
    assert "\n" not in str(info.value)


def _tokens_and_mask(vocab: int = 50, d: int = 16, heads: int = 2) -> keras.Model:
    """token ids + padding mask -> embedding -> self-attention with the mask -> dense."""
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(vocab, d, name="embed")(ids)
    pair = keras.ops.cast(mask[:, :, None] * mask[:, None, :], "bool")
    x = keras.layers.MultiHeadAttention(heads, d // heads, name="mha")(
        query=x, value=x, attention_mask=pair)
    return keras.Model({"token_ids": ids, "padding_mask": mask}, keras.layers.Dense(4)(x))


def test_token_and_mask_model_by_seq_len_matches_a_hand_count():
    length, d = 12, 16
    report = analyze(_tokens_and_mask(), seq_len=length)
    # Q, K, V, O projections L*d*d each; scores and weighted values L*L*d each; dense L*d*4
    hand = 4 * length * d * d + 2 * length * length * d + length * d * 4
    assert report.macs == hand
    mha = next(row for row in report.layers if row.name == "mha")
    assert mha.input_shapes == ((length, d), (length, d))  # query, value: the mask is no input
    assert mha.params == mha.keras_params  # the rule saw the right shapes
    assert report.params_match
    assert dict(report.inputs) == {"token_ids": (length,), "padding_mask": (length,)}


def test_named_token_shapes_equal_seq_len():
    by_name = analyze(_tokens_and_mask(), input_shape={"token_ids": (7,), "padding_mask": (7,)})
    assert by_name.macs == analyze(_tokens_and_mask(), seq_len=7).macs


def test_a_token_model_without_a_length_says_how_to_give_one():
    with pytest.raises(ConvcostError, match=r"unknown dimension.*--seq-len"):
        analyze(_tokens_and_mask())


def test_seq_len_needs_a_token_input(zoo_model):
    with pytest.raises(ConvcostError, match=r"seq_len sets token inputs.*Received: seq_len 8"):
        analyze(zoo_model("v1"), seq_len=8)
    with pytest.raises(ConvcostError, match=r"seq_len must be a positive whole number"):
        analyze(_tokens_and_mask(), seq_len=0)


def test_analyze_takes_a_zoo_name_or_a_file(tmp_path, zoo_model):
    assert convcost.analyze("v1").macs == 3_109_760
    path = tmp_path / "v1.keras"
    zoo_model("v1").save(path)
    assert convcost.analyze(str(path)).params == 48_330
    with pytest.raises(ConvcostError, match=r"Unknown model name.*Received: 'v7'"):
        convcost.analyze("v7")
    with pytest.raises(ConvcostError, match=r"Keras model, a zoo name or a model file.*int"):
        convcost.analyze(42)


def test_an_input_shape_that_changes_the_weights_is_refused(tmp_path, zoo_model):
    path = tmp_path / "naive.keras"
    zoo_model("naive").save(path)
    with pytest.raises(ConvcostError, match=r"does not fit the model's weights: layer 'conv_1'"
                                            r".*896 params.*holds 320.*Received"):
        convcost.analyze(str(path), input_shape=(28, 28, 3))
    assert convcost.analyze(str(path), input_shape=(56, 56, 1)).params == 259_082
