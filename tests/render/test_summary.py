"""``convcost.summary(model)`` against Keras' own ``model.summary()``, line by line.

The two added columns (MACs, FLOPs) sit between the third and fifth column separators of
every table line; cut out, each line must equal Keras' line character for character, and the
totals block must follow Keras' own before the three added lines.
"""

from __future__ import annotations

from itertools import pairwise

import keras
import pytest

import convcost
from convcost import ConvcostError

BOX = "┏┃┡│├└"  # first character of every table line Keras draws
MODELS = ("naive", "v1", "v2", "mobilenet", "resnet50")


@pytest.fixture(scope="session")
def models(zoo_model):
    """The article nets, and two keras.applications models built without their weights."""
    from convcost.models import zoo

    built = {name: zoo_model(name) for name in ("naive", "v1", "v2")}
    with keras.StatelessScope(initialize_variables=False):
        built.update({name: zoo.build(name) for name in ("mobilenet", "resnet50")})
    return built


def keras_text(model, **kwargs) -> str:
    captured: list[str] = []
    model.summary(print_fn=captured.append, **kwargs)
    assert len(captured) == 1
    return captured[0]


def convcost_text(model, **kwargs) -> str:
    captured: list[str] = []
    convcost.summary(model, print_fn=captured.append, **kwargs)
    assert len(captured) == 1  # print_fn gets the whole summary once, as Keras gives it
    return captured[0]


def added_span(lines: list[str]) -> tuple[int, int]:
    """The character span of the MACs and FLOPs columns, read off the header line."""
    header = [line for line in lines if line.startswith("┃")]  # wraps onto several lines
    separators = [i for i, char in enumerate(header[0]) if char == "┃"]
    added = [" ".join(line[a + 1:b].strip() for line in header).strip()
             for a, b in pairwise(separators[3:6])]
    assert added == ["MACs", "FLOPs"], header
    return separators[3], separators[5]


def without_added(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """The lines with the added columns cut out, and the added cells of each body line."""
    start, end = added_span(lines)
    kept, cells = [], []
    for line in lines:
        if line[:1] in BOX:
            kept.append(line[:start] + line[end:])
            if line.startswith("│"):
                cells.append([c.strip() for c in line[start + 1:end].split("│")])
        else:
            kept.append(line)
    return kept, cells


def _compare(model, analysis: dict | None = None, **kwargs) -> list[list[str]]:
    theirs = keras_text(model, **kwargs).splitlines()
    ours, cells = without_added(convcost_text(model, **kwargs, **(analysis or {})).splitlines())
    assert ours[:len(theirs)] == theirs
    assert len(ours) == len(theirs) + 3 + ("Outside the listed layers" in "".join(ours))
    return cells


@pytest.mark.parametrize("name", MODELS)
def test_every_line_is_keras_apart_from_the_added_columns(models, name):
    cells = _compare(models[name])
    macs = [c[0] for c in cells if c[0]]  # a wrapped row's second line has empty cells
    assert "-" not in macs  # every listed layer has a count (InputLayer: 0)


@pytest.mark.parametrize("name", ["v1", "resnet50"])
def test_keras_options_give_keras_lines(models, name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # Keras crops lines wider than the terminal
    model = models[name]
    _compare(model, show_trainable=True)
    _compare(model, line_length=150)
    _compare(model, line_length=130, positions=[0.4, 0.6, 0.7, 1.0] if name == "resnet50"
             else [0.5, 0.7, 1.0])
    first, last = model.layers[1].name, model.layers[4].name
    _compare(model, layer_range=[first, last])


@pytest.mark.parametrize("columns", ["60", "200"])
def test_terminal_width_is_read_as_keras_reads_it(models, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    _compare(models["v2"])


def test_v1_macs_column_by_hand_and_totals(models):
    text = convcost_text(models["v1"])
    _, cells = without_added(text.splitlines())
    macs = [int(c[0].replace(",", "")) for c in cells]
    # the article's v1 by hand: conv 3·3·1·32·14·14, separable blocks dw k²·c·hw + pw c·c'·hw
    hand = [0, 3 * 3 * 32 * 196, 9 * 32 * 196, 32 * 64 * 196, 9 * 64 * 196, 64 * 128 * 196,
            9 * 128 * 49, 128 * 128 * 49, 0, 0, 128 * 128, 0, 128 * 10]
    assert macs == hand
    assert f" Total MACs: {sum(hand):,} " in text
    flops = sum(int(c[1].replace(",", "")) for c in cells)
    assert f" Total FLOPs: {flops:,} " in text  # the column re-adds to the printed total
    assert f" Params check: {models['v1'].count_params():,} counted = count_params() ✓" in text


def test_nested_model_expanded_as_keras_expands_it():
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="d1"),
                              keras.layers.Dense(2, name="d2")], name="inner")
    inputs = keras.Input((8,))
    outer = keras.Model(inputs, keras.layers.Dense(3, name="head")(inner(inputs)), name="outer")
    cells = _compare(outer, expand_nested=True)
    # rows: input, inner (8·4 + 4·2), └ d1, └ d2, head (2·3)
    assert [c[0] for c in cells] == ["0", "40", "32", "8", "6"]


def test_optimizer_params_line_kept(models):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    assert " Optimizer params: " in keras_text(model)
    _compare(model)


def test_bad_arguments_are_one_line_errors(models):
    with pytest.raises(ConvcostError, match="Received: list"):
        convcost.summary([1, 2])
    with pytest.raises(ConvcostError, match="do not match the layer names"):
        convcost.summary(models["v1"], layer_range=["nope", "nada"])
    with pytest.raises(ConvcostError, match="Insufficient console width"):
        convcost.summary(models["v1"], line_length=10)


def test_printed_to_stdout_without_print_fn(models, capsys):
    convcost.summary(models["v1"])
    assert capsys.readouterr().out == convcost_text(models["v1"])


def test_subclassed_model_own_arithmetic_is_shown_outside_the_layers():
    class Shifted(keras.Model):
        def __init__(self):
            super().__init__(name="shifted")
            self.first, self.second = keras.layers.Dense(4), keras.layers.Dense(2)

        def call(self, x):
            return self.second(self.first(x) + 1.0)

    model = Shifted()
    model(keras.ops.zeros((1, 8)))
    cells = _compare(model, analysis={"input_shape": (8,)})
    assert [c[0] for c in cells] == ["32", "8"]  # 8·4 and 4·2
    text = convcost_text(model, input_shape=(8,))
    assert " Outside the listed layers: 0 MACs, 4 FLOPs " in text  # + 1.0 on 4 elements
    assert " Total FLOPs: 90 " in text  # 2·32 + 4 bias, + 4, 2·8 + 2 bias
