"""The layout keeps its promises: no import cycle among our modules, no crowded folder.

Imports are read from the source (those inside functions count; those under
``if TYPE_CHECKING:`` do not, as they never run), so a cycle dodged by a deferred import
is still a cycle here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Folder → the package name it is imported as.
PACKAGES = {"openapi": "sip_trunks_openapi", "mockserver": "mockserver", "contracts": "contracts"}
MAX_MODULES_PER_FOLDER = 15


def _module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGES[folder], *rest]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for folder in PACKAGES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if ".venv" not in path.parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, however deep, skipping ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    """Our modules, each with the modules of ours it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, path, node)
                # `from pkg import sub` imports the submodule when there is one, else names of pkg.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_deferred_import() -> None:
    # The check itself must fail on what it is there to catch.
    graph = {"a": {"b"}, "b": set(), "c": set()}
    assert cycles(graph) == []
    graph["b"].add("a")
    assert cycles(graph) == [["a", "b"]]
    source = "def f():\n    from contracts import engine\nif TYPE_CHECKING:\n    import mockserver\n"
    names = [node.module or node.names[0].name for node in _imports(ast.parse(source))]
    assert names == ["contracts"]


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_no_folder_holds_more_than_15_modules(folder: str) -> None:
    crowded = {
        str(directory.relative_to(ROOT)): count
        for directory in [ROOT / folder, *(ROOT / folder).rglob("*/")]
        if directory.is_dir() and "__pycache__" not in directory.parts
        if (count := len(list(directory.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}
