"""Compare models: the layers they share unchanged, and the cost of the part that differs.

Works on :class:`~convcost.count.report.Report` objects alone: each layer row carries the
Keras operation that made it, and :func:`signature` reads its class, ``get_config()`` without
``name`` and, for convolutions, the kernel and filters. Nothing here walks a model again or
imports Keras.

A row of the first model (A) and a row of another (B) are *shared unchanged* when their class,
config and input/output shapes are equal. Rows are matched by path first, then by
config and shapes alone (a renamed but identical layer still counts as shared). What is left
on each side is the *differing part*. For every standard k x k convolution in A's differing
part the formula of the MobileNet paper predicts what a depthwise separable replacement costs:

    separable / standard = 1/N + 1/D_K**2      (N output channels, D_K**2 kernel positions)

exactly for weights and mult-adds. It predicts ``other`` only when ``other`` *is* such a
rewrite (:attr:`PairComparison.separable_rewrite`: each standard conv found as a k x k
depthwise + 1 x 1 pair of the same shapes, nothing else with MACs changed); otherwise it is
kept as what a separable rewrite of A would cost, and renderers say it does not apply.
Keras also stores a bias per output channel: a standard conv has N of them, its replacement
M + N (depthwise and pointwise each have one), so the measured params ratio is a little above
the prediction; mult-adds carry no bias, so there the prediction is exact when each conv was
replaced by a depthwise k x k conv (same stride) and a 1x1 conv.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.count.report import LayerCost, Report, require_report
from convcost.count.shapes import elements
from convcost.errors import ConvcostError

BIAS_NOTE = (
    "The formula 1/N + 1/D_K² counts weights only. Keras adds one bias per output channel: "
    "N for a standard conv, M + N for its depthwise + pointwise replacement, so the measured "
    "params ratio is slightly above the prediction. Mult-adds have no bias term: there the "
    "prediction is exact when each k×k conv became a k×k depthwise (same stride) + 1×1 conv."
)


@dataclass(frozen=True)
class LayerSignature:
    """What identifies a layer apart from its name: class, config, and conv geometry.

    Args:
        type: the Keras class name.
        config: a canonical string of ``get_config()`` without ``name`` (``None`` when the
            layer has no config; such a layer never matches).
        kernel: the kernel size of a convolution, else ``None``.
        filters: the output channels of a convolution, else ``None``.
        groups: the groups of a convolution (1 for an ordinary one).
    """

    type: str
    config: str | None
    kernel: tuple[int, ...] | None = None
    filters: int | None = None
    groups: int = 1


Signatures = Mapping[str, LayerSignature]


@dataclass(frozen=True)
class Prediction:
    """The formula's prediction for one standard conv of A's differing part."""

    path: str
    kernel: tuple[int, ...]
    filters: int
    params: int
    macs: int

    @property
    def ratio(self) -> float:
        """separable / standard = 1/N + 1/D_K² (D_K² = all kernel positions)."""
        positions = elements(self.kernel)
        return float(Fraction(1, self.filters) + Fraction(1, positions))


@dataclass(frozen=True)
class Side:
    """The differing rows of one model and their summed cost."""

    paths: tuple[str, ...]
    params: int
    macs: int
    flops: int


@dataclass(frozen=True)
class PairComparison:
    """Model ``other`` against the first model ``base``: shared layers, differing part."""

    base: str
    other: str
    shared: tuple[tuple[str, str], ...]
    base_part: Side
    other_part: Side
    predictions: tuple[Prediction, ...]
    unmatched_base: tuple[str, ...] = ()
    unmatched_other: tuple[str, ...] = ()

    @property
    def separable_rewrite(self) -> bool:
        """Whether ``other`` is a depthwise separable rewrite of ``base``'s differing part:
        every standard k×k conv there became a k×k depthwise conv (same input, same output
        size) and a 1×1 conv (same output), and nothing else with MACs changed. Only then
        does 1/N + 1/D_K² predict ``other``; otherwise the prediction is what a separable
        replacement of ``base``'s convs would cost, not ``other``."""
        return bool(self.predictions) and not (self.unmatched_base or self.unmatched_other)

    @property
    def params_ratio(self) -> float | None:
        """Measured other/base params on the differing part (``None`` if base has none)."""
        return _ratio(self.other_part.params, self.base_part.params)

    @property
    def macs_ratio(self) -> float | None:
        return _ratio(self.other_part.macs, self.base_part.macs)

    @property
    def predicted_params_ratio(self) -> float | None:
        """1/N + 1/D_K² averaged over A's standard convs, weighted by their params."""
        return _weighted(self.predictions, "params")

    @property
    def predicted_macs_ratio(self) -> float | None:
        """1/N + 1/D_K² averaged over A's standard convs, weighted by their MACs."""
        return _weighted(self.predictions, "macs")

    @property
    def covered_params(self) -> int:
        """Params of A's differing part that the prediction covers (its standard convs)."""
        return sum(p.params for p in self.predictions)

    @property
    def covered_macs(self) -> int:
        return sum(p.macs for p in self.predictions)


@dataclass(frozen=True)
class Comparison:
    """Several models against the first: their reports and one pair per other model."""

    reports: tuple[Report, ...]
    pairs: tuple[PairComparison, ...]

    def to_pandas(self, *, layers: bool = False) -> Any:
        """One row per model (totals, ratios to the first model) as a pandas DataFrame, or
        with ``layers=True`` one row per layer call of every model (a ``model`` column, then
        the layer fields of ``Report.to_pandas()``). pandas: the ``report`` extra."""
        # A notebook hook: the one import of render from analysis (docs/architecture.md).
        from convcost.render.notebook import comparison_frame

        return comparison_frame(self, layers=layers)

    def _repr_html_(self) -> str:
        """What a notebook shows: totals side by side, then each pair's differing part."""
        from convcost.render.notebook import comparison_html

        return comparison_html(self)


def compare(reports: Sequence[Report],
            signatures: Sequence[Signatures] | None = None) -> Comparison:
    """Compare every report with the first one.

    Args:
        reports: two or more reports; the first is the baseline.
        signatures: for each report, its layers' signatures by path (row paths of the report);
            default: read from the operations the rows carry (:func:`signatures_of`).
    """
    if not isinstance(reports, Sequence) or isinstance(reports, str):
        raise ConvcostError(f"compare() takes a list of Reports (convcost.analyze). Received: "
                            f"{type(reports).__name__}.")
    if len(reports) < 2:
        raise ConvcostError(f"compare needs at least two models. Received: {len(reports)}.")
    for report in reports:
        require_report(report, "compare")
    if signatures is None:
        signatures = [signatures_of(report) for report in reports]
    if len(signatures) != len(reports):
        raise ConvcostError(f"One set of layer signatures per model is needed. Received: "
                            f"{len(signatures)} for {len(reports)} models.")
    base, base_sigs = reports[0], signatures[0]
    pairs = tuple(compare_pair(base, base_sigs, report, sigs)
                  for report, sigs in zip(reports[1:], signatures[1:]))
    return Comparison(tuple(reports), pairs)


def signatures_of(report: Report) -> dict[str, LayerSignature]:
    """The signature of every row's operation, by path (rows without one are left out)."""
    return {row.path: signature(row.operation) for row in report.layers
            if row.operation is not None}


def signature(layer: Any) -> LayerSignature:
    """What identifies ``layer`` apart from its name: class, config, conv geometry."""
    return LayerSignature(type(layer).__name__, _config_key(layer), _ints(layer, "kernel_size"),
                          _int(layer, "filters"), _int(layer, "groups") or 1)


def _config_key(layer: Any) -> str | None:
    try:
        config = dict(layer.get_config())
    except Exception:  # a custom layer without get_config: it never matches
        return None
    config.pop("name", None)
    return json.dumps(config, sort_keys=True, default=repr)


def _ints(layer: Any, attribute: str) -> tuple[int, ...] | None:
    value = getattr(layer, attribute, None)
    return tuple(int(v) for v in value) if isinstance(value, tuple | list) else None


def _int(layer: Any, attribute: str) -> int | None:
    value = getattr(layer, attribute, None)
    return int(value) if isinstance(value, int) else None


def compare_pair(base: Report, base_sigs: Signatures, other: Report,
                 other_sigs: Signatures) -> PairComparison:
    """Match ``base``'s rows with ``other``'s, then cost and predict the differing part."""
    matches = match_rows(base, base_sigs, other, other_sigs)
    matched_base = {i for i, _ in matches}
    matched_other = {j for _, j in matches}
    base_rows = [row for i, row in enumerate(base.layers) if i not in matched_base]
    other_rows = [row for j, row in enumerate(other.layers) if j not in matched_other]
    predictions = tuple(p for row in base_rows
                        if (p := predict(row, base_sigs.get(row.path))) is not None)
    return PairComparison(
        base=base.model, other=other.model,
        shared=tuple((base.layers[i].path, other.layers[j].path) for i, j in sorted(matches)),
        base_part=_side(base_rows), other_part=_side(other_rows), predictions=predictions,
        **dict(zip(("unmatched_base", "unmatched_other"),
                   unmatched_by_rewrite(base_rows, other_rows, predictions, other_sigs))),
    )


def unmatched_by_rewrite(base_rows: Sequence[LayerCost], other_rows: Sequence[LayerCost],
                         predictions: Sequence[Prediction], other_sigs: Signatures
                         ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths of rows with MACs (base side, other side) a separable rewrite does not explain.

    Each predicted standard conv must find, among ``other``'s differing rows, a depthwise conv
    with its kernel, input and output size, and a 1×1 conv from that depthwise output to the
    standard conv's output. Left-over rows with MACs on either side are returned.
    """
    free = [row for row in other_rows if row.macs]
    predicted = {p.path: p for p in predictions}
    unmatched = [row.path for row in base_rows if row.macs and not (
        row.path in predicted and _take_pair(row, predicted[row.path], free, other_sigs))]
    return tuple(unmatched), tuple(row.path for row in free)


def _take_pair(conv: LayerCost, prediction: Prediction, free: list[LayerCost],
               sigs: Signatures) -> bool:
    """Find and remove the depthwise + 1×1 pair that replaces ``conv``."""
    for dw in free:
        sig = sigs.get(dw.path)
        if (dw.kind != "depthwise" or sig is None or sig.kernel != prediction.kernel
                or dw.input_shapes[:1] != conv.input_shapes[:1]
                or dw.output_shape[:-1] != conv.output_shape[:-1]):
            continue
        for pw in free:
            if pw.kind == "pointwise" and pw.input_shapes[:1] == (dw.output_shape,) \
                    and pw.output_shape == conv.output_shape:
                free.remove(dw)
                free.remove(pw)
                return True
    return False


def match_rows(base: Report, base_sigs: Signatures, other: Report,
               other_sigs: Signatures) -> list[tuple[int, int]]:
    """Pairs (base row index, other row index) of rows shared unchanged; each row used once.

    A row matches a row of the same path first; failing that, the first free row with the same
    class, config and shapes.
    """
    free: dict[tuple, list[int]] = {}
    by_path: dict[str, list[int]] = {}
    for j, row in enumerate(other.layers):
        key = _key(row, other_sigs)
        if key is not None:
            free.setdefault(key, []).append(j)
            by_path.setdefault(row.path, []).append(j)
    matches: list[tuple[int, int]] = []
    pending: list[tuple[int, tuple]] = []
    for i, row in enumerate(base.layers):
        key = _key(row, base_sigs)
        if key is None:
            continue
        same_name = [j for j in by_path.get(row.path, []) if j in free.get(key, [])]
        if same_name:
            free[key].remove(same_name[0])
            matches.append((i, same_name[0]))
        else:
            pending.append((i, key))
    for i, key in pending:  # fallback: same config and shapes under another name
        if free.get(key):
            matches.append((i, free[key].pop(0)))
    return matches


def predict(row: LayerCost, signature: LayerSignature | None) -> Prediction | None:
    """The formula's prediction for ``row`` if it is a standard k×k conv (k > 1, no groups)."""
    if signature is None or signature.kernel is None or signature.filters is None:
        return None
    if row.kind != "standard" or signature.groups != 1 or all(k == 1 for k in signature.kernel):
        return None
    return Prediction(row.path, signature.kernel, signature.filters, row.params, row.macs)


def _key(row: LayerCost, signatures: Signatures) -> tuple | None:
    signature = signatures.get(row.path)
    if signature is None or signature.config is None:
        return None
    return (signature.type, signature.config, row.input_shapes, row.output_shape)


def _side(rows: Sequence[LayerCost]) -> Side:
    return Side(tuple(row.path for row in rows), sum(row.params for row in rows),
                sum(row.macs for row in rows), sum(row.flops for row in rows))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _weighted(predictions: Sequence[Prediction], weight: str) -> float | None:
    total = sum(getattr(p, weight) for p in predictions)
    if not total:
        return None
    return sum(getattr(p, weight) * p.ratio for p in predictions) / total
