"""The 13 derivations the CLI (``convcost formulas``) and the docs print, in reading order.

:data:`DERIVATIONS` is the ordered registry; each entry is a :class:`Derivation` (a titled list
of :class:`Equation`), built on first access and cached. :func:`derivation` looks one up by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sympy

from convcost.count import formulas
from convcost.count.formulas import Cost
from convcost.errors import ConvcostError
from convcost.theory import laws
from convcost.theory.algebra import (
    elements_moved,
    intensity,
    large_map_limit,
    ratio_values,
    scaled_separable,
    separable_ratio,
    v2_block,
)
from convcost.theory.equations import Derivation, Equation
from convcost.theory.symbols import (
    D_F,
    D_K,
    DEPTHWISE,
    PAPER_RATIO,
    PAPER_V2_MACS,
    POINTWISE,
    SEPARABLE,
    STANDARD,
    M,
    N,
    alpha,
    c,
    c_1,
    c_2,
    d_in,
    h,
    k,
    rho,
    s,
    t,
    w,
    x,
)

# --- helpers of the derivations -------------------------------------------------------------


def _equals_exactly(expr: sympy.Expr, claim: sympy.Expr) -> bool:
    """Exact equality of two rational functions: their difference cancels to 0."""
    return bool(sympy.cancel(expr - claim) == 0)


def _scaling(part: Callable[[Any, Any], Cost], field: str) -> sympy.Expr:
    """Scaled / unscaled cost of one part (a function of the two multipliers), factored."""
    return sympy.factor(getattr(part(alpha, rho), field) / getattr(part(1, 1), field))


def _depthwise_part(width: Any, resolution: Any) -> Cost:
    side = resolution * D_F
    return formulas.depthwise((D_K, D_K), width * M, (side, side), bias=False)


def _pointwise_part(width: Any, resolution: Any) -> Cost:
    side = resolution * D_F
    return formulas.pointwise(width * M, width * N, (side, side), bias=False)


def _per_expanded_position(macs: sympy.Expr) -> sympy.Expr:
    """Write block MACs as h*w*d'*t*(...), the paper's shape; the bracket is derived."""
    scale = h * w * d_in * t
    return scale * sympy.expand(sympy.cancel(macs / scale))


def _standard_intensity() -> tuple[sympy.Expr, sympy.Expr]:
    """(elements moved, intensity) of a k x k conv c_1 -> c_2, stride 1, same padding."""
    cost = formulas.conv((k, k), c_1, c_2, (h, w), bias=False)
    moved = elements_moved(h * w * c_1, h * w * c_2, cost.params)
    return moved, intensity(cost, h * w * c_1, h * w * c_2)


def _depthwise_intensity(stride: Any) -> tuple[sympy.Expr, sympy.Expr]:
    """(elements moved, intensity) of a k x k depthwise conv on c channels at a stride."""
    cost = formulas.depthwise((k, k), c, (h / stride, w / stride), bias=False)
    out_elements = h * w * c / stride**2
    moved = elements_moved(h * w * c, out_elements, cost.params)
    return moved, intensity(cost, h * w * c, out_elements)


# --- the derivations --------------------------------------------------------------------------


def _cost_derivation(name: str, title: str, cost: Cost, note: str) -> Derivation:
    equations = (Equation("params", cost.params), Equation("mult-adds", cost.macs))
    return Derivation(name, title, equations, note)


def _standard() -> Derivation:
    return _cost_derivation(
        "standard", "Standard convolution", STANDARD,
        "formulas.conv((D_K, D_K), M, N, (D_W, D_H), bias=False): D_K x D_K kernels over M "
        "input channels for each of N outputs, at every one of D_W x D_H positions.")


def _depthwise() -> Derivation:
    return _cost_derivation(
        "depthwise", "Depthwise convolution", DEPTHWISE,
        "formulas.depthwise((D_K, D_K), M, (D_W, D_H), bias=False): one D_K x D_K filter per "
        "input channel; no mixing across channels.")


def _pointwise() -> Derivation:
    return _cost_derivation(
        "pointwise", "Pointwise (1x1) convolution", POINTWISE,
        "formulas.pointwise(M, N, (D_W, D_H), bias=False): mixes M channels into N at each "
        "position.")


def _separable() -> Derivation:
    return _cost_derivation(
        "separable", "Depthwise separable convolution", SEPARABLE,
        "formulas.separable(..., bias=False) = depthwise + pointwise.")


def _ratio_note() -> str:
    checks = ", ".join(
        f"{label} {_equals_exactly(separable_ratio(field), PAPER_RATIO)}"
        for label, field in (("params", "params"), ("mult-adds", "macs")))
    rows = "; ".join(
        f"N={row.n}: {row.ratio} = {float(row.ratio):.4f} ({float(row.reduction):.2f}x fewer)"
        for row in ratio_values())
    return (f"Derived by dividing the two expressions and simplifying (cancel, expand). Equal "
            f"to the paper's 1/N + 1/D_K**2 (the difference cancels to 0): {checks}. At D_K=3: "
            f"{rows}. The reduction tends to D_K**2 = 9 as N grows.")


def _ratio() -> Derivation:
    reduction = sympy.cancel(1 / separable_ratio("macs"))
    equations = (
        Equation("params: separable / standard", separable_ratio("params")),
        Equation("mult-adds: separable / standard", separable_ratio("macs")),
        Equation("reduction: standard / separable", reduction),
        Equation("reduction as N → ∞", sympy.limit(reduction, N, sympy.oo)),
    )
    return Derivation("ratio", "Separable / standard cost", equations, _ratio_note())


def _width_resolution() -> Derivation:
    macs = _scaling(scaled_separable, "macs")
    params = _scaling(scaled_separable, "params")
    equations = (
        Equation("mult-adds with M → αM, N → αN, D_F → ρD_F",
                 sympy.factor(scaled_separable().macs)),
        Equation("depthwise mult-adds: scaled / original", _scaling(_depthwise_part, "macs")),
        Equation("pointwise mult-adds: scaled / original", _scaling(_pointwise_part, "macs")),
        Equation("mult-adds: scaled / original (exact)", macs),
        Equation("mult-adds ratio as N → ∞", sympy.limit(macs, N, sympy.oo)),
        Equation("depthwise params: scaled / original", _scaling(_depthwise_part, "params")),
        Equation("pointwise params: scaled / original", _scaling(_pointwise_part, "params")),
        Equation("params: scaled / original (exact)", params),
        Equation("params ratio as N → ∞", sympy.limit(params, N, sympy.oo)),
    )
    note = ("The paper: the width multiplier alpha reduces cost and params 'by roughly alpha**2', "
            "the resolution multiplier rho reduces cost by rho**2. Exactly: the pointwise term "
            "scales by alpha**2*rho**2, the depthwise term only by alpha*rho**2, so for "
            "alpha <= 1 the total ratio lies between alpha**2*rho**2 and alpha*rho**2 and tends "
            "to alpha**2*rho**2 when N >> D_K**2. Params scale by alpha**2 (pointwise) and "
            "alpha (depthwise); rho does not change them. Square map: D_W = D_H = D_F.")
    return Derivation("width_resolution", "Width multiplier alpha, resolution multiplier rho",
                      equations, note)


def _v2_block() -> Derivation:
    cost = v2_block(1)
    equations = (
        Equation("params", sympy.factor(cost.params)),
        Equation("mult-adds: expand + depthwise + project", cost.macs),
        Equation("mult-adds", _per_expanded_position(cost.macs)),
    )
    matches = _equals_exactly(cost.macs, PAPER_V2_MACS)
    note = ("formulas.inverted_residual(h, w, d', d'', t, k=k, bias=False): 1x1 expansion to "
            "t*d' channels, k x k depthwise, linear 1x1 projection to d'' (bias and batch norm "
            "left out). Equal to the paper's h*w*d'*t*(d' + k**2 + d'') (the difference "
            f"cancels to 0): {matches}.")
    return Derivation("v2_block", "MobileNet v2 inverted residual block, stride 1",
                      equations, note)


def _v2_block_stride2() -> Derivation:
    cost = v2_block(2)
    equations = (
        Equation("params", sympy.factor(cost.params)),
        Equation("mult-adds: expand + depthwise + project", cost.macs),
        Equation("mult-adds", _per_expanded_position(cost.macs)),
        Equation("mult-adds at any stride s dividing h and w", _per_expanded_position(
            v2_block(s).macs)),
        Equation("saved by stride 2", sympy.factor(v2_block(1).macs - cost.macs)),
    )
    note = ("The expansion still runs on the full h x w input; the depthwise conv and the "
            "projection run on the h/2 x w/2 output, so their terms shrink 4x. Params do not "
            "change. The formula floors h // 2; here h and w are taken even.")
    return Derivation("v2_block_stride2", "MobileNet v2 inverted residual block, stride 2",
                      equations, note)


def _relu6() -> Derivation:
    equations = (Equation("ReLU6(x)", sympy.Min(sympy.Max(0, x), 6)),)
    note = ("MobileNet v2 uses ReLU6 after the expansion and the depthwise conv; the projection "
            "is linear (no activation), the 'linear bottleneck'. Counted as one FLOP per "
            "element in other_flops, no MACs.")
    return Derivation("relu6", "ReLU6", equations, note)


def _intensity_standard() -> Derivation:
    moved, value = _standard_intensity()
    equations = (
        Equation("elements moved (inputs + outputs + weights)", moved),
        Equation("elements moved at k = 1 (ShuffleNet v2 MAC)", sympy.factor(moved.subs(k, 1))),
        Equation("intensity: mult-adds / elements moved", value),
        Equation("intensity as h*w → ∞", large_map_limit(value)),
    )
    note = ("k x k conv c_1 -> c_2 on an h x w map, stride 1, same padding, weights only. "
            "Every input, output and weight element is moved once. On large maps the intensity "
            "tends to k**2*c_1*c_2/(c_1 + c_2): it grows with the channel counts.")
    return Derivation("intensity_standard", "Arithmetic intensity of a standard convolution",
                      equations, note)


def _intensity_depthwise() -> Derivation:
    moved, value = _depthwise_intensity(1)
    moved_2, value_2 = _depthwise_intensity(2)
    bound = large_map_limit(value)
    equations = (
        Equation("elements moved, stride 1", moved),
        Equation("intensity, stride 1", value),
        Equation("intensity as h*w → ∞, stride 1", bound),
        Equation("bound - intensity, stride 1 (positive)", sympy.factor(bound - value)),
        Equation("elements moved, stride 2", moved_2),
        Equation("intensity, stride 2", value_2),
        Equation("intensity as h*w → ∞, stride 2", large_map_limit(value_2)),
        Equation("intensity as h*w → ∞, stride s", large_map_limit(_depthwise_intensity(s)[1])),
    )
    note = ("k x k depthwise conv on c channels, same padding. The channel count cancels: "
            "whatever c, a 3x3 depthwise conv does at most 9/2 = 4.5 mult-adds per element "
            "moved (1.8 at stride 2), while a standard conv's intensity grows with its channels. "
            "This is why depthwise layers are memory-bound and the MAC savings do not turn "
            "into the same speed-up, on GPUs least of all.")
    return Derivation("intensity_depthwise", "Arithmetic intensity of a depthwise convolution",
                      equations, note)


# --- whole models -----------------------------------------------------------------------------


def _mobilenet_resolution() -> Derivation:
    body, classifier = laws.mobilenet_v1()
    side = laws.MOBILENET_RESOLUTION * rho
    at_rho = sympy.expand((body.macs + classifier.macs).subs({laws.H: side, laws.W: side}))
    full = at_rho.subs(rho, 1)
    equations = (
        Equation("mult-adds of the body (all but the classifier), H × W input",
                 sympy.expand(body.macs)),
        Equation("mult-adds of the classifier (1024 → 1000)", sympy.sympify(classifier.macs)),
        Equation("mult-adds at H = W = 224ρ", at_rho),
        Equation("mult-adds at 224ρ / at 224", sympy.expand(at_rho / full)),
        Equation("share of the classifier at 224ρ", sympy.cancel(classifier.macs / at_rho)),
        Equation("params (weights only; no ρ)", sympy.sympify(body.params + classifier.params)),
    )
    note = ("MobileNet v1's Table 1 (Howard et al., 2017) costed with convcost's formulas on an "
            "H x W x 3 input, weights only: every layer but the classifier runs on an "
            "H/s x W/s map, so its mult-adds are a multiple of H*W, exact for H and W multiples "
            "of 32. With the resolution multiplier, H = W = 224*rho, the cost falls as rho**2 "
            "except the classifier's 1,024,000, which does not depend on the input size. The "
            "table's stride 2 on the last depthwise layer is taken as 1 (7x7 in, 7x7 out, as "
            "in Keras). 'convcost analyze mobilenet --symbolic' derives the same polynomial "
            "from Keras' MobileNet, by exact interpolation, proven at held-back sizes.")
    return Derivation("mobilenet_resolution", "MobileNet's cost as a function of resolution",
                      equations, note)


def _decoder_lm() -> Derivation:
    tokens, d, layers = laws.L, laws.d_model, laws.n_layer
    block, model = laws.decoder_block(), laws.decoder()
    per_token = sympy.expand(model.macs / tokens)
    kaplan = laws.kaplan_forward_flops()
    gpt2 = {d: 768, laws.d_ff: 3072, layers: 12}
    equations = (
        Equation("forward mult-adds of one block", block.macs),
        Equation("N: non-embedding weights", model.params),
        Equation("forward mult-adds of n_layer blocks", model.macs),
        Equation("forward mult-adds per token", per_token),
        Equation("per token, beyond N", sympy.expand(per_token - model.params)),
        Equation("forward FLOPs per token (2 per mult-add)", sympy.expand(2 * per_token)),
        Equation("Kaplan et al. (2020): forward FLOPs per token", kaplan),
        Equation("ours − Kaplan's (FLOPs per token)", sympy.factor(2 * per_token - kaplan)),
        Equation("GPT-2 small (d_model = 768, d_ff = 3072, n_layer = 12): mult-adds",
                 model.macs.subs(gpt2)),
    )
    note = ("A decoder-only transformer's backbone (n_layer blocks of multi-head attention and "
            "an MLP d_model -> d_ff -> d_model, no embeddings), costed with convcost's formulas "
            "on L tokens, weights only, full attention (a causal mask zeroes scores but the "
            "products are computed in full). Forward mult-adds per token = N, the non-embedding "
            "weights, plus 2*n_layer*d_model*L; the heads cancel. Kaplan et al.'s C_forward = "
            "2N + 2*n_layer*n_ctx*d_attn counts one L x L x d_attn product per layer (their "
            "'Mask' row); convcost counts both Q K^T and the weighted sum A V, as Hoffmann et "
            "al. (2022, App. F) do, so its context term is twice Kaplan's. Softmax, norms and "
            "activations are other FLOPs, not here. The engine ('analyze --symbolic') finds "
            "the same law on a 2-block Keras transformer (tests/theory/test_laws.py).")
    return Derivation("decoder_lm", "A decoder LM's cost as a function of sequence length",
                      equations, note)


_BUILDERS: dict[str, Callable[[], Derivation]] = {
    "standard": _standard,
    "depthwise": _depthwise,
    "pointwise": _pointwise,
    "separable": _separable,
    "ratio": _ratio,
    "width_resolution": _width_resolution,
    "v2_block": _v2_block,
    "v2_block_stride2": _v2_block_stride2,
    "relu6": _relu6,
    "intensity_standard": _intensity_standard,
    "intensity_depthwise": _intensity_depthwise,
    "mobilenet_resolution": _mobilenet_resolution,
    "decoder_lm": _decoder_lm,
}


class _Registry(Mapping[str, Derivation]):
    """Ordered, read-only name -> Derivation; each derivation is built on first access."""

    def __init__(self, builders: Mapping[str, Callable[[], Derivation]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Derivation] = {}

    def __getitem__(self, name: str) -> Derivation:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


#: Every derivation, in reading order, keyed by short name.
DERIVATIONS: Mapping[str, Derivation] = _Registry(_BUILDERS)


def derivation(name: str) -> Derivation:
    """The derivation called ``name``; a ConvcostError lists the valid names otherwise.

    Args:
        name: a key of :data:`DERIVATIONS`, e.g. ``"ratio"``.
    """
    if name not in DERIVATIONS:
        raise ConvcostError(f"Unknown formula kind. Received: {name!r}. "
                            f"Valid kinds: {', '.join(DERIVATIONS)}.")
    return DERIVATIONS[name]
