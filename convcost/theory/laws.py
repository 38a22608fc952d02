"""Model-level laws: whole networks' cost as formulas of their input size, from their papers.

Each network is written down as its paper's architecture table and costed by calling
:mod:`convcost.count.formulas` with sympy symbols (weights only, as in the papers), so the laws
follow from the same arithmetic the walker runs. The engine of :mod:`convcost.theory.model`
derives the same polynomials from the Keras models themselves; the tests check they agree.

* **MobileNet v1** (Howard et al., 2017, Table 1) on an ``H x W x 3`` input: every layer but
  the classifier runs on a map ``H/s x W/s``, so its mult-adds are a multiple of ``H*W``; with
  ``H = W = 224*rho`` the cost is ``a*rho**2 + b``, ``b`` the classifier.
* **A decoder-only transformer** (GPT-2 style: ``n_layer`` blocks of multi-head attention and
  an MLP of width ``d_ff``, model width ``d``, ``L`` tokens, full attention): forward mult-adds
  ``n_layer*(4*d**2 + 2*d*d_ff)*L + 2*n_layer*d*L**2``; per token, Kaplan et al.'s (2020)
  ``N`` plus a term in ``L``.
"""

from __future__ import annotations

import sympy

from convcost.count import formulas
from convcost.count.formulas import Cost
from convcost.theory.model import SYMBOLS

H, W, L = SYMBOLS["H"], SYMBOLS["W"], SYMBOLS["L"]
rho = sympy.Symbol("rho", positive=True)
d_model, d_ff, n_layer, n_head = sympy.symbols("d_model d_ff n_layer n_head", positive=True,
                                               integer=True)

#: MobileNet v1, Table 1, after the first 3x3 conv (3 -> 32, stride 2): each depthwise
#: separable layer as (stride, input channels, output channels). The table prints stride 2
#: for the last depthwise layer; it runs on 7x7 and feeds a 7x7 average pool, so it is
#: stride 1 (Keras' MobileNet has stride 1 there too).
MOBILENET_V1_SEPARABLE: tuple[tuple[int, int, int], ...] = (
    (1, 32, 64), (2, 64, 128), (1, 128, 128), (2, 128, 256), (1, 256, 256), (2, 256, 512),
    *((1, 512, 512),) * 5, (2, 512, 1024), (1, 1024, 1024),
)
#: The resolution MobileNet's rho multiplies.
MOBILENET_RESOLUTION = 224


def mobilenet_v1(height: sympy.Expr = H, width: sympy.Expr = W,
                 classes: int = 1000) -> tuple[Cost, Cost]:
    """(body, classifier) of MobileNet v1 on a ``height x width x 3`` input, weights only.

    Exact for ``height`` and ``width`` multiples of 32, where every stride divides the map.

    Args:
        height: input height (a symbol or a number).
        width: input width.
        classes: outputs of the fully connected classifier.
    """
    side = (sympy.Rational(1, 2) * height, sympy.Rational(1, 2) * width)
    body = formulas.conv((3, 3), 3, 32, side, bias=False)
    for stride, c_in, c_out in MOBILENET_V1_SEPARABLE:
        side = (sympy.Rational(1, stride) * side[0], sympy.Rational(1, stride) * side[1])
        body = (body + formulas.depthwise((3, 3), c_in, side, bias=False)
                + formulas.pointwise(c_in, c_out, side, bias=False))
    return body, formulas.dense(1024, classes, bias=False)


def decoder_block(d: sympy.Expr = d_model, hidden: sympy.Expr = d_ff,
                  tokens: sympy.Expr = L, heads: sympy.Expr = n_head) -> Cost:
    """One transformer block on ``tokens`` positions, weights only (no bias, no layer norm).

    Q, K, V and output projections (``d x d`` each), dot-product attention over all
    ``tokens x tokens`` pairs with ``heads`` heads of ``d/heads`` (the heads cancel), and an MLP
    ``d -> hidden -> d``. Element-wise work (softmax, norms, activations) is left out.
    """
    projections = formulas.dense(d, d, positions=tokens, bias=False)
    attention = formulas.dot_product_attention(tokens, tokens, d / heads, d / heads,
                                               heads=heads)
    mlp = (formulas.dense(d, hidden, positions=tokens, bias=False)
           + formulas.dense(hidden, d, positions=tokens, bias=False))
    cost = Cost(4 * projections.params, 4 * projections.macs) + attention + mlp
    return Cost(sympy.expand(cost.params), sympy.expand(cost.macs))


def decoder(layers: sympy.Expr = n_layer, d: sympy.Expr = d_model,
            hidden: sympy.Expr = d_ff, tokens: sympy.Expr = L) -> Cost:
    """``layers`` decoder blocks (the backbone without embeddings), weights only."""
    block = decoder_block(d, hidden, tokens)
    return Cost(sympy.expand(layers * block.params), sympy.expand(layers * block.macs))


def kaplan_forward_flops(layers: sympy.Expr = n_layer, d: sympy.Expr = d_model,
                         hidden: sympy.Expr = d_ff, tokens: sympy.Expr = L) -> sympy.Expr:
    """Kaplan et al. (2020), Table 1: forward FLOPs per token, ``2*N + 2*n_layer*n_ctx*d_attn``
    with ``N = 2*d_model*n_layer*(2*d_attn + d_ff)``, ``d_attn = d_model``, ``n_ctx = L``.
    A claim checked against :func:`decoder`, never used to derive anything."""
    n = 2 * d * layers * (2 * d + hidden)
    return sympy.expand(2 * n + 2 * layers * tokens * d)
