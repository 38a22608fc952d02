"""What follows from the cost formulas called with symbols: the separable / standard ratio,
the width and resolution multipliers, MobileNet v2's block, arithmetic intensity.

Every expression is built by *calling* :mod:`convcost.count.formulas` with the symbols of
:mod:`.symbols`, never by retyping a formula; weights only (``bias=False``), as in the papers.
"""

from __future__ import annotations

import functools
from typing import Any

import sympy

from convcost.count import formulas
from convcost.count.formulas import Cost
from convcost.theory.equations import RatioRow
from convcost.theory.symbols import (
    COUNT,
    D_F,
    D_K,
    PAPER_RATIO,
    SEPARABLE,
    STANDARD,
    M,
    N,
    alpha,
    d_in,
    d_out,
    h,
    k,
    rho,
    t,
    w,
)

# --- separable vs standard --------------------------------------------------------------------


@functools.cache
def separable_ratio(field: str = "macs") -> sympy.Expr:
    """Separable / standard cost, derived: sympy division of the two expressions, simplified.

    Simplified with ``sympy.cancel`` then ``sympy.expand``: for a rational function, cancel
    gives the canonical reduced p/q, and expanding it writes the result as a sum of terms
    (here the paper's ``1/N + 1/D_K**2``). ``sympy.simplify`` reaches the same result (see
    :func:`ratio_matches_paper`) but loads ~0.2 s of extra sympy modules on first use.

    Args:
        field: ``"macs"`` (mult-adds) or ``"params"``.
    """
    return sympy.expand(sympy.cancel(getattr(SEPARABLE, field) / getattr(STANDARD, field)))


def ratio_matches_paper(field: str = "macs") -> bool:
    """Whether the derived ratio equals the paper's ``1/N + 1/D_K**2`` exactly.

    Checks ``sympy.simplify(ratio - (1/N + 1/D_K**2)) == 0``.

    Args:
        field: ``"macs"`` or ``"params"``.
    """
    return bool(sympy.simplify(separable_ratio(field) - PAPER_RATIO) == 0)


def ratio_values(d_k: int = 3, channels: tuple[int, ...] = (64, 128, 512, 1024)) -> tuple[
        RatioRow, ...]:
    """The derived ratio at one kernel size for several output widths N.

    Args:
        d_k: kernel side D_K.
        channels: output channel counts N.
    """
    ratio = separable_ratio("macs")
    return tuple(RatioRow(d_k, n, ratio.subs({D_K: d_k, N: n})) for n in channels)


# --- width and resolution multipliers ---------------------------------------------------------


def scaled_separable(width: Any = alpha, resolution: Any = rho) -> Cost:
    """Separable conv on a D_F x D_F map with M -> width*M, N -> width*N, D_F -> resolution*D_F.

    Args:
        width: the width multiplier (alpha, or a number).
        resolution: the resolution multiplier (rho, or a number).
    """
    side = resolution * D_F
    return formulas.separable((D_K, D_K), width * M, width * N, (side, side), bias=False)


# --- MobileNet v2 block -----------------------------------------------------------------------


def v2_block(stride: Any = 1) -> Cost:
    """Inverted residual block cost (weights only) on an h x w input, for a stride dividing it.

    :func:`convcost.count.formulas.inverted_residual` floors ``h // stride``; writing
    ``h = stride*a``
    (the stride divides the map) makes the floor exact, and ``a = h/stride`` is put back after.

    Args:
        stride: 1, 2, or the symbol ``s``.
    """
    a, b = sympy.Dummy("a", **COUNT), sympy.Dummy("b", **COUNT)
    cost = formulas.inverted_residual(
        stride * a, stride * b, d_in, d_out, t, k=k, stride=stride, bias=False)
    back = {a: h / stride, b: w / stride}
    return Cost(cost.params.subs(back), sympy.expand(cost.macs.subs(back)))


# --- arithmetic intensity ---------------------------------------------------------------------


def elements_moved(in_elements: Any, out_elements: Any, weights: Any) -> Any:
    """Elements a layer moves if every input, output and weight element is touched once.

    The memory-traffic model of ShuffleNet v2's memory access cost (MAC = h*w*(c1 + c2) + c1*c2
    for a 1x1 conv), the same statement as the numeric per-layer model in
    ``convcost.analysis.memory``: inputs + outputs + weights, each read or written exactly once (no
    caching, no re-reads). The derivations here pass the papers' weights (no bias); the
    numeric model passes Keras' ``count_params()``. Works on ints and sympy expressions.

    Args:
        in_elements: elements of the input tensor (per sample), e.g. h*w*c_in.
        out_elements: elements of the output tensor (per sample).
        weights: weight elements (params without bias for the papers' count).
    """
    return in_elements + out_elements + weights


def intensity(cost: Cost, in_elements: Any, out_elements: Any) -> sympy.Expr:
    """Arithmetic intensity: MACs per element moved (see :func:`elements_moved`).

    Args:
        cost: the layer's cost (its params are taken as the weights moved).
        in_elements: input elements per sample.
        out_elements: output elements per sample.
    """
    moved = elements_moved(in_elements, out_elements, cost.params)
    return sympy.cancel(cost.macs / moved)


def large_map_limit(expr: sympy.Expr) -> sympy.Expr:
    """Limit of an expression of h and w as the map area h*w grows without bound.

    Substitutes ``h = A/w`` so the expression depends on the area A alone (the intensities
    here depend on h, w only through h*w), then takes ``sympy.limit(..., A, oo)``.
    """
    area = sympy.Dummy("A", positive=True)
    return sympy.factor(sympy.limit(sympy.cancel(expr.subs(h, area / w)), area, sympy.oo))


