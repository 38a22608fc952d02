"""The theory: the cost formulas called with sympy symbols, and what follows from them.

Every expression is built by *calling* :mod:`convcost.count.formulas` with symbols, never by
retyping a formula, so the theory printed by ``convcost formulas`` is the arithmetic the walker
runs on real models. The papers count weights only, so every derivation uses ``bias=False``
(and leaves batch norm out).

This module is the public entry; the work is split by concern:

- :mod:`.symbols`: the symbols, named as in the papers (:data:`SYMBOLS`), the four MobileNet
  v1 layer costs and the papers' own claims;
- :mod:`.equations`: :class:`Equation`, :class:`Derivation`, :class:`Value`, :class:`RatioRow`;
- :mod:`.algebra`: separable / standard ratio, multipliers, v2 block, arithmetic intensity;
- :mod:`.derivations`: the 13 derivations, :data:`DERIVATIONS` (ordered, built on first
  access and cached) and :func:`derivation`;
- :mod:`.evaluate`: :func:`evaluate` substitutes numbers and returns exact values with a float
  beside them; :func:`substitutions` checks the names and values;
- :mod:`.latex`: LaTeX escaping of the labels.
"""

from __future__ import annotations

from convcost.theory.algebra import (
    elements_moved,
    intensity,
    large_map_limit,
    ratio_matches_paper,
    ratio_values,
    scaled_separable,
    separable_ratio,
    v2_block,
)
from convcost.theory.derivations import DERIVATIONS, derivation
from convcost.theory.equations import Derivation, Equation, RatioRow, Value
from convcost.theory.evaluate import evaluate, substitutions
from convcost.theory.symbols import (
    D_F,
    D_H,
    D_K,
    D_W,
    DEPTHWISE,
    PAPER_RATIO,
    PAPER_V2_MACS,
    POINTWISE,
    SEPARABLE,
    STANDARD,
    SYMBOLS,
    M,
    N,
    alpha,
    c,
    c_1,
    c_2,
    d_in,
    d_out,
    h,
    k,
    rho,
    s,
    t,
    w,
    x,
)

__all__ = [
    "DEPTHWISE",
    "DERIVATIONS",
    "D_F",
    "D_H",
    "D_K",
    "D_W",
    "PAPER_RATIO",
    "PAPER_V2_MACS",
    "POINTWISE",
    "SEPARABLE",
    "STANDARD",
    "SYMBOLS",
    "Derivation",
    "Equation",
    "M",
    "N",
    "RatioRow",
    "Value",
    "alpha",
    "c",
    "c_1",
    "c_2",
    "d_in",
    "d_out",
    "derivation",
    "elements_moved",
    "evaluate",
    "h",
    "intensity",
    "k",
    "large_map_limit",
    "ratio_matches_paper",
    "ratio_values",
    "rho",
    "s",
    "scaled_separable",
    "separable_ratio",
    "substitutions",
    "t",
    "v2_block",
    "w",
    "x",
]  # fmt: skip
