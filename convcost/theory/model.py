"""Whole-model cost as an exact polynomial of the free input sizes (``analyze --symbolic``).

The engine never sees a Keras model: it is handed a *sampler*, a function from input sizes
(``{"H": 224, "W": 224}``, or ``{"L": 512}``) to the :class:`~convcost.count.report.Report` of
the model at those sizes, and it derives every count of the report (totals, each kind, each
Keras class, each layer call, each output size) as a polynomial in the size symbols, by exact
interpolation:

1. **Lattice.** Two probes at sizes ``P`` and ``2P`` (``P = 6720``, divisible by 2^6, 3, 5 and
   7, or the largest probe the model takes) give each layer's output size as an exact rational
   slope of the input size: ``1/32`` for a map 32 times smaller. The lattice step of a symbol is
   the least common multiple of the slopes' denominators (the network's total stride). On
   multiples of it every ``floor``/``ceil`` of a strided layer divides exactly, so every size
   inside the model is an affine function of the input size, and every count a polynomial.
2. **Minimum.** The smallest multiple the model takes (doubling, then bisection).
3. **Degree** per symbol: sizes along one symbol at consecutive lattice points until every
   count's next finite difference is zero (at most :data:`MAX_DEGREE`).
4. **Fit**: tensor-product Lagrange interpolation on ``(degree + 1)`` points per symbol, in
   exact rationals (:class:`fractions.Fraction`).
5. **Proof**: every count of the polynomial is compared with the reports at held-back lattice
   points (two, plus the analysed size when it is on the lattice), produced by ``check`` (by
   default the sampler itself; for zoo models a fresh build). One disagreement and no formula
   is returned: a :class:`~convcost.errors.ConvcostError` says where and by how much.

Off the lattice the formula is not exact (a strided layer rounds its size up with ``'same'``
padding, down with ``'valid'``); :class:`BaseCheck` reports the difference at the analysed size.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcost.count.report import KINDS, Report
from convcost.errors import ConvcostError
from convcost.theory.polynomial import SYMBOLS, Point, Polynomial

__all__ = ["MAX_DEGREE", "SYMBOLS", "BaseCheck", "Domain", "GroupFormula", "LayerFormula",
           "ModelFormula", "NotPolynomial", "Polynomial", "derive", "rows_match"]

Sample = Callable[[Mapping[str, int]], Report]
Key = tuple[Any, ...]

MAX_DEGREE = 4
START_TRIES = 3  # fit from the smallest lattice size the model takes, or up to 2 steps above
PROBES = (6720, 960, 192, 64, 16, 4, 1)  # P, tried in order: the first (P, 2P) the model takes
MAX_MULTIPLE = 4096  # the minimum search gives up beyond this many lattice steps
TOTALS = ("params", "trainable_params", "non_trainable_params", "macs", "other_flops", "flops")
FIELDS = ("params", "macs", "other_flops", "flops")


class NotPolynomial(ConvcostError):
    """The counts are not one polynomial of degree at most :data:`MAX_DEGREE` on the lattice."""


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """Where a formula is exact: each size a multiple of its step, from a minimum (to a maximum)."""

    names: tuple[str, ...]
    steps: tuple[int, ...]
    minimum: tuple[int, ...]
    maximum: tuple[int | None, ...]

    def contains(self, sizes: Sequence[int]) -> bool:
        """Whether the sizes lie on the lattice where the formula is exact."""
        return all(s % step == 0 and s >= low and (high is None or s <= high)
                   for s, step, low, high in zip(sizes, self.steps, self.minimum, self.maximum))

    @property
    def text(self) -> str:
        """``exact for H, W multiples of 32, at least 32`` (or ``for every L ≥ 1``)."""
        names = ", ".join(self.names)
        if set(self.steps) == {1}:
            where = f"every {names} ≥ {_same(self.minimum)}"
        else:
            where = f"{names} multiples of {_same(self.steps)}, at least {_same(self.minimum)}"
        if any(m is not None for m in self.maximum):
            where += f", at most {_same(self.maximum)}"
        return f"exact for {where}"

    def to_dict(self) -> dict[str, Any]:
        """The domain as a JSON object: symbols, step, minimum, maximum and its text."""
        return {"symbols": list(self.names), "step": dict(zip(self.names, self.steps)),
                "minimum": dict(zip(self.names, self.minimum)),
                "maximum": dict(zip(self.names, self.maximum)), "text": self.text}


def _same(values: Sequence[int | None]) -> str:
    shown = ["∞" if v is None else str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "/".join(shown)


@dataclass(frozen=True)
class GroupFormula:
    """Params, MACs and FLOPs of one kind (or Keras class) as polynomials."""

    key: str
    params: Polynomial
    macs: Polynomial
    flops: Polynomial


@dataclass(frozen=True)
class LayerFormula:
    """One layer call (matched across sizes by path and call index) as polynomials."""

    path: str
    name: str
    type: str
    call_index: int
    params: Polynomial
    macs: Polynomial
    other_flops: Polynomial
    flops: Polynomial
    output_shape: tuple[Polynomial, ...]


@dataclass(frozen=True)
class BaseCheck:
    """The formula at the analysed size, beside the analysed report's exact counts."""

    sizes: Point
    on_domain: bool
    macs: int
    formula_macs: Fraction
    params: int
    formula_params: Fraction

    @property
    def exact(self) -> bool:
        return self.macs == self.formula_macs and self.params == self.formula_params


@dataclass(frozen=True)
class ModelFormula:
    """A model's counts as exact polynomials of its free input sizes, and how they were proven.

    ``layers`` is empty when the layer calls differ between sizes (``note`` says where); the
    totals, kinds and classes are proven all the same.
    """

    model: str
    domain: Domain
    totals: dict[str, Polynomial]
    kinds: tuple[GroupFormula, ...]
    types: tuple[GroupFormula, ...]
    layers: tuple[LayerFormula, ...]
    degrees: tuple[int, ...]
    fitted_at: tuple[Point, ...]
    verified_at: tuple[Point, ...]
    samples: int
    seconds: float
    base: BaseCheck | None = None
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return self.domain.names

    @property
    def macs(self) -> Polynomial:
        return self.totals["macs"]

    @property
    def params(self) -> Polynomial:
        return self.totals["params"]

    @property
    def flops(self) -> Polynomial:
        return self.totals["flops"]

    def layer(self, path: str, call_index: int = 0) -> LayerFormula:
        """The layer call at ``path`` (KeyError if there is none)."""
        for row in self.layers:
            if row.path == path and row.call_index == call_index:
                return row
        raise KeyError((path, call_index))

    def groups(self, by: str) -> tuple[GroupFormula, ...]:
        """Per kind (``"kind"``) or per Keras class (``"type"``)."""
        return self.kinds if by == "kind" else self.types


# --- sampling ---------------------------------------------------------------------------------


class _Sampler:
    """Reports at lattice points, each computed once; ``faithful`` ones come from ``check``."""

    def __init__(self, names: Sequence[str], sample: Sample, check: Sample) -> None:
        self.names = tuple(names)
        self._functions = {False: sample, True: check}
        self._cache: dict[tuple[Point, bool], Report] = {}
        self.count = 0

    def report(self, sizes: Point, faithful: bool = False) -> Report:
        key = (sizes, faithful)
        if key not in self._cache:
            self._cache[key] = self._functions[faithful](dict(zip(self.names, sizes)))
            self.count += 1
        return self._cache[key]

    def attempt(self, sizes: Point, faithful: bool = False) -> Report | ConvcostError:
        try:
            return self.report(sizes, faithful)
        except ConvcostError as error:
            return error


def rows_match(report: Report, formula: ModelFormula) -> bool:
    """Whether ``report``'s layer calls are the formula's, one for one (Keras' own layer
    numbering aside), so that its rows can carry the per-layer formulas."""
    mine = tuple((_AUTO_NUMBER.sub("", x.path), x.call_index, x.type) for x in formula.layers)
    return bool(formula.layers) and _rows(report) == mine


def _size_text(names: Sequence[str], sizes: Sequence[int]) -> str:
    return ", ".join(f"{n}={s}" for n, s in zip(names, sizes))


_AUTO_NUMBER = re.compile(r"_\d+(?=/|$)")


def _rows(report: Report) -> tuple[tuple[str, int, str], ...]:
    """Row identities, matched by position: path, call index, Keras class. Keras numbers the
    layers it names itself anew in each build (``global_average_pooling2d_3``), so trailing
    numbers in path parts are ignored."""
    return tuple((_AUTO_NUMBER.sub("", row.path), row.call_index, row.type)
                 for row in report.layers)


def _steps(sampler: _Sampler, maximum: Sequence[int | None], model: str) -> tuple[int, ...]:
    """The lattice step per symbol: lcm of the denominators of every layer's size slope."""
    names, last = sampler.names, None
    for probe in PROBES:
        if any(m is not None and 2 * probe > m for m in maximum):
            continue
        first, second = (sampler.attempt((p,) * len(names)) for p in (probe, 2 * probe))
        if isinstance(first, Report) and isinstance(second, Report):
            return _slope_steps(first, second, probe, len(names))
        last = first if isinstance(first, ConvcostError) else second
    raise ConvcostError(
        f"{model} takes no pair of input sizes P and 2P (tried P = "
        f"{', '.join(map(str, PROBES))}), so its cost has no free size: {last} Received: "
        f"symbols {', '.join(names)}.")


def _slope_steps(first: Report, second: Report, probe: int, rank: int) -> tuple[int, ...]:
    steps = [1] * rank
    later = {(row.path, row.call_index): row for row in second.layers}
    for row in first.layers:
        other = later.get((row.path, row.call_index))
        shape = row.output_shape
        if other is None or len(shape) != len(first.input_shape) or len(shape) < rank:
            continue
        for axis in range(rank):
            slope = Fraction(int(other.output_shape[axis] or 0) - int(shape[axis] or 0), probe)
            steps[axis] = math.lcm(steps[axis], slope.denominator)
    return tuple(steps)


def _first_multiple(sampler: _Sampler, steps: Point, maximum: Sequence[int | None],
                    model: str) -> int:
    """The least k such that the model takes sizes ``k * step`` (doubling, then bisection)."""
    def takes(k: int) -> Report | ConvcostError:
        return sampler.attempt(tuple(k * s for s in steps), faithful=True)

    high, outcome = 1, takes(1)
    while isinstance(outcome, ConvcostError):
        high *= 2
        if high > MAX_MULTIPLE or any(m is not None and high * s > m
                                      for s, m in zip(steps, maximum)):
            raise ConvcostError(
                f"{model} takes no input size on its lattice ({_size_text(sampler.names, steps)}"
                f" times 1, 2, 4, ... {high // 2}): {outcome} Received: symbols "
                f"{', '.join(sampler.names)}.")
        outcome = takes(high)
    low = high // 2  # fails (or 0)
    while high - low > 1:
        middle = (low + high) // 2
        if isinstance(takes(middle), Report):
            high = middle
        else:
            low = middle
    return high


# --- counts of a report -----------------------------------------------------------------------


def _counts(report: Report, layers: bool) -> dict[Key, int]:
    """Every count of a report, keyed: totals, kinds, Keras classes, and (``layers``) rows."""
    counts: dict[Key, int] = {("total", name): int(getattr(report, name)) for name in TOTALS}
    for by in ("kind", "type"):
        for group in report.groups(by):
            counts.update({(by, group.key, "params"): group.params,
                           (by, group.key, "macs"): group.macs,
                           (by, group.key, "flops"): group.flops})
    if layers:
        for index, row in enumerate(report.layers):
            counts.update({("layer", index, name): int(getattr(row, name)) for name in FIELDS})
            counts.update({("shape", index, axis): int(size or 0)
                           for axis, size in enumerate(row.output_shape)})
    return counts


def _table(reports: Sequence[Report], layers: bool) -> dict[Key, list[int]]:
    """Counts of several reports, by key; a Keras class absent from a report counts 0."""
    counted = [_counts(report, layers) for report in reports]
    keys = list(dict.fromkeys(key for counts in counted for key in counts))
    return {key: [counts.get(key, 0) for counts in counted] for key in keys}


def _difference(values: Sequence[int]) -> int:
    """The last finite difference of order ``len(values) - 1``."""
    order = len(values) - 1
    return sum((-1) ** (order - j) * math.comb(order, j) * v for j, v in enumerate(values))


# --- fitting ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the derivation found so far."""

    names: tuple[str, ...]
    steps: Point
    start: int
    degrees: list[int] = field(default_factory=list)

    def point(self, offsets: Sequence[int]) -> Point:
        return tuple(step * (self.start + k) for step, k in zip(self.steps, offsets))

    def axis_point(self, axis: int, k: int) -> Point:
        return self.point([k if i == axis else 0 for i in range(len(self.steps))])


def _degree(sampler: _Sampler, plan: _Plan, axis: int, layers: bool, model: str) -> int:
    """The degree in one symbol: the first d whose (d+1)-th differences all vanish."""
    for degree in range(MAX_DEGREE + 1):
        reports = [sampler.report(plan.axis_point(axis, k)) for k in range(degree + 2)]
        table = _table(reports, layers and _aligned(reports))
        if all(_difference(values) == 0 for values in table.values()):
            return degree
    raise NotPolynomial(
        f"The cost of {model} is not a polynomial of degree at most {MAX_DEGREE} in "
        f"{plan.names[axis]} on its lattice; no formula. Received: sizes from "
        f"{_size_text(plan.names, plan.axis_point(axis, 0))} in steps of {plan.steps[axis]}.")


def _aligned(reports: Sequence[Report]) -> bool:
    return len({_rows(report) for report in reports}) == 1


def _basis(nodes: Sequence[int]) -> list[list[Fraction]]:
    """Ascending coefficients of each Lagrange basis polynomial over ``nodes``."""
    result = []
    for i, xi in enumerate(nodes):
        coefficients = [Fraction(1)]
        for j, xj in enumerate(nodes):
            if j == i:
                continue
            scale = Fraction(1, xi - xj)
            shifted = [Fraction(0), *coefficients]  # times x
            coefficients = [(shifted[k] - xj * (coefficients[k] if k < len(coefficients)
                                                 else 0)) * scale
                            for k in range(len(shifted))]
        result.append(coefficients)
    return result


def _interpolate(plan: _Plan, table: Mapping[Key, Sequence[int]],
                 grid: Sequence[Point]) -> dict[Key, Polynomial]:
    """Tensor-product Lagrange interpolation of every count over the grid (exact)."""
    bases = [_basis([step * (plan.start + k) for k in range(d + 1)])
             for step, d in zip(plan.steps, plan.degrees)]
    weights: list[dict[Point, Fraction]] = []
    for offsets in grid:
        weight: dict[Point, Fraction] = {}
        for exps in itertools.product(*[range(d + 1) for d in plan.degrees]):
            weight[exps] = math.prod((bases[a][offsets[a]][e] for a, e in enumerate(exps)),
                                     start=Fraction(1))
        weights.append(weight)
    result = {}
    for key, values in table.items():
        coefficients: dict[Point, Fraction] = {}
        for value, weight in zip(values, weights):
            if value:
                for exps, w in weight.items():
                    coefficients[exps] = coefficients.get(exps, Fraction(0)) + value * w
        result[key] = Polynomial.of(plan.names, coefficients)
    return result


def _held_back(plan: _Plan, maximum: Sequence[int | None], used: set[Point]) -> list[Point]:
    """Two lattice points off the fitting grid: one near (non-square), one far."""
    points = []
    for near in (True, False):
        ks = [(d + 2 + i) if near else 3 * (d + 2) + 1 + i
              for i, d in enumerate(plan.degrees)]
        point = plan.point(ks)
        point = tuple(p if m is None else min(p, m - m % s)
                      for p, m, s in zip(point, maximum, plan.steps))
        if point not in used and point not in points:
            points.append(point)
    return points


def _verify(formulas: Mapping[Key, Polynomial], table: Mapping[Key, Sequence[int]],
            points: Sequence[Point], names: Sequence[str], model: str) -> None:
    for key, values in table.items():
        formula = formulas.get(key)
        for point, value in zip(points, values):
            got = formula(point) if formula is not None else None
            if got != value:
                shown = "no formula" if got is None else _number(got)
                raise NotPolynomial(
                    f"The cost of {model} is not one polynomial on its lattice: at "
                    f"{_size_text(names, point)} the formula gives {shown} for "
                    f"{_key_text(key)} but analyze counts {value:,}; no formula is "
                    f"printed. Received: fitted on {len(formula.terms) if formula else 0} "
                    f"terms, checked at {len(points)} held-back sizes.")


def _key_text(key: Key) -> str:
    if key[0] == "total":
        return f"the total {key[1]}"
    if key[0] in ("layer", "shape"):
        return f"layer row {key[1]} ({key[2] if key[0] == 'layer' else 'size ' + str(key[2])})"
    return f"{key[0]} {key[1]} ({key[2]})"


# --- derive -----------------------------------------------------------------------------------


def derive(sample: Sample, names: Sequence[str], *, check: Sample | None = None,
           model: str = "the model", base: Report | None = None,
           maximum: Mapping[str, int] | None = None) -> ModelFormula:
    """The counts of a model family as exact polynomials of its free input sizes, proven.

    Args:
        sample: sizes (``{"H": 224, "W": 224}``) -> the model's Report at those sizes.
        names: the free size symbols, in the order of the model's input axes: ``("H", "W")``,
            ``("L",)``, ``("D", "H", "W")``; each must be a key of :data:`SYMBOLS`.
        check: the Report at sizes for the minimum search and the held-back proof (default:
            ``sample``); e.g. a fresh build where ``sample`` re-shapes one built model.
        model: the model's name in messages.
        base: the report at the analysed size: one more proof point when it is on the lattice,
            otherwise the difference is reported in :attr:`ModelFormula.base`.
        maximum: largest size each symbol may take (a model's longest sequence), if any.

    Raises:
        ConvcostError: no free size, no lattice size the model takes, not a polynomial of
            degree at most :data:`MAX_DEGREE`, or a held-back size that disagrees.
    """
    started = time.perf_counter()
    names = tuple(names)
    _check_names(names)
    limits = tuple((maximum or {}).get(name) for name in names)
    sampler = _Sampler(names, sample, check or sample)
    steps = _steps(sampler, limits, model)
    smallest = _first_multiple(sampler, steps, limits, model)
    failure: NotPolynomial | None = None
    for start in _starts(smallest, steps, limits):
        plan = _Plan(names, steps, start)
        try:
            fitted = _fit(sampler, plan, model)
            domain = Domain(names, steps, plan.point([0] * len(names)), limits)
            formulas, layers, note, proof = _prove(sampler, plan, fitted, domain, base, model)
        except NotPolynomial as error:
            failure = failure or error
            continue
        low, below, extra = _extend_down(sampler, plan, formulas, layers, smallest)
        domain = Domain(names, steps, tuple(step * low for step in steps), limits)
        rows = _layer_formulas(formulas, fitted.reports[0], names) if layers else ()
        return _assemble(model, domain, plan, formulas, rows, (*proof, *extra),
                         " ".join(filter(None, [below, note])), sampler.count,
                         time.perf_counter() - started, _base_check(formulas, base, domain))
    assert failure is not None
    raise failure


def _starts(smallest: int, steps: Point, limits: Sequence[int | None]) -> list[int]:
    """Where fitting may start: one step above the smallest size (so that a size where the
    model degenerates, a 1×1 map, is tested against the formula instead of shaping it)."""
    fits = [k for k in range(smallest + 1, smallest + 1 + START_TRIES)
            if all(m is None or (k + MAX_DEGREE + 8) * s <= m for s, m in zip(steps, limits))]
    return fits or [smallest]


def _extend_down(sampler: _Sampler, plan: _Plan, formulas: Mapping[Key, Polynomial],
                 layers: bool, smallest: int) -> tuple[int, str, tuple[Point, ...]]:
    """The smallest start of the domain: lattice sizes below the fit where every count equals
    the formula (proof points, added), or a note on the first that differs."""
    low, checked = plan.start, list[Point]()
    rows = _rows(sampler.report(plan.point([0] * len(plan.steps))))
    for k in range(plan.start - 1, smallest - 1, -1):
        sizes = tuple(step * k for step in plan.steps)
        report = sampler.report(sizes, faithful=True)
        counts = _counts(report, layers and _rows(report) == rows)
        wrong = _first_wrong(counts, formulas, sizes)
        if wrong is not None:
            note = _below_note(plan.names, sizes, wrong, counts[wrong], formulas)
            return low, note, tuple(checked)
        low, checked = k, [*checked, sizes]
    return low, "", tuple(checked)


def _first_wrong(counts: Mapping[Key, int], formulas: Mapping[Key, Polynomial],
                 sizes: Point) -> Key | None:
    """The first count that differs from its formula at ``sizes`` (a missing formula is 0)."""
    for key, value in counts.items():
        formula = formulas.get(key)
        if (formula(sizes) if formula is not None else 0) != value:
            return key
    return None


def _below_note(names: Sequence[str], sizes: Point, key: Key, value: int,
                formulas: Mapping[Key, Polynomial]) -> str:
    """Why the domain starts above the smallest size the model takes (what differs there)."""
    formula = formulas.get(key)
    expected = "0" if formula is None else _number(formula(sizes))
    why = (" (a 1×1 conv on a map shrunk to 1×1 counts as fully connected)"
           if key[0] == "kind" and key[1] in ("pointwise", "fully_connected") else "")
    return (f"The model also takes {_size_text(names, sizes)}, where {_key_text(key)} is "
            f"{value:,}, not {expected}{why}; the formulas start above it.")


def _number(value: Fraction) -> str:
    return f"{value.numerator:,}" if value.denominator == 1 else str(value)


def _check_names(names: tuple[str, ...]) -> None:
    if not names or len(set(names)) != len(names) or not set(names) <= set(SYMBOLS):
        raise ConvcostError(f"The free sizes must be distinct names among "
                            f"{', '.join(SYMBOLS)}. Received: {names}.")


@dataclass(frozen=True)
class _Fit:
    grid: tuple[Point, ...]
    reports: tuple[Report, ...]
    layers: bool


def _fit(sampler: _Sampler, plan: _Plan, model: str) -> _Fit:
    plan.degrees = [_degree(sampler, plan, axis, True, model) for axis in range(len(plan.names))]
    offsets = list(itertools.product(*[range(d + 1) for d in plan.degrees]))
    reports = tuple(sampler.report(plan.point(o)) for o in offsets)
    return _Fit(tuple(offsets), reports, _aligned(reports))


def _prove(sampler: _Sampler, plan: _Plan, fit: _Fit, domain: Domain, base: Report | None,
           model: str) -> tuple[dict[Key, Polynomial], bool, str, tuple[Point, ...]]:
    """Fit every count, then check it at the held-back sizes (and the analysed size)."""
    used = {plan.point(o) for o in fit.grid}
    points = _held_back(plan, domain.maximum, used)
    checks = [sampler.report(p, faithful=True) for p in points]
    base_sizes = _sizes(base, len(plan.names)) if base is not None else None
    if base is not None and base_sizes is not None and domain.contains(base_sizes):
        points, checks = [*points, base_sizes], [*checks, base]
    layers = fit.layers and _aligned([*fit.reports, *checks])
    note = "" if layers else _misaligned_note([*fit.reports, *checks], plan.names)
    formulas = _interpolate(plan, _table(fit.reports, layers), fit.grid)
    _verify(formulas, _table(checks, layers), points, plan.names, model)
    return formulas, layers, note, tuple(points)


def _sizes(report: Report, rank: int) -> Point | None:
    shape = report.input_shape
    if len(shape) < rank or any(d is None for d in shape[:rank]):
        return None
    return tuple(int(d) for d in shape[:rank])  # type: ignore[arg-type]


def _misaligned_note(reports: Sequence[Report], names: Sequence[str]) -> str:
    first = _rows(reports[0])
    for report in reports[1:]:
        rows = _rows(report)
        if rows != first:
            where = next((i for i, (a, b) in enumerate(zip(first, rows)) if a != b),
                         min(len(first), len(rows)))
            return (f"Layer calls differ between sizes (row {where}: {len(first)} vs "
                    f"{len(rows)} rows at {_size_text(names, _sizes(report, len(names)) or ())}"
                    "); per-layer formulas left out, totals, kinds and classes proven.")
    return ""


def _base_check(formulas: Mapping[Key, Polynomial], base: Report | None,
                domain: Domain) -> BaseCheck | None:
    sizes = _sizes(base, len(domain.names)) if base is not None else None
    if base is None or sizes is None:
        return None
    return BaseCheck(sizes, domain.contains(sizes), base.macs,
                     formulas[("total", "macs")](sizes), base.params,
                     formulas[("total", "params")](sizes))


def _assemble(model: str, domain: Domain, plan: _Plan, formulas: Mapping[Key, Polynomial],
              rows: tuple[LayerFormula, ...], proof: tuple[Point, ...], note: str, samples: int,
              seconds: float, base: BaseCheck | None) -> ModelFormula:
    zero = Polynomial.of(plan.names, {})
    totals = {name: formulas[("total", name)] for name in TOTALS}
    groups = {by: tuple(GroupFormula(key, *(formulas.get((by, key, f), zero)
                                            for f in ("params", "macs", "flops")))
                        for key in _group_keys(formulas, by))
              for by in ("kind", "type")}
    return ModelFormula(model, domain, totals, groups["kind"], groups["type"], rows,
                        tuple(plan.degrees), tuple(plan.point(o) for o in _grid(plan)), proof,
                        samples, seconds, base, note)


def _grid(plan: _Plan) -> Iterable[Point]:
    return itertools.product(*[range(d + 1) for d in plan.degrees])


def _group_keys(formulas: Mapping[Key, Polynomial], by: str) -> list[str]:
    keys = list(dict.fromkeys(key[1] for key in formulas if key[0] == by))
    return [k for k in KINDS if k in keys] if by == "kind" else keys


def _layer_formulas(formulas: Mapping[Key, Polynomial], report: Report,
                    names: Sequence[str]) -> tuple[LayerFormula, ...]:
    """One formula per layer call, in the order of the report's rows."""
    rows = []
    for index, row in enumerate(report.layers):
        params, macs, other, flops = (formulas[("layer", index, name)] for name in FIELDS)
        shape = tuple(formulas[("shape", index, axis)] for axis in range(len(row.output_shape)))
        rows.append(LayerFormula(row.path, row.name, row.type, row.call_index, params, macs,
                                 other, flops, shape))
    return tuple(rows)
