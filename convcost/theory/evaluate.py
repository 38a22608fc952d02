"""Evaluation: a derivation's equations at a substitution of numbers for symbols, exact with a
float beside them; names and values are checked (a one-line ConvcostError otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from convcost.errors import ConvcostError
from convcost.theory.derivations import derivation
from convcost.theory.equations import Equation, Value
from convcost.theory.symbols import SYMBOLS

# --- evaluation -------------------------------------------------------------------------------


def _symbol(name: str) -> sympy.Symbol:
    by_name = {**{str(sym): sym for sym in SYMBOLS.values()}, **SYMBOLS}
    if name not in by_name:
        raise ConvcostError(f"Unknown symbol. Received: {name!r}. "
                            f"Valid symbols: {', '.join(SYMBOLS)}.")
    return by_name[name]


def _number(name: str, value: Any) -> sympy.Rational:
    """An exact number for a symbol, checked against the symbol's assumptions."""
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        number = sympy.Rational(str(value).strip() if isinstance(value, str | float) else value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ConvcostError(f"A substitution value must be a finite number (e.g. 3, 0.5, 1/2). "
                            f"Received: {name}={value!r}.") from None
    symbol = _symbol(name)
    if symbol.is_integer and not number.is_integer:
        raise ConvcostError(f"{name} is a count and must be an integer. Received: {name}={value}.")
    if symbol.is_positive and not number.is_positive:
        raise ConvcostError(f"{name} must be positive. Received: {name}={value}.")
    return number


def substitutions(values: Mapping[str, Any]) -> dict[sympy.Symbol, sympy.Rational]:
    """Symbol -> exact number for a mapping of names (see :data:`SYMBOLS`) to numbers.

    Args:
        values: e.g. ``{"N": 64, "D_K": 3}``; numbers may be ints, floats or strings such
            as ``"1/2"``. Floats are read exactly as written (0.5 -> 1/2).
    """
    return {_symbol(name): _number(name, value) for name, value in values.items()}


def evaluate(name: str, values: Mapping[str, Any]) -> tuple[Value, ...]:
    """Every equation of a derivation at a substitution: exact value plus float.

    Symbols left unsubstituted stay in ``exact`` and ``approx`` is None.

    Args:
        name: a key of :data:`DERIVATIONS`.
        values: symbol name -> number, e.g. ``{"N": 64, "D_K": 3}``.
    """
    found = derivation(name)
    subs = substitutions(values)
    return tuple(_value(equation, subs) for equation in found.equations)


def _value(equation: Equation, subs: Mapping[sympy.Symbol, sympy.Rational]) -> Value:
    exact = equation.expr.subs(subs)
    approx = float(exact) if exact.is_number and exact.is_real else None
    return Value(equation.label, exact, approx)
