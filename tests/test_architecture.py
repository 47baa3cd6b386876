"""The package's architecture: the layers of pyproject.toml's import contracts hold, no import
cycle between modules at any depth (imports inside functions included), and no private name of
one module is used by another."""

import ast
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "aniso"


def module_name(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one node (or a self-loop)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_strongly_connected_finds_a_cycle_and_only_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["e"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


@pytest.fixture(scope="module")
def import_graph():
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    return grimp.build_graph("aniso", cache_dir=None)


def test_no_import_cycle_between_modules(import_graph):
    # grimp sees every import statement, at module level or inside a function; a module that
    # imports a sibling through its package (`from aniso.lm import spectrum`) depends on the
    # sibling, not on the package's __init__
    graph = {
        m: set(import_graph.find_modules_directly_imported_by(m)) for m in import_graph.modules
    }
    cycles = strongly_connected(graph)
    assert cycles == [], f"import cycles: {cycles}"


def test_the_layers_hold():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(SRC.parent / "pyproject.toml")) == 0


def private_uses(path: Path, root: Path = SRC) -> list[str]:
    """Private names (``_x``, not dunders) of another aniso module that ``path`` imports or reads
    as an attribute of an imported aniso module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, root)
    aliases, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aniso"):
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__") and node.module != here:
                    found.append(f"{here}: from {node.module} import {a.name}")
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("aniso"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{here}: {node.value.id}.{node.attr}")
    return found


def test_private_uses_are_found(tmp_path):
    pkg = tmp_path / "aniso"
    pkg.mkdir()
    (pkg / "x.py").write_text(
        "from aniso.y import _hidden, shown\nfrom aniso import z\nz._inner()\nz.__name__\n"
        "def _own():\n    return shown\n"
    )
    assert private_uses(pkg / "x.py", tmp_path) == [
        "aniso.x: from aniso.y import _hidden",
        "aniso.x: z._inner",
    ]


def test_no_private_name_crosses_a_module_border():
    found = [f for p in sorted(PACKAGE.rglob("*.py")) for f in private_uses(p)]
    assert found == [], "private names used across modules:\n" + "\n".join(found)
