"""The data types of the theory: an :class:`Equation`, a :class:`Derivation` (a titled list
of equations), an evaluated :class:`Value` and a :class:`RatioRow`."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from convcost.theory.latex import latex_text


@dataclass(frozen=True)
class Equation:
    """One line of a derivation: a label and the expression it names."""

    label: str
    expr: sympy.Expr

    @property
    def latex(self) -> str:
        """The expression as LaTeX (``sympy.latex``)."""
        return str(sympy.latex(self.expr))

    @property
    def pretty(self) -> str:
        """The expression as unicode art (``sympy.pretty``)."""
        return str(sympy.pretty(self.expr, use_unicode=True))


@dataclass(frozen=True)
class Derivation:
    """A titled sequence of equations with a note saying what they show."""

    name: str
    title: str
    equations: tuple[Equation, ...]
    note: str

    def equation(self, label: str) -> Equation:
        """The equation with this label (KeyError if there is none).

        Args:
            label: e.g. ``"mult-adds"``.
        """
        for equation in self.equations:
            if equation.label == label:
                return equation
        raise KeyError(label)

    @property
    def latex(self) -> str:
        """All equations as one LaTeX ``aligned`` block."""
        rows = [rf"\text{{{latex_text(e.label)}}} &= {e.latex}" for e in self.equations]
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    @property
    def pretty(self) -> str:
        """All equations as unicode art, each under its label."""
        blocks = [f"{e.label}:\n{_indent(e.pretty)}" for e in self.equations]
        return "\n\n".join(blocks)


@dataclass(frozen=True)
class Value:
    """An equation evaluated at some substitution: exact, and as a float once it is a number."""

    label: str
    exact: sympy.Expr
    approx: float | None  # None while free symbols remain


@dataclass(frozen=True)
class RatioRow:
    """Separable / standard cost at one kernel size and output width (exact)."""

    d_k: int
    n: int
    ratio: sympy.Rational

    @property
    def reduction(self) -> sympy.Rational:
        """How many times fewer params and mult-adds: standard / separable."""
        return 1 / self.ratio


def _indent(block: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())
