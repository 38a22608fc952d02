"""The documentation site: it builds strictly, its examples run, its generated parts are fresh.

* Generated pages (theory formulas from ``convcost.theory.symbolic``, the CLI reference from
  the CLI's
  own Click tree) are regenerated in memory and compared with the files in ``docs/``.
* Every ```python block in ``docs/**/*.md`` is executed, in a fresh namespace, unless it is
  marked ```python title="..." or preceded by a ``<!-- no-test -->`` line.
* ``mkdocs build --strict`` runs in a subprocess: a broken link, anchor or nav entry fails.
* Command-output blocks (``<!-- gen run: ... -->``) hold their command and some output, so a
  page with an unfilled block cannot pass as finished.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
NO_TEST = "<!-- no-test -->"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every runnable ```python block of a Markdown text."""
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        marked = "title=" in match[1] or (before and before[-1].strip() == NO_TEST)
        if not marked:
            found.append((text.count("\n", 0, match.start()) + 1, match[2]))
    return found


def _examples() -> list:
    params = []
    for page in _pages():
        for line, code in python_blocks(page.read_text(encoding="utf-8")):
            name = f"{page.relative_to(DOCS)}:{line}"
            params.append(pytest.param(name, code, id=name))
    return params


# --- generated pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(gen_docs.PAGES), ids=lambda p: str(p.relative_to(DOCS)))
def test_generated_page_is_fresh(path: Path) -> None:
    expected = gen_docs.PAGES[path]()
    assert path.exists(), f"{path} is missing: run python scripts/gen_docs.py"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(REPO)} is stale: run python scripts/gen_docs.py")


def test_formulas_page_has_every_derivation() -> None:
    from convcost.theory.symbolic import DERIVATIONS

    text = gen_docs.FORMULAS_PAGE.read_text(encoding="utf-8")
    for name, derivation in DERIVATIONS.items():
        assert f"{{#{name.replace('_', '-')}}}" in text
        assert derivation.latex in text


def test_cli_page_has_every_command() -> None:
    import typer.main

    from convcost.cli import app

    text = gen_docs.CLI_PAGE.read_text(encoding="utf-8")
    group: Any = typer.main.get_command(app)
    for name in group.commands:
        assert f"## `convcost {name}`" in text


# --- the generator's own helpers ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("conv_* and 2*N", r"conv\_\* and 2\*N"),
    ("[default: 3]", r"\[default: 3\]"),
    ("a | b", r"a \| b"),
    ("<str>", "&lt;str&gt;"),
    ("plain words.", "plain words."),
])
def test_escape_md(text: str, expected: str) -> None:
    assert gen_docs.escape_md(text) == expected


def test_blocks_are_parsed_and_replaced_in_place(tmp_path: Path, monkeypatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- gen run: convcost zoo -->\nold\n<!-- end gen -->\n"
                    "middle\n<!-- gen stamp -->\n<!-- end gen -->\nend\n", encoding="utf-8")
    assert gen_docs.blocks(page.read_text()) == [("run", "convcost zoo", "old\n"),
                                                 ("stamp", "", "")]
    monkeypatch.setattr(gen_docs, "REPO", tmp_path)
    monkeypatch.setattr(gen_docs, "render_block", lambda kind, arg: f"NEW {kind} {arg}\n")
    assert gen_docs.refresh_blocks(page)
    assert page.read_text() == ("intro\n<!-- gen run: convcost zoo -->\nNEW run convcost zoo\n"
                                "<!-- end gen -->\nmiddle\n<!-- gen stamp -->\nNEW stamp \n"
                                "<!-- end gen -->\nend\n")


def test_python_blocks_skip_marked_ones() -> None:
    text = ("```python\na = 1\n```\n\n<!-- no-test -->\n```python\nb = 2\n```\n\n"
            '```python title="sketch.py"\nc = 3\n```\n')
    assert [code for _, code in python_blocks(text)] == ["a = 1\n"]


# --- the pages themselves ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code"), _examples())
def test_python_example_runs(name: str, code: str) -> None:
    exec(compile(code, name, "exec"), {"__name__": "docs_example"})


@pytest.mark.parametrize("page", [p for p in _pages() if gen_docs.blocks(p.read_text("utf-8"))],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_command_blocks_are_filled(page: Path) -> None:
    for kind, arg, body in gen_docs.blocks(page.read_text(encoding="utf-8")):
        assert body.strip(), (f"{page.relative_to(REPO)}: empty '{kind} {arg}' block; run "
                              f"python scripts/gen_docs.py --results")
        if kind == "run":
            assert f"$ {arg}\n" in body, f"{page.relative_to(REPO)}: block does not show `{arg}`"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "index.html").exists()
    _assert_formulas_are_mathml(tmp_path)


def _assert_formulas_are_mathml(site: Path) -> None:
    """Offline, formulas read: MathML in the pages, no TeX left outside code, no script or
    stylesheet from another host."""
    import re

    theory = (site / "theory" / "index.html").read_text(encoding="utf-8")
    assert theory.count("<math") >= 20
    for page in site.rglob("*.html"):
        text = re.sub(r"<(code|pre)\b.*?</\1>", "", page.read_text(encoding="utf-8"),
                      flags=re.DOTALL)
        assert not re.search(r"\\\(|\\\[|\$\$", text), page
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', text), page


def test_mathml_hook_converts_tex() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import mathml_hook

    assert mathml_hook.plain(r"1/N + 1/D_K^2") == "1/N + 1/D_K²"
    html = '<span class="arithmatex">\\(\\frac{1}{N}\\)</span>'
    assert "<mfrac>" in mathml_hook.MATH.sub(mathml_hook.to_mathml, html)
