"""Decode and generate costs as exact polynomials: of C (tokens cached) for one decode step,
of P for a prefill, of P and N for ``--generate P,N``.

Every count of a step is a polynomial in the sizes it runs at: a decode step's is affine in the
keys it attends to (C + 1), a prefill's at most quadratic in P (the P x P scores). Each is
derived from traces of the model at a few sizes (the quadratic through three prompts, the line
through two contexts) and **checked** at one more size, where the trace must equal the
polynomial or the derivation fails. The generate total sums the decode line over the N steps:
``N * a + b * (N * (P + 1) + N * (N - 1) / 2)``. A model with a sliding window is piecewise
(the keys stop growing at the window) and is refused.
"""

from __future__ import annotations

from typing import Any

import sympy

from convcost.analysis import decode as dec
from convcost.errors import ConvcostError

FIELDS = ("macs", "flops", "weights_read", "kv_read", "kv_written")
C, P, N = sympy.symbols("C P N", integer=True, nonnegative=True)
PROMPTS = (8, 16, 24)
PROMPT_CHECK = 40
CONTEXTS = (7, 15)
CONTEXT_CHECK = 31


def formulas(causal_lm: Any, layout: dec.CacheLayout, attention: str) -> dict[str, Any]:
    """``{"decode": {field: expr in C}, "prefill": {field: expr in P}, "generate": {field:
    expr in P, N}}``, each checked at a held-back size."""
    if layout.window is not None:
        raise ConvcostError(f"--symbolic needs a model without a sliding window (its cost is "
                            f"piecewise in the context). Received: window {layout.window}.")
    decode = _fitted(lambda c: dec.decode(causal_lm, layout, c), CONTEXTS, CONTEXT_CHECK, C,
                     degree=1)
    prefill = _fitted(lambda p: dec.prefill(causal_lm, layout, p, attention), PROMPTS,
                      PROMPT_CHECK, P, degree=2)
    generate = {}
    for name in FIELDS:
        steps = sympy.summation(decode[name].subs(C, P + sympy.Symbol("t")),
                                (sympy.Symbol("t"), 0, N - 1))
        generate[name] = sympy.expand(prefill[name] + steps)
    return {"decode": decode, "prefill": prefill, "generate": generate}


def _fitted(trace: Any, sizes: tuple[int, ...], check: int, symbol: sympy.Symbol,
            degree: int) -> dict[str, Any]:
    """The polynomial of each field through ``sizes``, checked at ``check``."""
    phases = {size: trace(size) for size in (*sizes, check)}
    found = {}
    for name in FIELDS:
        points = [(size, phases[size].total(name)) for size in sizes]
        expr = sympy.expand(sympy.interpolate(points, symbol))
        if sympy.Poly(expr, symbol).degree() > degree:
            raise ConvcostError(f"The {name} is not a polynomial of degree {degree} in "
                                f"{symbol}. Received: {points}.")
        if expr.subs(symbol, check) != phases[check].total(name):
            raise ConvcostError(f"The {name} formula {expr} fails its check at {symbol} = "
                                f"{check}. Received: {phases[check].total(name)}.")
        found[name] = expr
    return found


def as_text(found: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The formulas as strings (JSON and tables)."""
    return {phase: {name: str(expr) for name, expr in exprs.items()}
            for phase, exprs in found.items()}
