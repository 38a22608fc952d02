"""``convcost formulas``: the symbolic theory (sympy), printed as text, LaTeX or JSON.

Imports sympy and :mod:`convcost.theory.symbolic` inside the command only, and never TensorFlow.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcost.cli.app import app, domain_errors
from convcost.errors import ConvcostError

if TYPE_CHECKING:
    from convcost.theory.symbolic import Derivation, Value

FORMATS = ("text", "latex", "json")


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
             "intensity_depthwise); all when left out.",
        show_default=False)] = None,
    output: Annotated[str, typer.Option(
        "--format", help="text (unicode, rich), latex, or json.")] = "text",
    subs: Annotated[str | None, typer.Option(
        "--subs", help="Evaluate at NAME=VALUE pairs, e.g. N=64,D_K=3 (names: D_K M N D_F "
                       "D_W D_H alpha rho h w d_in d_out t k s c_1 c_2 c x).",
        show_default=False)] = None,
) -> None:
    """Print the cost theory derived with sympy from convcost's own formulas."""
    from convcost.theory import symbolic

    if output not in FORMATS:
        raise ConvcostError(f"Unknown format. Received: {output!r}. "
                            f"Valid formats: {', '.join(FORMATS)}.")
    names = list(symbolic.DERIVATIONS) if kind is None else [symbolic.derivation(kind).name]
    values = parse_subs(subs) if subs is not None else None
    if values is not None:
        symbolic.substitutions(values)  # validate before printing anything
    derivations = [symbolic.DERIVATIONS[name] for name in names]
    evaluated = [symbolic.evaluate(name, values) if values is not None else None
                 for name in names]
    _RENDERERS[output](derivations, evaluated, values)


def _value_text(value: Value) -> str:
    if value.approx is None:
        return str(value.exact)
    if value.exact.is_Integer:
        return str(value.exact)
    return f"{value.exact} ≈ {value.approx:.6g}"


def _render_text(derivations: list[Derivation], evaluated: list[Any],
                 values: dict[str, str] | None) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    at = ", ".join(f"{name}={value}" for name, value in (values or {}).items())
    for derivation, results in zip(derivations, evaluated, strict=True):
        console.rule(Text(f"{derivation.name}: {derivation.title}", style="bold"), align="left")
        console.print(Text(derivation.note, style="dim"))
        for index, equation in enumerate(derivation.equations):
            console.print(Text(f"{equation.label}:", style="bold"))
            console.print(Text(_indent(equation.pretty)), no_wrap=True, crop=False)
            if results is not None:
                console.print(Text(f"    at {at}: {_value_text(results[index])}",
                                   style="cyan"))
        console.print()


def _render_latex(derivations: list[Derivation], evaluated: list[Any],
                  values: dict[str, str] | None) -> None:
    at = ", ".join(f"{name}={value}" for name, value in (values or {}).items())
    for derivation, results in zip(derivations, evaluated, strict=True):
        typer.echo(f"% {derivation.name}: {derivation.title}")
        typer.echo(derivation.latex)
        for value in results or ():
            typer.echo(f"% at {at}: {value.label} = {_value_text(value)}")
        typer.echo("")


def _render_json(derivations: list[Derivation], evaluated: list[Any],
                 values: dict[str, str] | None) -> None:
    items = []
    for derivation, results in zip(derivations, evaluated, strict=True):
        equations = []
        for index, equation in enumerate(derivation.equations):
            row: dict[str, Any] = {"label": equation.label, "expression": str(equation.expr),
                                   "latex": equation.latex, "pretty": equation.pretty}
            if results is not None:
                value = results[index]
                row["value"] = {"exact": str(value.exact), "float": value.approx}
            equations.append(row)
        items.append({"name": derivation.name, "title": derivation.title,
                      "note": derivation.note, "equations": equations})
    document = {"substitutions": values or {}, "derivations": items}
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _indent(block: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())


_RENDERERS = {"text": _render_text, "latex": _render_latex, "json": _render_json}
