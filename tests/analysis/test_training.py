"""Training cost per layer: hand counts of forward, input-gradient (dx) and weight-gradient (dW)
MACs for the layer families, the frozen-layer rules, and the issue's v1 example.

Every expected number is written out by hand from the layer's shapes (the formulas of
docs/results/training-cost.md); tests/analysis/test_verify_training.py checks the same rules
against the ops TensorFlow's gradient graph runs.
"""

from __future__ import annotations

import keras
import pytest

import convcost
from convcost.analysis.training import (
    KIND_RULES,
    kind_rule,
    reads_input,
    training_cost,
)
from convcost.count.report import LayerCost, Piece, Report
from convcost.errors import ConvcostError
from convcost.models import zoo

L = keras.layers


def _cost(model: keras.Model):
    return training_cost(convcost.analyze(model))


def _row(cost, path: str):
    return next(r for r in cost.rows if r.row.path == path)


def _grads(cost, path: str) -> tuple[int, int, int]:
    r = _row(cost, path)
    return r.forward_macs, r.input_grad_macs, r.weight_grad_macs


def _conv_model(padding: str, size: int) -> keras.Model:
    x = keras.Input((size, size, 3))
    y = L.Conv2D(4, 1, name="pre")(x)
    y = L.Conv2D(8, 3, strides=2, padding=padding, name="t")(y)
    return keras.Model(x, y)


@pytest.mark.parametrize(("padding", "size", "positions"), [
    ("same", 9, 5 * 5),    # ceil(9 / 2) = 5 per side
    ("valid", 9, 4 * 4),   # (9 - 3) // 2 + 1 = 4 per side
    ("same", 8, 4 * 4),
])
def test_strided_conv(padding: str, size: int, positions: int) -> None:
    cost = _cost(_conv_model(padding, size))
    pre = size * size * 3 * 4            # 1x1 conv, 3 -> 4 channels, every position
    t = positions * 3 * 3 * 4 * 8         # output positions x taps x C_in x C_out
    assert _grads(cost, "pre") == (pre, 0, pre)   # first layer: no dx
    assert _grads(cost, "t") == (t, t, t)         # dx = dW = forward, any stride/padding
    assert cost.macs == 3 * t + 2 * pre


def test_depthwise_strided_multiplier() -> None:
    x = keras.Input((8, 8, 3))
    y = L.Conv2D(4, 1, name="pre")(x)
    y = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, name="dw")(y)
    cost = _cost(keras.Model(x, y))
    dw = 4 * 4 * 3 * 3 * 4 * 2  # 16 positions x 9 taps x 4 channels x multiplier 2 = 1,152
    assert _grads(cost, "dw") == (dw, dw, dw)


def test_dense_chain() -> None:
    x = keras.Input((16,))
    y = L.Dense(8, name="d1")(x)
    y = L.Dense(4, name="d2")(y)
    cost = _cost(keras.Model(x, y))
    assert _grads(cost, "d1") == (16 * 8, 0, 16 * 8)
    assert _grads(cost, "d2") == (8 * 4, 8 * 4, 8 * 4)


def test_separable_first_and_inside() -> None:
    x = keras.Input((6, 6, 4))
    y = L.SeparableConv2D(8, 3, padding="same", name="first")(x)
    y = L.SeparableConv2D(8, 3, padding="same", name="second")(y)
    cost = _cost(keras.Model(x, y))
    d1, p1 = 36 * 9 * 4, 36 * 4 * 8      # depthwise part, pointwise part
    d2, p2 = 36 * 9 * 8, 36 * 8 * 8
    # first layer: the pointwise part still needs the gradient at the depthwise output
    assert _grads(cost, "first") == (d1 + p1, p1, d1 + p1)
    assert _grads(cost, "second") == (d2 + p2, d2 + p2, d2 + p2)


def _attention(first: bool) -> keras.Model:
    x = keras.Input((5, 8))
    y = x if first else L.Dense(8, name="pre")(x)
    y = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(y, y)
    return keras.Model(x, y)


# T = S = 5 positions, d = 8, h = 2 heads, key/value dim 4
P_QKV = 3 * 5 * 8 * (2 * 4)        # q, k, v projections: 320 each
P_OUT = 5 * (2 * 4) * 8            # output projection: 320
CORE = 2 * 5 * 5 * 4 + 2 * 5 * 5 * 4  # scores + context: 200 + 200


def test_attention_needing_input_gradient() -> None:
    cost = _cost(_attention(first=False))
    forward = P_QKV + P_OUT + CORE  # 1,680
    # dx: every projection's input gradient + twice the activation x activation core
    assert _grads(cost, "mha") == (forward, P_QKV + P_OUT + 2 * CORE, P_QKV + P_OUT)
    assert _grads(cost, "mha") == (1_680, 2_080, 1_280)


def test_attention_as_first_layer() -> None:
    cost = _cost(_attention(first=True))
    # the q/k/v projections' input gradients would go to the model input: pruned
    assert _grads(cost, "mha") == (1_680, P_OUT + 2 * CORE, P_QKV + P_OUT)
    assert _row(cost, "mha").input_grad_macs == 1_120


def test_dot_of_two_activations() -> None:
    a = keras.Input((4, 3))
    y = L.Dense(3, name="pre")(a)
    z = L.Dot(axes=2, name="dot")([y, y])
    cost = _cost(keras.Model(a, z))
    forward = 4 * 4 * 3  # (4x3) . (4x3)^T
    assert _grads(cost, "dot") == (forward, 2 * forward, 0)


@pytest.mark.parametrize(("unroll", "first"), [(False, True), (False, False), (True, False)])
def test_lstm(unroll: bool, first: bool) -> None:
    x = keras.Input((4, 6))  # T = 4 steps, d = 6 inputs
    y = x if first else L.Dense(6, name="pre")(x)
    y = L.LSTM(5, unroll=unroll, name="lstm")(y)  # u = 5 units, g = 4 gates
    cost = _cost(keras.Model(x, y))
    forward = 4 * 4 * 5 * (6 + 5)             # T * g * u * (d + u) = 880
    x_part = 4 * 4 * 5 * 6                    # through the input weights: 480
    h_part = (3 if unroll else 4) * 4 * 5 * 5  # recurrent weights, T (T-1 unrolled) steps
    dx = h_part + (0 if first else x_part)
    assert _grads(cost, "lstm") == (forward, dx, forward)


def test_gru_and_simple_rnn_split() -> None:
    x = keras.Input((3, 2))
    y = L.Dense(2, name="pre")(x)
    y = L.GRU(4, return_sequences=True, name="gru")(y)
    y = L.SimpleRNN(3, name="rnn")(y)
    cost = _cost(keras.Model(x, y))
    assert _grads(cost, "gru") == (3 * 3 * 4 * 6, 3 * 3 * 4 * (2 + 4), 3 * 3 * 4 * 6)
    assert _grads(cost, "rnn") == (3 * 1 * 3 * 7, 3 * 3 * (4 + 3), 3 * 3 * 7)


# --- frozen layers and the issue's example ---------------------------------------------------

V1_FORWARD = 3_109_760
V1_CONV_1 = 56_448  # 14 x 14 positions x 9 taps x 1 channel x 32 filters


def test_v1_all_trainable_issue_example() -> None:
    cost = _cost(zoo.build("v1"))
    assert (cost.forward_macs, cost.weight_grad_macs) == (V1_FORWARD, V1_FORWARD)
    assert cost.input_grad_macs == V1_FORWARD - V1_CONV_1
    assert cost.macs == 9_272_832


def _frozen_v1(*names: str) -> keras.Model:
    model = zoo.build("v1")
    for name in names:
        model.get_layer(name).trainable = False
    return model


def test_frozen_prefix() -> None:
    cost = _cost(_frozen_v1("conv_1", "dw_2", "pw_2"))
    frozen = 56_448 + 56_448 + 401_408
    # dw_3 is the first trainable layer: it needs no dx; everything after it does
    after = 1_605_632 + 56_448 + 802_816 + 16_384 + 1_280  # pw_3 dw_4 pw_4 fc1 output
    assert (cost.forward_macs, cost.input_grad_macs, cost.weight_grad_macs) == (
        V1_FORWARD, after, V1_FORWARD - frozen)
    assert (cost.input_grad_macs, cost.weight_grad_macs) == (2_482_560, 2_595_456)
    assert [r.row.path for r in cost.rows if r.backward_macs == 0 and r.forward_macs] == [
        "conv_1", "dw_2", "pw_2"]


def test_frozen_head_still_passes_input_gradients() -> None:
    cost = _cost(_frozen_v1("fc1", "bn_2", "output"))
    assert _grads(cost, "output") == (1_280, 1_280, 0)  # frozen: dx yes, dW no
    assert cost.input_grad_macs == V1_FORWARD - V1_CONV_1
    assert cost.weight_grad_macs == V1_FORWARD - 16_384 - 1_280 == 3_092_096


def test_everything_frozen_but_the_output() -> None:
    names = [layer.name for layer in zoo.build("v1").layers if layer.name != "output"]
    cost = _cost(_frozen_v1(*names))
    assert (cost.input_grad_macs, cost.weight_grad_macs) == (0, 1_280)


def test_shared_layer_has_weight_gradients_on_every_call() -> None:
    x = keras.Input((4,))
    first = L.Dense(4, name="pre")(x)
    shared = L.Dense(4, name="shared")
    y = shared(shared(first))
    cost = _cost(keras.Model(x, y))
    calls = [r for r in cost.rows if r.row.path == "shared"]
    assert [(r.input_grad_macs, r.weight_grad_macs) for r in calls] == [(16, 16), (16, 16)]


def test_trainable_batch_norm_counts_training_form() -> None:
    x = keras.Input((4, 4, 2))
    y = L.Conv2D(2, 1, name="pre")(x)
    y = L.BatchNormalization(name="bn")(y)
    cost = _cost(keras.Model(x, y))
    bn = _row(cost, "bn")
    # statistics 2 + normalize 2 + scale 1 + shift 1 per element; backward the same again
    assert (bn.forward_other_flops, bn.backward_other_flops) == (32 * 6, 32 * 6)


def test_v1_training_flops() -> None:
    cost = _cost(zoo.build("v1"))
    # other FLOPs of v1 (convcost's forward, per sample): biases + ReLUs on the conv and
    # dense outputs, global pooling 6,272, two batch norms; in training the batch norms count
    # 6 per element instead of 2, and each backward repeats the forward's element-wise work
    forward_other = 157_608 + 2 * 128 * (6 - 2)
    assert cost.flops == 2 * 9_272_832 + 2 * forward_other == 18_862_928


# --- the rule table --------------------------------------------------------------------------


def test_rule_table_covers_every_kind_and_the_new_ones() -> None:
    from convcost.count.report import KINDS

    assert set(KINDS) <= set(KIND_RULES)
    assert kind_rule("attention") == kind_rule("other") == "activations"
    assert kind_rule("recurrent") == "weighted" and kind_rule("embedding") == "lookup"
    with pytest.raises(ConvcostError, match=r"No training-cost rule for piece kind.*"
                                            r"Received: 'mystery'"):
        kind_rule("mystery")


def test_reads_input_shapes() -> None:
    fc, core = Piece("fully_connected", macs=1), Piece("other", macs=1)
    assert reads_input([Piece("depthwise", macs=1), Piece("pointwise", macs=1)]) == [True, False]
    assert reads_input([fc, fc, fc, core, fc, fc]) == [True, True, True, False, False, True]


def test_pure_data_rows() -> None:
    dense = (Piece("fully_connected", params=20, macs=16),)
    rows = tuple(LayerCost(f"l{i}", f"l{i}", "Dense", ((4,),), (4,), dense, 20, trainable,
                           20 - trainable) for i, trainable in enumerate((0, 20, 0)))
    cost = training_cost(Report("m", (4,), rows, 60))
    assert [(r.input_grad_macs, r.weight_grad_macs) for r in cost.rows] == [
        (0, 0), (0, 16), (16, 0)]


def test_parallel_branches_from_the_inputs_need_no_input_gradient() -> None:
    a, b = keras.Input((4,)), keras.Input((4,))
    ya, yb = L.Dense(4, name="da")(a), L.Dense(4, name="db")(b)
    y = L.Dense(2, name="head")(L.Concatenate(name="cat")([ya, yb]))
    cost = _cost(keras.Model([a, b], y))
    # db runs after da, but nothing trainable feeds it: the graph edges say so
    assert _grads(cost, "da") == _grads(cost, "db") == (16, 0, 16)
    assert _grads(cost, "head") == (16, 16, 16)


def test_frozen_branch_beside_a_trainable_one() -> None:
    x = keras.Input((4,))
    trained = L.Dense(4, name="trained")(x)
    frozen = L.Dense(4, name="frozen", trainable=False)(x)
    y = L.Dense(2, name="head", trainable=False)(L.Add(name="add")([trained, frozen]))
    cost = _cost(keras.Model(x, y))
    assert _grads(cost, "frozen") == (16, 0, 0)     # no gradient passes through it at all
    assert _grads(cost, "head") == (8, 8, 0)        # frozen head above a trainable layer


# --- LLMs: a tied LM head, frozen embeddings, frozen blocks ------------------------------------
# GPT-2 forward MACs by Megatron's count (Narayanan et al. 2021, eq. 3, in MACs = FLOPs / 2):
# per block 12*s*d^2 (QKV 3sd^2, output sd^2, MLP 8sd^2) + 2*s^2*d (scores, context); the
# tied head s*d*V. Training = 3 x forward when every matmul is trainable (Megatron's 72 = 3 x 24
# without recomputation; nanoGPT's 6N per token = 3 x 2N).

TINY = dict(vocabulary_size=50, num_layers=3, num_heads=2, hidden_dim=16, intermediate_dim=64,
            dropout=0.0, max_sequence_length=32)


def _tiny_gpt2(frozen: tuple[str, ...] = ()) -> keras.Model:
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(**TINY)
    for name in frozen:
        backbone.get_layer(name).trainable = False
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def _gpt2_forward(s: int, d: int, layers: int, vocab: int) -> tuple[int, int, int]:
    """(forward MACs, one block's MACs, the head's s*d*V) by Megatron's count."""
    block = 12 * s * d * d + 2 * s * s * d
    return layers * block + s * d * vocab, block, s * d * vocab


def test_gpt2_training_is_three_times_forward_with_the_tied_head() -> None:
    import keras_hub  # noqa: F401

    with keras.StatelessScope(initialize_variables=False):
        cost = training_cost(convcost.analyze(zoo.build("gpt2"), seq_len=8))
    forward, _, head = _gpt2_forward(8, 768, 12, 50257)
    assert cost.forward_macs == forward == 989_435_904
    assert cost.macs == 3 * forward
    head_row = next(r for r in cost.rows if r.row.path == "token_embedding")  # the tied call
    assert (head_row.trainable, head_row.weight_grad_macs) == (True, head)


def test_tiny_gpt2_all_trainable() -> None:
    cost = training_cost(convcost.analyze(_tiny_gpt2(), seq_len=8))
    forward, _, _ = _gpt2_forward(8, 16, 3, 50)
    assert (cost.forward_macs, cost.macs) == (forward, 3 * forward)


def test_tiny_gpt2_frozen_token_embedding_drops_the_head_weight_gradient() -> None:
    cost = training_cost(convcost.analyze(_tiny_gpt2(("token_embedding",)), seq_len=8))
    forward, _, head = _gpt2_forward(8, 16, 3, 50)
    assert cost.macs == 3 * forward - head  # the head still passes dx down to the blocks
    assert cost.weight_grad_macs == forward - head - 3 * 2 * 8 * 8 * 16  # no dW: head, s^2 d


def test_tiny_gpt2_frozen_embeddings_and_first_blocks() -> None:
    frozen = ("token_embedding", "position_embedding", "transformer_layer_0",
              "transformer_layer_1")
    cost = training_cost(convcost.analyze(_tiny_gpt2(frozen), seq_len=8))
    s, d = 8, 16
    forward, block, head = _gpt2_forward(s, d, 3, 50)
    # Two frozen blocks: forward only (no dx, no dW: nothing trainable below them). Block 2
    # opens with a trainable layer norm, so even its Q, K, V projections pass dx down to the
    # norm's scale and offset: 3 x its forward. The head, tied to a frozen embedding: no dW.
    assert cost.macs == 3 * forward - 2 * 2 * block - head
    # dx: block 2 (its scores and context twice: one per operand) and the head's s*d*V.
    assert cost.input_grad_macs == block + 2 * s * s * d + head


@pytest.mark.slow
@pytest.mark.parametrize("frozen", [
    (), ("token_embedding",),
    ("token_embedding", "position_embedding", "transformer_layer_0", "transformer_layer_1")],
    ids=["all trainable", "frozen embedding", "frozen embeddings and two blocks"])
def test_tiny_gpt2_against_the_products_tensorflow_runs(frozen: tuple[str, ...]) -> None:
    """TensorFlow's pruned gradient graph (convcost.analysis.verify_training) runs the same
    forward and the same training MACs in all: the tied head's dW is one of its products.
    (How it splits attention's activation x activation gradients into dx and dW is a
    heuristic of that module: only the totals are compared.)"""
    from convcost.analysis.verify_training import gradient_count

    lm = _tiny_gpt2(frozen)
    ids = keras.Input((8,), dtype="int32", name="token_ids")
    mask = keras.Input((8,), dtype="int32", name="padding_mask")
    model = keras.Model([ids, mask], lm({"token_ids": ids, "padding_mask": mask}))
    cost = training_cost(convcost.analyze(model))
    executed = gradient_count(model)
    assert executed.hidden == ()
    assert executed.ops["forward"] == cost.forward_macs
    assert sum(executed.ops.values()) == cost.macs
