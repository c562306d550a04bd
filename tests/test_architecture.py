"""The shape of the house: transfer_core never reaches up into the UI, and no two of its modules import
each other (directly or round a longer loop), late imports inside functions included."""

import ast
from pathlib import Path

CORE = Path(__file__).parents[1] / "transfer_core"


def core_imports(file: Path) -> set[str]:
    """The transfer_core modules a file imports, wherever in the file the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transfer_core"):
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("transfer_core.")}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {file.stem for file in CORE.glob("*.py")}
    return {file.stem: core_imports(file) & modules for file in CORE.glob("*.py")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop, as the modules along it, or None."""
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for neighbour in sorted(graph[module]):
            if state.get(neighbour) == "open":
                return path[path.index(neighbour) :] + [neighbour]
            if neighbour not in state and (loop := visit(neighbour, [*path, neighbour])):
                return loop
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (loop := visit(module, [module])):
            return loop
    return None


def test_no_two_core_modules_import_each_other():
    assert find_cycle(import_graph()) is None, f"import loop: {' -> '.join(find_cycle(import_graph()))}"


def test_the_cycle_finder_finds_a_loop_and_sees_late_imports(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    module = tmp_path / "data.py"
    module.write_text(
        "from . import paths\n\ndef f():\n    from .user_data import load\n    import transfer_core.runs\n"
    )
    assert core_imports(module) == {"paths", "user_data", "runs"}


def test_the_core_never_imports_streamlit_or_the_ui():
    for file in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in ("streamlit", "ui", "app_pages") for n in names), file.name


def test_no_core_module_shadows_the_standard_library():
    import sys

    shadowing = {file.stem for file in CORE.glob("*.py")} & set(sys.stdlib_module_names)
    assert shadowing == set()
