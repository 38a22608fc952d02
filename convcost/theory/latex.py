"""LaTeX escaping of a derivation's labels (plain text inside ``\\text{...}``)."""

from __future__ import annotations

LATEX_TEXT = {"→": r"$\to$", "∞": r"$\infty$", "α": r"$\alpha$", "ρ": r"$\rho$", "&": r"\&",
               "_": r"\_", "{": "", "}": "", "\\": ""}


def latex_text(label: str) -> str:
    """A label made safe for ``\\text{...}``."""
    return "".join(LATEX_TEXT.get(char, char) for char in label)
