"""A ``.tflite`` file against the Keras model it came from: the same MACs, and every params
difference explained.

The converter keeps every multiply of the convolutions and matrix products, so the MACs of
each kind (standard, depthwise, pointwise, fully_connected) must be equal. Params differ, for
reasons this module names and counts exactly, each from its own side:

* **batch norm folded**: a ``BatchNormalization`` has no op in the file; its scale and shift are
  folded into the weights and bias of the neighbouring convolution or dense layer, so its four
  numbers per channel disappear;
* **zero biases dropped**: a Keras bias that is all zeros (a freshly built model) is not stored;
* **biases created**: a Keras layer without bias gets one when a batch norm is folded into it;
* **other constants**: element-wise ops of the file with constant operands (a batch norm that
  could not be folded), against Keras layers with params that are neither convolution, dense
  nor batch norm;
* **shared constants**: identical constants are stored once (two biases that get the same
  gradient from the same start, such as a projection's and a shortcut's before an ``Add``,
  stay equal bit for bit); the file then stores fewer params than its ops use.

Ops are paired with Keras layers by (kind, MACs, weights), in the order they come. Then
``Keras params - batch norm - dropped + created - Keras other + file other`` must equal the
params the file's ops use, and that minus the shared constants what it stores; any remainder is
reported as unexplained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost.count.report import Report
from convcost.count.tflite import OpCost, TfliteAnalysis

WEIGHTED_KINDS = ("standard", "depthwise", "pointwise", "fully_connected")


@dataclass(frozen=True)
class Unit:
    """One weighted piece: a Keras layer's (or a file op's) weights, bias and MACs."""

    path: str
    kind: str
    macs: int
    weights: int
    bias: int
    bias_is_zero: bool = False

    @property
    def key(self) -> tuple[str, int, int]:
        return self.kind, self.macs, self.weights


@dataclass(frozen=True)
class KindTotals:
    """Weights, biases and MACs of one kind, on both sides."""

    kind: str
    keras_weights: int
    file_weights: int
    keras_biases: int
    file_biases: int
    keras_macs: int
    file_macs: int


@dataclass(frozen=True)
class TfliteCheck:
    """The comparison; see the module docstring for each term."""

    keras_model: str
    file: str
    kinds: tuple[KindTotals, ...]
    keras_params: int
    batchnorm_params: int
    dropped_zero_biases: int
    created_biases: int
    keras_other_params: int
    file_other_params: int
    file_params_per_op: int
    shared_params: int
    file_params_stored: int
    unmatched_keras: tuple[str, ...]
    unmatched_file: tuple[str, ...]
    unexplained_biases: tuple[str, ...]

    @property
    def macs_match(self) -> bool:
        return all(k.keras_macs == k.file_macs for k in self.kinds)

    @property
    def weights_match(self) -> bool:
        return all(k.keras_weights == k.file_weights for k in self.kinds)

    @property
    def expected_params_per_op(self) -> int:
        """Keras params with every named difference applied."""
        return (self.keras_params - self.batchnorm_params - self.dropped_zero_biases
                + self.created_biases - self.keras_other_params + self.file_other_params)

    @property
    def unexplained_params(self) -> int:
        return self.file_params_per_op - self.expected_params_per_op

    @property
    def ok(self) -> bool:
        """MACs and weights equal per kind, and every params difference explained."""
        return (self.macs_match and self.weights_match and self.unexplained_params == 0
                and not (self.unmatched_keras or self.unmatched_file or self.unexplained_biases)
                and self.file_params_per_op - self.shared_params == self.file_params_stored)


def check_against(tflite: TfliteAnalysis, keras: Report) -> TfliteCheck:
    """Compare a counted ``.tflite`` file with the Report of the Keras model it came from.

    Args:
        tflite: :func:`convcost.count.tflite.analyze_tflite` of the file.
        keras: :func:`convcost.count.walker.analyze` of the Keras model (its rows carry the
            layers, whose biases are read to tell zero biases).
    """
    keras_units = keras_weighted_units(keras)
    file_units = [_file_unit(cost) for cost in tflite.costs if cost.kind in WEIGHTED_KINDS]
    pairs, lone_keras, lone_file = pair_units(keras_units, file_units)
    dropped, created, unexplained = _bias_changes(pairs)
    batchnorm = sum(row.params for row in keras.layers if row.type == "BatchNormalization")
    weighted_rows = {u.path for u in keras_units}
    keras_other = sum(row.params for row in keras.layers
                      if row.type != "BatchNormalization" and row.path not in weighted_rows)
    file_other = sum(cost.own_params for cost in tflite.costs if cost.kind not in WEIGHTED_KINDS)
    return TfliteCheck(
        keras.model, tflite.report.model, _kind_totals(keras_units, file_units), keras.params,
        batchnorm, dropped, created, keras_other, file_other, tflite.params_per_op,
        tflite.shared_params, tflite.report.params, tuple(u.path for u in lone_keras),
        tuple(u.path for u in lone_file), unexplained)


def keras_weighted_units(report: Report) -> list[Unit]:
    """One unit per weighted piece of the Keras rows; a layer's bias goes to its last piece."""
    units = []
    for row in report.layers:
        weighted = [p for p in row.pieces if p.kind in WEIGHTED_KINDS]
        bias, zero = _keras_bias(row.operation) if row.call_index == 0 else (0, False)
        for number, piece in enumerate(weighted):
            own_bias = bias if number == len(weighted) - 1 else 0
            units.append(Unit(row.path, piece.kind, piece.macs, piece.params - own_bias,
                              own_bias, zero))
    return units


def _keras_bias(layer: Any) -> tuple[int, bool]:
    """Elements of a layer's bias and whether they are all zero ((0, False) without one)."""
    bias = getattr(layer, "bias", None) if getattr(layer, "use_bias", False) else None
    if bias is None:
        return 0, False
    import numpy as np

    values = np.asarray(bias)
    return int(values.size), not values.any()


def _file_unit(cost: OpCost) -> Unit:
    return Unit(f"{cost.op.index}:{cost.hint}" if cost.hint else str(cost.op.index),
                cost.kind, cost.macs, cost.weights, cost.bias)


def pair_units(keras: Sequence[Unit], file: Sequence[Unit]
               ) -> tuple[list[tuple[Unit, Unit]], list[Unit], list[Unit]]:
    """Pair units with the same (kind, MACs, weights), in order; return the pairs and the
    units of each side left without a partner."""
    waiting: dict[tuple[str, int, int], list[Unit]] = {}
    for unit in file:
        waiting.setdefault(unit.key, []).append(unit)
    pairs, lone = [], []
    for unit in keras:
        match = waiting.get(unit.key)
        if match:
            pairs.append((unit, match.pop(0)))
        else:
            lone.append(unit)
    return pairs, lone, [u for units in waiting.values() for u in units]


def _bias_changes(pairs: Sequence[tuple[Unit, Unit]]) -> tuple[int, int, tuple[str, ...]]:
    """(zero bias elements dropped, bias elements created, pairs whose change is unexplained)."""
    dropped = created = 0
    unexplained = []
    for keras, file in pairs:
        if keras.bias == file.bias:
            continue
        if file.bias == 0 and keras.bias_is_zero:
            dropped += keras.bias
        elif keras.bias == 0:
            created += file.bias
        else:
            unexplained.append(f"{keras.path} (bias {keras.bias:,}) / {file.path} "
                               f"(bias {file.bias:,})")
    return dropped, created, tuple(unexplained)


def _kind_totals(keras: Sequence[Unit], file: Sequence[Unit]) -> tuple[KindTotals, ...]:
    def total(units: Sequence[Unit], kind: str, field: str) -> int:
        return sum(getattr(u, field) for u in units if u.kind == kind)

    return tuple(KindTotals(kind, *(total(side, kind, name) for name in
                                    ("weights", "bias", "macs") for side in (keras, file)))
                 for kind in WEIGHTED_KINDS)
