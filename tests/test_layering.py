"""Dependencies point downward: no module of the package reaches, through any chain of imports
(those inside functions included, those only for type checking excepted), back to itself."""

import ast
from pathlib import Path

import reasonrm

PACKAGE = Path(reasonrm.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["reasonrm", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _typing_only(tree: ast.AST) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes |= {id(n) for child in node.body for n in ast.walk(child)}
    return nodes


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports. Importing a.b.c also runs a.b's __init__;
    a module's own enclosing packages are already importing, so they are not edges."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = _typing_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                parts = name.split(".")
                for end in range(2, len(parts) + 1):
                    target = ".".join(parts[:end])
                    if target in modules and not (module + ".").startswith(target + "."):
                        graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "reasonrm.specs" in graph  # it read the package
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_an_import_inside_a_function_is_an_edge():
    graph = import_graph()
    # specs reads the model catalogue only inside a method
    assert "reasonrm.models" in graph["reasonrm.specs"]
    # engines/base.py names EngineSpec for type checking only: not an edge
    assert "reasonrm.specs" not in graph["reasonrm.engines.base"]


def test_engine_names_come_from_one_list_that_matches_the_registry():
    """specs.py sits below the engines, so it names them; the registry must hold the same."""
    from reasonrm.cli.common import EngineName
    from reasonrm.engines import ENGINES
    from reasonrm.specs import ENGINE_CHOICES

    assert ("auto", *ENGINES.names()) == ENGINE_CHOICES
    assert [e.value for e in EngineName] == ENGINES.names()


def test_each_command_module_stays_small():
    """One module per command group, each short enough to read at once; logic that is not
    argument handling belongs in the library."""
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "cli").glob("*.py")}
    assert len(sizes) >= 10 and max(sizes.values()) < 300, sizes
