"""Exact polynomials in a model's free input sizes (``H``, ``W``, ``L``, ``D``).

A :class:`Polynomial` keeps rational coefficients (:class:`fractions.Fraction`) by exponent,
evaluates without sympy, and turns into a sympy expression, a sympy-parsable string, LaTeX,
unicode art, or one line for a table on demand.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import sympy

Point = tuple[int, ...]

#: The size symbols: positive integers. ``L`` tokens; ``D``, ``H``, ``W`` a volume or map.
SYMBOLS: dict[str, sympy.Symbol] = {
    name: sympy.Symbol(name, positive=True, integer=True) for name in ("L", "D", "H", "W")}


# --- polynomials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Polynomial:
    """An exact polynomial in size symbols: ``terms`` maps exponents to a rational coefficient.

    Evaluating needs no sympy; :attr:`expr` (sympy), ``str()`` (sympy-parsable), :attr:`latex`,
    :attr:`pretty` and :meth:`text` (for tables) are derived from the terms.
    """

    names: tuple[str, ...]
    terms: tuple[tuple[Point, Fraction], ...]

    @classmethod
    def of(cls, names: Sequence[str], coefficients: Mapping[Point, Fraction]) -> Polynomial:
        """The polynomial with these coefficients (zero terms dropped, highest degree first)."""
        kept = [(e, Fraction(c)) for e, c in coefficients.items() if c != 0]
        kept.sort(key=lambda term: (-sum(term[0]), tuple(-x for x in term[0])))
        return cls(tuple(names), tuple(kept))

    def __call__(self, sizes: Sequence[int]) -> Fraction:
        return sum((c * math.prod(s**e for s, e in zip(sizes, exps)) for exps, c in self.terms),
                   Fraction(0))

    def __add__(self, other: Polynomial) -> Polynomial:
        total: dict[Point, Fraction] = dict(self.terms)
        for exps, c in other.terms:
            total[exps] = total.get(exps, Fraction(0)) + c
        return Polynomial.of(self.names, total)

    def degree(self, name: str) -> int:
        """The highest power of the symbol ``name`` (0 for a constant)."""
        index = self.names.index(name)
        return max((exps[index] for exps, _ in self.terms), default=0)

    @property
    def is_constant(self) -> bool:
        return all(not any(exps) for exps, _ in self.terms)

    @functools.cached_property
    def expr(self) -> sympy.Expr:
        """The polynomial as a sympy expression in :data:`SYMBOLS`."""
        symbols = [SYMBOLS[name] for name in self.names]
        return sympy.Add(*[sympy.Rational(c.numerator, c.denominator)
                           * sympy.Mul(*[s**e for s, e in zip(symbols, exps)])
                           for exps, c in self.terms])

    def __str__(self) -> str:
        return str(self.expr)

    @property
    def latex(self) -> str:
        return str(sympy.latex(self.expr))

    @property
    def pretty(self) -> str:
        return str(sympy.pretty(self.expr, use_unicode=True))

    def text(self) -> str:
        """One line for a table: ``18,432·L² + 84,934,656·L``, ``H/2``, ``22,629·H·W/2``."""
        if not self.terms:
            return "0"
        parts = [_term_text(self.names, exps, c) for exps, c in self.terms]
        line = parts[0]
        for part in parts[1:]:
            line += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
        return line


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _term_text(names: Sequence[str], exps: Point, c: Fraction) -> str:
    factors = [name + (str(e).translate(_SUPERSCRIPTS) if e > 1 else "")
               for name, e in zip(names, exps) if e]
    sign, num = ("-" if c < 0 else ""), abs(c.numerator)
    head = [f"{num:,}"] if num != 1 or not factors else []
    body = "·".join(head + factors)
    return sign + body + (f"/{c.denominator:,}" if c.denominator != 1 else "")
