"""The layout as rules: imports point one way along the data flow, no cycles, and one module
reads Keras' private API. Read from the source (every import, also those inside functions)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "convcost"

# Lower layers first. A module may import its own layer and the layers before it.
LAYERS = ["foundation", "count", "theory", "models", "analysis", "measure", "render", "cli"]
FOUNDATION = {"convcost.errors", "convcost.checks", "convcost.files", "convcost.native",
              "convcost.quiet"}
# What a layer may import beyond its own layer and the foundation (not simply "all below").
ALLOWED = {
    "foundation": set(),
    "count": set(),  # count imports nothing else of convcost
    "theory": {"count"},
    "models": {"count"},  # the loader builds shape-only (count.scope) and counts for a guard
    "analysis": {"count", "models"},
    "measure": {"count", "models", "analysis"},
    "render": {"count", "theory", "models", "analysis", "measure"},
    "cli": {"count", "theory", "models", "analysis", "measure", "render"},
}


# The one exception: the notebook hooks of the data types (``to_pandas`` and ``_repr_html_`` of
# Report and Comparison) import render.notebook inside those methods, so that a notebook can
# show a report and pandas can take one without the caller importing render. Only there.
NOTEBOOK = "convcost.render.notebook"
NOTEBOOK_HOOKS = {"convcost.count.report": {"to_pandas", "_repr_html_"},
                  "convcost.analysis.compare": {"to_pandas", "_repr_html_"}}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every convcost module ``path`` imports, at module level or inside functions."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names.update(f"{base}.{alias.name}" for alias in node.names)
    names.discard("convcost.__version__")  # the version is the one thing read from the facade
    return {name for name in names if name == "convcost" or name.startswith("convcost.")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _layer(module: str) -> str:
    if module in FOUNDATION or module == "convcost.__main__":
        return "foundation"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "facade"


MODULES = _modules()
GRAPH = {module: {target for name in _imports(path, module)
                  if (target := _resolve(name, MODULES)) and target != module
                  and not (module in NOTEBOOK_HOOKS and target == NOTEBOOK)}
         for module, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_data_flow(module: str) -> None:
    layer = _layer(module)
    if layer == "facade" or module == "convcost.__main__":
        return  # convcost/__init__.py is the public API: it may reach into any layer
    allowed = ALLOWED[layer] | {layer, "foundation"}
    wrong = sorted(t for t in GRAPH[module]
                   if _layer(t) not in allowed and t != "convcost")
    assert not wrong, f"{module} ({layer}) imports {wrong}"
    assert "convcost" not in GRAPH[module], f"{module} imports the facade; import the module"


@pytest.mark.parametrize("module", sorted(NOTEBOOK_HOOKS))
def test_notebook_hooks_import_render_only_inside_the_hooks(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text())
    places = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            places += [function.name for node in ast.walk(function)
                       if isinstance(node, ast.ImportFrom) and node.module == NOTEBOOK]
    everywhere = [node for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                      "convcost.render")]
    assert places and set(places) <= NOTEBOOK_HOOKS[module]
    assert len(everywhere) == len(places), f"{module} imports render outside its hooks"


def test_there_are_no_import_cycles_between_modules() -> None:
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node], _ = 1, stack.append(node)
        for target in sorted(GRAPH[node]):
            if state[target] == 1:
                cycle = [*stack[stack.index(target):], target]
                if not _package_init_edge(cycle):
                    pytest.fail("import cycle: " + " -> ".join(cycle))
            elif state[target] == 0:
                visit(target)
        state[node] = 2
        stack.pop()

    for module in sorted(GRAPH):
        if state[module] == 0:
            visit(module)


def _package_init_edge(cycle: list[str]) -> bool:
    """A package's __init__ re-exporting its own modules is not a cycle of the design."""
    return any(b.startswith(a + ".") for a, b in pairwise(cycle))


def test_only_keras_internals_reads_private_keras_api() -> None:
    private = re.compile(r"keras\.src|_nodes_by_depth|_keras_history|_flatten_layers|"
                         r"\._functional\b|\.arguments\.fill_in")
    offenders = [name for name, path in MODULES.items()
                 if name != "convcost.count.keras_internals" and private.search(path.read_text())]
    assert offenders == []



def _private_names_read_by_name(tree: ast.AST) -> list[str]:
    """``getattr(x, "_name")``, ``getattr(x, "_name", default)``, ``hasattr(x, "_name")``
    (and setattr, delattr): a private attribute reached through a string (dunders are
    public protocol)."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                and isinstance(name := node.args[1].value, str) and name.startswith("_")
                and not (name.startswith("__") and name.endswith("__"))):
            found.append(f"{node.func.id}(..., {name!r}) line {node.lineno}")
    return found


def test_private_attributes_read_by_name_only_in_keras_internals() -> None:
    offenders = {name: found for name, path in MODULES.items()
                 if name != "convcost.count.keras_internals"
                 and (found := _private_names_read_by_name(ast.parse(path.read_text())))}
    assert offenders == {}


def test_the_private_name_check_finds_each_form() -> None:
    code = ('getattr(s, "_cross_device_ops")\ngetattr(o, "_options", None)\n'
            'hasattr(m, "_nodes_by_depth")\ngetattr(f, "__name__")\ngetattr(x, "public")')
    assert [f.split("(")[0] for f in _private_names_read_by_name(ast.parse(code))] == [
        "getattr", "getattr", "hasattr"]

def test_renderers_never_touch_a_keras_model() -> None:
    renderers = [name for name in MODULES if _layer(name) == "render"]
    assert renderers
    for name in renderers:
        text = MODULES[name].read_text()
        assert "import keras" not in text and "from keras" not in text, name


def _commands() -> set[str]:
    """The CLI modules that register a command (``@app.command``); a command split into a
    package (``cli.analyze``) registers in its ``__init__`` and owns its sub-modules."""
    return {name for name, path in MODULES.items()
            if name.startswith("convcost.cli.") and "@app.command(" in path.read_text()}


def test_no_command_module_imports_another() -> None:
    commands = _commands()
    assert "convcost.cli.analyze" in commands and len(commands) >= 12
    for module in MODULES:
        if not module.startswith("convcost.cli.") or module == "convcost.cli":
            continue
        own = next((c for c in commands if module == c or module.startswith(c + ".")), None)
        others = {t for t in GRAPH[module] if t in commands and t != own}
        assert not others, f"{module} imports the command module(s) {sorted(others)}"


def test_model_resolution_has_one_door() -> None:
    """Only the loader builds zoo models or loads model files for the rest of the package."""
    door = re.compile(r"\bzoo\.build\(|\bload_model\(|\bload_architecture\(")
    allowed = {"convcost.models.loader", "convcost.models.zoo", "convcost.models.hub",
               "convcost.analysis.scaling"}  # scaling rebuilds a zoo model at each size
    offenders = [name for name, path in MODULES.items()
                 if name not in allowed and door.search(path.read_text())]
    assert offenders == []


# One helper per primitive: the pattern that re-implements it, and the one module allowed it.
PRIMITIVES = {
    # the silencer (re-routing Python's stdout to sys.stderr is not silencing)
    "convcost.native": re.compile(r"\bos\.dup2\(|\bredirect_std(out|err)\((?!sys\.std)"),
    "convcost.errors": re.compile(r'" "\.join\([^\n]*\.split\(\)\)\[:'),  # one_line's cut
    "convcost.count.shapes": re.compile(r"\*= int\((dim|size)"),  # the element counter
}


@pytest.mark.parametrize("home", sorted(PRIMITIVES))
def test_each_primitive_is_written_once(home: str) -> None:
    offenders = [name for name, path in MODULES.items()
                 if name != home and PRIMITIVES[home].search(path.read_text())]
    assert offenders == [], f"use {home} instead"
