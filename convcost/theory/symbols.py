"""The symbols of the theory, named as in the papers, and the papers' own claims.

MobileNet v1 (Howard et al., 2017) ``D_K, M, N, D_F, D_W, D_H, alpha, rho``; MobileNet v2
(Sandler et al., 2018) ``h, w, d', d'', t, k`` and a stride ``s``; for arithmetic intensity
``c_1, c_2, c``; ``x`` for ReLU6; the decoder-LM symbols come from :mod:`.laws`. Counts are
positive integers. The four MobileNet v1 layer costs are the count formulas called with them.
"""

from __future__ import annotations

import sympy

from convcost.count import formulas
from convcost.count.formulas import Cost
from convcost.theory import laws

#: sympy assumptions of a count: a positive integer.
COUNT: dict[str, bool] = {"positive": True, "integer": True}

# MobileNet v1: kernel side, input and output channels, feature map (square D_F, or D_W x D_H).
D_K, M, N, D_F, D_W, D_H = sympy.symbols("D_K M N D_F D_W D_H", **COUNT)
# Width multiplier alpha and resolution multiplier rho (0 < alpha, rho <= 1 in the paper).
alpha, rho = sympy.symbols("alpha rho", positive=True)
# MobileNet v2: map h x w, channels d' -> d'', expansion t, kernel k, stride s.
h, w, t, k, s = sympy.symbols("h w t k s", **COUNT)
d_in = sympy.Symbol("d'", **COUNT)
d_out = sympy.Symbol("d''", **COUNT)
# Arithmetic intensity: channels of a conv (c_1 -> c_2) and of a depthwise conv (c).
c_1, c_2, c = sympy.symbols("c_1 c_2 c", **COUNT)
x = sympy.Symbol("x", real=True)

#: Names accepted by :func:`evaluate` (and ``--subs``): ASCII spellings of the symbols.
SYMBOLS: dict[str, sympy.Symbol] = {
    "D_K": D_K, "M": M, "N": N, "D_F": D_F, "D_W": D_W, "D_H": D_H, "alpha": alpha, "rho": rho,
    "h": h, "w": w, "d_in": d_in, "d_out": d_out, "t": t, "k": k, "s": s,
    "c_1": c_1, "c_2": c_2, "c": c, "x": x,
    "H": laws.H, "W": laws.W, "L": laws.L, "d_model": laws.d_model, "d_ff": laws.d_ff,
    "n_layer": laws.n_layer, "n_head": laws.n_head,
}  # fmt: skip

# Costs of the four layer kinds of the MobileNet v1 paper, weights only.
STANDARD: Cost = formulas.conv((D_K, D_K), M, N, (D_W, D_H), bias=False)
DEPTHWISE: Cost = formulas.depthwise((D_K, D_K), M, (D_W, D_H), bias=False)
POINTWISE: Cost = formulas.pointwise(M, N, (D_W, D_H), bias=False)
SEPARABLE: Cost = formulas.separable((D_K, D_K), M, N, (D_W, D_H), bias=False)

#: The paper's claim for separable / standard; checked against the derived ratio, never used
#: to derive anything.
PAPER_RATIO = 1 / N + 1 / D_K**2
#: MobileNet v2's mult-adds of an inverted residual block at stride 1 (Sandler et al., 2018,
#: section 3.4); a claim checked against :func:`v2_block`, never used to derive anything.
PAPER_V2_MACS = h * w * d_in * t * (d_in + k**2 + d_out)
