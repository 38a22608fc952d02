"""MkDocs hook: the docs' TeX becomes MathML when the site is built, so formulas read offline.

``pymdownx.arithmatex`` (generic mode) wraps each formula as ``<span class="arithmatex">\\(
... \\)</span>`` or ``<div class="arithmatex">\\[ ... \\]</div>``; this hook converts the TeX in
them with ``latex2mathml`` (pure Python), and browsers draw MathML themselves: no MathJax, no
script, nothing fetched. A formula latex2mathml cannot convert fails the build.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

MATH = re.compile(r'<(span|div) class="arithmatex">\s*\\([(\[])(.*?)\\[)\]]\s*</\1>', re.DOTALL)


def to_mathml(match: re.Match[str]) -> str:
    """One arithmatex element as MathML (display math as a block)."""
    tag, opener, tex = match.group(1), match.group(2), html.unescape(match.group(3))
    display = "block" if opener == "[" else "inline"
    try:
        mathml = convert(tex.strip(), display=display)
    except Exception as error:  # latex2mathml raises its own types for TeX it lacks
        raise ValueError(f"TeX that latex2mathml cannot convert: {error}. Received: {tex!r}.") \
            from None
    return f'<{tag} class="arithmatex">{mathml}</{tag}>'


GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "rho": "ρ", "sigma": "σ", "cdot": "·",
         "times": "×"}
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
INLINE_TEX = re.compile(r"\\\((.*?)\\\)")


def plain(tex: str) -> str:
    """Simple TeX as Unicode text, for the table of contents (which holds text, not MathML):
    ``1/N + 1/D_K^2`` -> ``1/N + 1/D_K²``, ``\\alpha`` -> ``α``."""
    text = re.sub(r"\\([a-zA-Z]+)", lambda m: GREEK.get(m.group(1), m.group(1)), tex)
    return re.sub(r"\^\{?(\d+)\}?", lambda m: m.group(1).translate(SUPERSCRIPTS), text)


def _plain_titles(items: Any) -> None:
    for item in items:
        item.title = INLINE_TEX.sub(lambda m: plain(m.group(1)), item.title)
        _plain_titles(item.children)


def on_page_content(content: str, page: Any, **kwargs: Any) -> str:
    """Replace every arithmatex formula of a page by its MathML, and the TeX of its table of
    contents by Unicode text."""
    _plain_titles(page.toc)
    return MATH.sub(to_mathml, content)
