"""The data of ``convcost.summary(model)``: the rows and totals of Keras' ``model.summary()``,
each row with the MACs and FLOPs of its layer from a cost :class:`~convcost.count.report.Report`.

Keras' cells (name, output shape, params, connections, trainable) are taken from Keras' own
helpers, in its rich markup, so that the summary reads exactly as ``model.summary()`` does; the
costs are exact integers summed from the report's leaf rows under the layer's path (all its
calls, and for a nested model every layer inside it). :mod:`convcost.render.summary` lays them
out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

from convcost.count import keras_internals as internals
from convcost.count.report import LayerCost, Report

NESTED_PREFIX = "   "
"""One level of nesting in the name column, before Keras' ``└ ``."""


@dataclass(frozen=True)
class SummaryRow:
    """One line of the table: Keras' cells (rich markup) and the layer's costs.

    ``macs``/``flops`` are None when the report has no row for the layer (it was never called;
    an ``InputLayer`` costs 0: it only stands for the input);
    ``complete`` is False when some call under it is not fully counted.
    """

    name: str
    shape: str
    params: str
    connections: str
    trainable: str
    macs: int | None
    flops: int | None
    complete: bool = True


@dataclass(frozen=True)
class WeightTotal:
    """A count of weights and their size in bytes, as Keras' totals block shows them."""

    count: int
    size: float


@dataclass(frozen=True)
class SummaryData:
    """Everything ``convcost.summary`` prints: Keras' table and totals, plus the costs."""

    model: str
    sequential_like: bool
    show_trainable: bool
    rows: tuple[SummaryRow, ...]
    trainable: WeightTotal
    non_trainable: WeightTotal
    optimizer: WeightTotal | None
    macs: int
    flops: int
    params: int
    keras_params: int
    complete: bool
    outside: tuple[int, int] = (0, 0)
    """MACs and FLOPs of calls under no listed layer (a subclassed model's own arithmetic);
    (0, 0) when ``layer_range`` selects some layers (the rest is left out on purpose)."""


def summary_data(model: Any, report: Report, *, expand_nested: bool = False,
                 show_trainable: bool = False, layer_range: Any = None) -> SummaryData:
    """The summary of ``model`` (already analysed into ``report``), as ``model.summary()``
    with the same ``expand_nested``, ``show_trainable`` and ``layer_range``."""
    layers, sequential_like = internals.summary_layers(model)
    low, high = internals.summary_range(layers, layer_range)
    context = _Context(model, report, sequential_like, show_trainable, expand_nested)
    rows = [row for layer in layers[low:high] for row in context.rows(layer, "", 0)]
    utils = internals.summary_utils()
    trainable = internals.trainable_weights_summarised(model)
    return SummaryData(
        model=model.name, sequential_like=sequential_like, show_trainable=show_trainable,
        rows=tuple(rows), trainable=_total(utils, trainable),
        non_trainable=_total(utils, model.non_trainable_weights),
        optimizer=_optimizer_total(utils, model), macs=report.macs, flops=report.flops,
        params=report.params, keras_params=report.keras_count_params,
        complete=not report.unsupported,
        outside=_outside(report, layers) if layer_range is None else (0, 0))


def _outside(report: Report, layers: list[Any]) -> tuple[int, int]:
    """MACs and FLOPs of the report's rows under none of ``layers`` (by path)."""
    names = {layer.name for layer in layers}
    rows = [r for r in report.layers if r.path.split("/")[0] not in names]
    return sum(r.macs for r in rows), sum(r.flops for r in rows)


def _total(utils: Any, weights: Any) -> WeightTotal:
    weights = list(weights)
    return WeightTotal(utils.count_params(weights), utils.weight_memory_size(weights))


def _optimizer_total(utils: Any, model: Any) -> WeightTotal | None:
    optimizer = getattr(model, "optimizer", None)
    if not (getattr(model, "compiled", False) and optimizer and optimizer.built):
        return None
    return _total(utils, optimizer.variables)


class _Context:
    """What every row needs: the model, the report's rows by path, and the options."""

    def __init__(self, model: Any, report: Report, sequential_like: bool,
                 show_trainable: bool, expand_nested: bool) -> None:
        self.model = model
        self.report_rows = report.layers
        self.sequential_like = sequential_like
        self.show_trainable = show_trainable
        self.expand_nested = expand_nested

    def rows(self, layer: Any, path: str, level: int) -> list[SummaryRow]:
        """The row of ``layer`` and, with ``expand_nested``, those of its sub-layers."""
        path = f"{path}/{layer.name}" if path else layer.name
        rows = [self.row(layer, path, level)]
        if self.expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows += self.rows(inner, path, level + 1)
        return rows

    def row(self, layer: Any, path: str, level: int) -> SummaryRow:
        utils = internals.summary_utils()
        prefix = NESTED_PREFIX * level + "└ " if level else ""
        name = _escape(prefix + layer.name)
        name += f" ({utils.highlight_symbol(_escape(type(layer).__name__))})"
        calls = _calls_under(self.report_rows, path)
        nothing = not calls and isinstance(layer, keras.layers.InputLayer)  # a placeholder
        connections = "" if self.sequential_like else internals.summary_connections(
            layer, self.model)
        return SummaryRow(
            name=name, shape=internals.summary_shape(layer), params=_params_cell(utils, layer),
            connections=connections,
            trainable=_trainable_cell(utils, layer) if self.show_trainable else "",
            macs=sum(r.macs for r in calls) if calls or nothing else None,
            flops=sum(r.flops for r in calls) if calls or nothing else None,
            complete=all(r.supported for r in calls))


def _calls_under(rows: tuple[LayerCost, ...], path: str) -> list[LayerCost]:
    """The report's rows of the layer at ``path`` and of every layer inside it."""
    return [r for r in rows if r.path == path or r.path.startswith(path + "/")]


def _params_cell(utils: Any, layer: Any) -> str:
    if not hasattr(layer, "built"):
        return str(utils.highlight_number(0))
    if not layer.built:
        return f"{utils.highlight_number(0)} (unbuilt)"
    return str(utils.highlight_number(f"{layer.count_params():,}"))


def _trainable_cell(utils: Any, layer: Any) -> str:
    if getattr(layer, "weights", None):
        return str(utils.bold_text("Y", color=34) if layer.trainable
                   else utils.bold_text("N", color=9))
    return str(utils.bold_text("-"))


def _escape(text: str) -> str:
    """Text shown literally inside rich markup (Keras escapes names the same way)."""
    import rich.markup

    return rich.markup.escape(text)

