"""Packaging: one version, quoted extras in every install hint, and (slow) a built wheel and
sdist that ``twine check`` accepts and that install into a fresh venv and run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNQUOTED_EXTRA = re.compile(r"pip install convcost\[")
# Where users read install hints; CHANGELOG.md records history and is left as written.
HINT_PLACES = ["convcost", "docs", "scripts", "README.md", "CONTRIBUTING.md"]


def test_version_is_written_once() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "convcost.__version__"}
    assert len(re.findall(r"^__version__ = ", (REPO / "convcost" / "__init__.py").read_text(),
                          re.MULTILINE)) == 1


def test_every_install_hint_quotes_the_extras() -> None:
    files = [p for place in HINT_PLACES for p in
             ([REPO / place] if (REPO / place).is_file() else (REPO / place).rglob("*"))
             if p.suffix in (".py", ".md")]
    assert len(files) > 50
    offenders = [f"{p.relative_to(REPO)}:{n}" for p in files
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if UNQUOTED_EXTRA.search(line)]
    assert offenders == []  # a shell globs convcost[hub] (zsh refuses it): 'convcost[hub]'


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    """Build from a clean copy (no isolation: offline, with this Python's setuptools), check
    with twine, install the wheel with its extras into a venv that sees this Python's packages
    (--system-site-packages: TensorFlow is not downloaded again; --no-index: nothing is), then
    run the installed ``convcost`` outside the checkout."""
    pytest.importorskip("build")
    pytest.importorskip("twine")
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "site", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"))
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source, cwd=source)
    wheel, = dist.glob("convcost-*.whl")
    sdist, = dist.glob("convcost-*.tar.gz")
    assert "PASSED" in _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist,
                            cwd=tmp_path)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"COLUMNS": "120"}
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-index", "--quiet",
         f"{wheel}[hub,litert,report]", cwd=tmp_path, env=env)
    where = _run(venv / "bin" / "python", "-c", "import convcost; print(convcost.__file__)",
                 cwd=tmp_path, env=env)
    assert where.startswith(str(venv)), where  # the wheel, not the checkout

    import convcost

    version = _run(venv / "bin" / "convcost", "--version", cwd=tmp_path, env=env)
    assert version.strip() == f"convcost {convcost.__version__}"
    assert wheel.name.startswith(f"convcost-{convcost.__version__}-")
    data = json.loads(_run(venv / "bin" / "convcost", "analyze", "v1", "--format", "json",
                           cwd=tmp_path, env=env))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (48_330, 3_109_760)
