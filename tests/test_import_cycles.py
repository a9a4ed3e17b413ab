"""No module of the distribution imports itself back, directly or through others (#19).

Read from the source, every import statement counted (also those inside functions and ``if`` blocks), so a
cycle is found before some run happens to import the modules in the order that breaks.
"""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("csci_utils", "pset_1", "pset_4", "neural_style")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name an import statement in ``path`` names (``from a import b`` names a and a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Map each module to the modules of the distribution that importing it runs first.

    Importing ``a.b.c`` runs ``a`` and ``a.b`` too, except the packages the importer itself lives in,
    which are running already.
    """
    files = {module_name(path, root): path for package in packages for path in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        needs: set[str] = set()
        for name in imported_names(path, module):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                candidate = ".".join(parts[:depth])
                enclosing = module.startswith(f"{candidate}.") and depth < len(parts)
                if candidate in files and candidate != module and not enclosing:
                    needs.add(candidate)
        graph[module] = needs
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one import cycle of ``graph`` (first module repeated at the end), or [] if there is none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        return list(err.args[1])
    return []


def test_no_module_imports_itself_back():
    assert cycle(import_graph(ROOT, PACKAGES)) == []


def test_a_cycle_through_a_main_block_is_found(tmp_path):
    # The shape of the last cycle (#19): io's __main__ block imported io_cli, which imports io.
    package = tmp_path / "utils"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "io.py").write_text('if __name__ == "__main__":\n    from utils.io_cli import main\n')
    (package / "io_cli.py").write_text("from .io import remove_stale_temp_files\n")
    (package / "hashing.py").write_text("import utils.io\n")
    assert sorted(cycle(import_graph(tmp_path, ("utils",)))) == ["utils.io", "utils.io", "utils.io_cli"]


def test_a_submodule_importing_its_own_package_is_no_cycle(tmp_path):
    package = tmp_path / "utils" / "s3"
    package.mkdir(parents=True)
    (tmp_path / "utils" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from utils.s3.client import make_client\n")
    (package / "client.py").write_text("from utils.s3.errors import translate\n")
    (package / "errors.py").write_text("import os\n")
    assert cycle(import_graph(tmp_path, ("utils",))) == []
