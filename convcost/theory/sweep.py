"""A sweep: a model's exact counts at several input sizes beside its formula (``--sweep``).

``--sweep size=96,128,...,224`` sets every spatial size of an image model (``H = W = size``);
``--sweep seq-len=128,256,...`` sets the sequence length ``L`` of a token model. Each row holds
the counts ``analyze`` gives at that size, the share of each kind, and the formula's value
there (equal on the formula's domain; off it, the difference is shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy

from convcost import checks
from convcost.count.report import Group, Report
from convcost.errors import ConvcostError
from convcost.theory.model import SYMBOLS, ModelFormula

#: Sweep axes: the name a user types, and the size symbols it sets.
AXES: dict[str, tuple[str, ...]] = {"size": ("D", "H", "W"), "seq-len": ("L",)}


@dataclass(frozen=True)
class SweepRow:
    """The counts at one value of the swept size, and the formula's values there."""

    value: int
    sizes: tuple[int, ...]
    params: int
    macs: int
    flops: int
    kinds: tuple[Group, ...]
    on_domain: bool
    formula_macs: Fraction
    formula_params: Fraction

    @property
    def exact(self) -> bool:
        return self.formula_macs == self.macs and self.formula_params == self.params


@dataclass(frozen=True)
class Sweep:
    """Counts across sizes, and the formula they follow."""

    model: str
    axis: str
    formula: ModelFormula
    rows: tuple[SweepRow, ...]

    @property
    def variable(self) -> sympy.Symbol:
        """The symbol the sweep varies: ``s`` (every spatial size) or ``L``."""
        return SYMBOLS["L"] if self.axis == "seq-len" else sympy.Symbol("s", positive=True,
                                                                         integer=True)

    def along(self, field: str = "macs") -> sympy.Expr:
        """A total's formula along the sweep (``H = W = s`` for sizes), expanded."""
        expr = self.formula.totals[field].expr
        names = self.formula.names
        return sympy.expand(expr.subs({SYMBOLS[n]: self.variable for n in names}))

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds with MACs or params at some size, in :data:`KINDS` order."""
        seen = [g.key for row in self.rows for g in row.kinds if g.macs or g.params]
        return tuple(dict.fromkeys(g.key for g in self.rows[0].kinds if g.key in seen))


def parse(text: str) -> tuple[str, tuple[int, ...]]:
    """``"size=96,128"`` -> ``("size", (96, 128))``; a one-line error otherwise."""
    axis, sep, values = (part.strip() for part in text.partition("="))
    if not sep or axis not in AXES:
        raise ConvcostError(f"--sweep takes size=N,N,... (image models) or seq-len=N,N,... "
                            f"(token models). Received: {text!r}.")
    parts = [p.strip() for p in values.split(",")]
    if not parts or not all(checks.digits(p) and int(p) > 0 for p in parts):
        raise ConvcostError(f"--sweep sizes must be positive whole numbers separated by "
                            f"commas. Received: {text!r}.")
    return axis, tuple(int(p) for p in parts)


def sizes_of(axis: str, names: Sequence[str], value: int) -> dict[str, int]:
    """The free sizes a sweep value sets; a one-line error when the axis does not fit."""
    if not set(names) <= set(AXES[axis]):
        wanted = "seq-len" if "L" in names else "size"
        raise ConvcostError(f"--sweep {axis} does not fit a model whose free sizes are "
                            f"{', '.join(names)}; use --sweep {wanted}=... Received: "
                            f"--sweep {axis}.")
    return {name: value for name in names}


def sweep(formula: ModelFormula, axis: str, reports: Mapping[int, Report]) -> Sweep:
    """The sweep table: each value's report beside the formula.

    Args:
        formula: the model's formula.
        axis: ``"size"`` or ``"seq-len"``.
        reports: swept value -> the model's report at that size.
    """
    rows = []
    for value, report in reports.items():
        sizes = tuple(sizes_of(axis, formula.names, value).values())
        rows.append(SweepRow(value, sizes, report.params, report.macs, report.flops,
                             report.groups("kind"), formula.domain.contains(sizes),
                             formula.macs(sizes), formula.params(sizes)))
    return Sweep(formula.model, axis, formula, tuple(rows))
