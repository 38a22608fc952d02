"""Render ``convcost formulas``: derivations of :mod:`convcost.theory.symbolic` as unicode
text, LaTeX or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.rule import Rule
from rich.text import Text

from convcost.render.options import RenderOptions
from convcost.render.tables import check_choice, print_to_string

if TYPE_CHECKING:
    from convcost.theory.symbolic import Derivation, Value

Evaluated = Sequence["tuple[Value, ...] | None"]
FORMATS = ("text", "latex", "json")


@dataclass(frozen=True)
class Formulas:
    """What ``formulas`` prints: derivations, each one's values at ``values`` (or None)."""

    derivations: Sequence[Derivation]
    evaluated: Evaluated
    values: dict[str, str] | None = None


def render(data: Formulas, fmt: str, opts: RenderOptions | None = None) -> str:
    """The derivations as ``fmt`` (one of :data:`FORMATS`)."""
    options = opts or RenderOptions()
    check_choice("format", fmt, FORMATS)
    if fmt == "latex":
        return _latex(data.derivations, data.evaluated, data.values)
    if fmt == "json":
        return json.dumps(formulas_dict(data), indent=2, ensure_ascii=False) + "\n"
    return _text(data.derivations, data.evaluated, data.values, width=options.width,
                 color=options.color)


def value_text(value: Value) -> str:
    """An exact value, with a float beside it when it is not an integer."""
    if value.approx is None or value.exact.is_Integer:
        return str(value.exact)
    return f"{value.exact} ≈ {value.approx:.6g}"


def _at(values: dict[str, str] | None) -> str:
    return ", ".join(f"{name}={value}" for name, value in (values or {}).items())


def _text(derivations: Sequence[Derivation], evaluated: Evaluated,
          values: dict[str, str] | None, *, width: int | None, color: bool = False) -> str:
    """Each derivation: a rule with its title, its note, every equation in unicode."""
    parts: list[Any] = []
    for derivation, results in zip(derivations, evaluated, strict=True):
        parts.append(Rule(Text(f"{derivation.name}: {derivation.title}", style="bold"),
                          align="left"))
        parts.append(Text(derivation.note, style="dim"))
        for index, equation in enumerate(derivation.equations):
            parts.append(Text(f"{equation.label}:", style="bold"))
            parts.append(Text(_indent(equation.pretty), no_wrap=True))
            if results is not None:
                parts.append(Text(f"    at {_at(values)}: {value_text(results[index])}",
                                  style="cyan"))
        parts.append(Text(""))
    return print_to_string(*parts, width=width, color=color, crop=False)


def _latex(derivations: Sequence[Derivation], evaluated: Evaluated,
           values: dict[str, str] | None) -> str:
    """One aligned LaTeX block per derivation, values as comments."""
    lines = []
    for derivation, results in zip(derivations, evaluated, strict=True):
        lines += [f"% {derivation.name}: {derivation.title}", derivation.latex]
        lines += [f"% at {_at(values)}: {value.label} = {value_text(value)}"
                  for value in results or ()]
        lines.append("")
    return "\n".join(lines) + "\n"


def formulas_dict(data: Formulas) -> dict[str, Any]:
    """``{"substitutions", "derivations": [{name, title, note, equations}]}``."""
    items = []
    for derivation, results in zip(data.derivations, data.evaluated, strict=True):
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
    return {"substitutions": data.values or {}, "derivations": items}


def _indent(block: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())
