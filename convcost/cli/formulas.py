"""``convcost formulas``: the cost theory derived with sympy (no TensorFlow import)."""

from __future__ import annotations

from typing import Annotated

import typer

from convcost.cli.app import app, domain_errors
from convcost.cli.options import FormulasFormat
from convcost.cli.output import console_width, emit, use_color
from convcost.errors import ConvcostError
from convcost.render.options import RenderOptions


def parse_subs(text: str) -> dict[str, str]:
    """``"N=64,D_K=3"`` -> ``{"N": "64", "D_K": "3"}``; values are checked by symbolic.

    Args:
        text: comma-separated NAME=VALUE pairs.
    """
    pairs: dict[str, str] = {}
    for entry in text.split(","):
        name, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or not name or not value:
            raise ConvcostError(f"--subs takes NAME=VALUE pairs separated by commas, e.g. "
                                f"N=64,D_K=3; {entry.strip()!r} is not one. Received: {text!r}.")
        if name in pairs:
            raise ConvcostError(f"--subs names {name} twice. Received: {text!r}.")
        pairs[name] = value
    return pairs


@app.command("formulas")
@domain_errors
def formulas_command(
    kind: Annotated[str | None, typer.Argument(
        help="One derivation (standard, depthwise, pointwise, separable, ratio, "
             "width_resolution, v2_block, v2_block_stride2, relu6, intensity_standard, "
             "intensity_depthwise, mobilenet_resolution, decoder_lm); all when left out.",
        show_default=False, metavar="KIND")] = None,
    fmt: FormulasFormat = "text",
    subs: Annotated[str | None, typer.Option(
        "--subs", help="Evaluate at NAME=VALUE pairs, e.g. N=64,D_K=3 (names: D_K M N D_F "
                       "D_W D_H alpha rho h w d_in d_out t k s c_1 c_2 c x H W L d_model d_ff "
                       "n_layer n_head).",
        show_default=False, metavar="NAME=VALUE,...")] = None,
) -> None:
    """Print the cost theory derived with sympy from convcost's own formulas."""
    from convcost.render import formulas as show
    from convcost.theory import symbolic

    names = list(symbolic.DERIVATIONS) if kind is None else [symbolic.derivation(kind).name]
    values = parse_subs(subs) if subs is not None else None
    if values is not None:
        symbolic.substitutions(values)  # validate before printing anything
    derivations = [symbolic.DERIVATIONS[name] for name in names]
    evaluated = [symbolic.evaluate(name, values) if values is not None else None
                 for name in names]
    options = RenderOptions(width=console_width(), color=use_color())
    emit(show.render(show.Formulas(derivations, evaluated, values), fmt, options), None)
