"""The Python API's entry points answer bad arguments with a one-line ConvcostError (what was
wrong, then what was received), never a raw AttributeError or TypeError from deep inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import convcost
from convcost.errors import ConvcostError


def _report() -> Any:
    return convcost.analyze("naive")


def _calls() -> list[tuple[str, Callable[[], Any], str]]:
    from convcost.analysis.compare import compare
    from convcost.analysis.memory import memory
    from convcost.analysis.training import training_cost
    from convcost.analysis.training_memory import training_memory
    from convcost.models import zoo

    return [
        ("analyze_symbolic(42)", lambda: convcost.analyze_symbolic(42),
         r"analyze_symbolic\(\) takes a Keras model or a zoo name. Received: int."),
        ("analyze_symbolic('v1', input_shape='x')",
         lambda: convcost.analyze_symbolic("v1", input_shape="x"),
         r"input_shape sizes must be positive whole numbers. Received: \('x',\)."),
        ("analyze_symbolic('gpt2', input_shape=('x',))",
         lambda: convcost.analyze_symbolic("gpt2", input_shape=("x",)),
         r"seq_len must be a positive integer. Received: 'x'."),
        ("training_cost(None)", lambda: training_cost(None),
         r"training_cost\(\) takes the Report of convcost.analyze\(model\). Received: NoneType."),
        ("training_cost('v1')", lambda: training_cost("v1"), r"Received: str."),
        ("memory(None)", lambda: memory(None), r"memory\(\) takes the Report"),
        ("training_memory(None, None)", lambda: training_memory(None, None),
         r"training_memory\(\) takes the TrainingCost"),
        ("compare(None)", lambda: compare(None),
         r"compare\(\) takes a list of Reports .* Received: NoneType."),
        ("compare([report, 3])", lambda: compare([_report(), 3]),
         r"compare\(\) takes the Report .* Received: int."),
        ("register_rule(42)", lambda: convcost.register_rule(42),
         r"register_rule\(\) takes layer classes .* Received: 42."),
        ("register_rule()", lambda: convcost.register_rule(), r"Received: no class."),
        ("zoo.build(3)", lambda: zoo.build(3), r"A zoo model name is a string.*Received: int."),
    ]


CALLS = _calls()


@pytest.mark.parametrize(("call", "pattern"), [(c[1], c[2]) for c in CALLS],
                         ids=[c[0] for c in CALLS])
def test_bad_arguments_are_one_line_errors(call: Callable[[], Any], pattern: str) -> None:
    with pytest.raises(ConvcostError, match=pattern) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_register_rule_refuses_to_decorate_a_non_function() -> None:
    import keras

    class Scale(keras.layers.Layer):
        pass

    with pytest.raises(ConvcostError, match=r"decorates a function .* Received: int."):
        convcost.register_rule(Scale)(3)
