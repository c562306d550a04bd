"""The shape of the house: transfer_core is grouped into packages by idea, never reaches up into the pages
or a plotting library, and no two of its modules import each other (directly or round a longer loop), late
imports inside functions included."""

import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
CORE = ROOT / "transfer_core"
PACKAGES = {"analysis", "data", "lessons", "models", "runners", "sound", "store", "text", "words"}
TOP_LEVEL = {
    "__init__",
    "__main__",
    "config",
    "errors",
    "messages",
    "metrics",
    "model_inputs",
    "resolve",
    "settings",
    "train",
}
NEVER_IMPORTED = {"streamlit", "ui", "app_pages", "plotly", "matplotlib"}


def module_name(file: Path, core: Path = CORE) -> str:
    """A core file as a dotted name under transfer_core: runners/runner.py -> "runners.runner"."""
    parts = file.relative_to(core).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def core_modules(core: Path = CORE) -> set[str]:
    return {module_name(file, core) for file in core.rglob("*.py")}


def core_imports(file: Path, modules: set[str]) -> set[str]:
    """The transfer_core modules a file imports, wherever in the file the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "transfer_core":
            base = node.module.removeprefix("transfer_core").lstrip(".")
            for alias in node.names:  # `from transfer_core.data import user_data` names a module
                dotted = f"{base}.{alias.name}".lstrip(".")
                found.add(dotted if dotted in modules else base or "__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("transfer_core.") for a in node.names if a.name.startswith("transfer_core.")}
    return found - {module_name(file)} if file.is_relative_to(CORE) else found


def import_graph(core: Path = CORE) -> dict[str, set[str]]:
    modules = core_modules(core)
    return {module_name(file, core): core_imports(file, modules) & modules for file in core.rglob("*.py")}


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
    module = tmp_path / "module.py"
    module.write_text(
        "from transfer_core import config\n\ndef f():\n    from transfer_core.data import user_data\n"
        "    import transfer_core.store.runs\n    from transfer_core.models.weights import x\n"
    )
    modules = {"config", "data", "data.user_data", "store.runs", "models.weights"}
    assert core_imports(module, modules) == modules - {"data"}


def test_the_engine_is_grouped_into_packages_that_say_what_they_are_for():
    packages = {folder.name for folder in CORE.iterdir() if (folder / "__init__.py").exists()}
    assert packages == PACKAGES
    for package in packages:
        assert ast.get_docstring(ast.parse((CORE / package / "__init__.py").read_text())), package
    assert {file.stem for file in CORE.glob("*.py")} == TOP_LEVEL, "a new module belongs in a package"


def test_no_module_grows_past_one_idea():
    """About 400 lines at most; the export's code templates are one idea and may stay whole."""
    long = {module_name(f): n for f in CORE.rglob("*.py") if (n := len(f.read_text().splitlines())) > 400}
    assert set(long) <= {"lessons.export"}, long


def test_the_engine_never_imports_streamlit_the_ui_or_a_plotting_library():
    for file in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in NEVER_IMPORTED for n in names), file.relative_to(CORE)


def test_no_core_module_shadows_the_standard_library_or_a_dependency():
    names = {file.stem for file in CORE.rglob("*.py")} | {folder.name for folder in CORE.iterdir()}
    assert names & (set(sys.stdlib_module_names) | {"ray", "torch", "torchvision", "numpy"}) == set()


def resolves(dotted: str) -> bool:
    """Whether `transfer_core.a.b[.name]` is a module, or a name defined in one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            thing = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            thing = getattr(thing, name, None)
        return thing is not None
    return False


def test_every_module_path_the_pages_the_readme_and_the_code_name_exists():
    """A sentence that tells a learner where a thing lives must name a real place."""
    texts = [ROOT / "README.md", *ROOT.glob("assets/i18n/*.toml"), *CORE.rglob("*.py"), *ROOT.glob("ui/**/*.py")]
    named = {m for file in texts for m in re.findall(r"transfer_core(?:\.[a-z_][a-z0-9_]*)+", file.read_text())}
    assert len(named) > 10
    assert sorted(m for m in named if not resolves(m)) == []
    assert not resolves("transfer_core.evaluate.load_trained_model"), "the check can fail"
