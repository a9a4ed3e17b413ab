"""Start-up: the torch-free modules stay torch-free, and the package has no import cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import neural_style

PACKAGE = Path(neural_style.__file__).parent
TORCH_FREE = [
    "neural_style.cli",
    "neural_style.device",
    "neural_style.image",
    "neural_style.loading",
    "neural_style.onnx",
    "neural_style.precision",
    "neural_style.styles",
    "neural_style.stylizer",
]


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_without_torch(module):
    script = f"import sys, {module}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_an_onnx_model_loads_on_the_cpu_without_torch():
    script = (
        "import sys\nfrom neural_style.loading import load_model, multistyle_model_path\n"
        "model = load_model(multistyle_model_path(), style=3, device='cpu')\n"
        "print(model.styles, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["26", "False"], done.stderr


def _imports_of(path: Path) -> set[str]:
    """Return the neural_style modules ``path`` imports anywhere (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neural_style."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("neural_style."))
    return found


def test_the_package_has_no_import_cycle():
    modules = {path.stem: path for path in PACKAGE.glob("*.py")}
    graph = {name: _imports_of(path) & modules.keys() - {name} for name, path in modules.items()}
    # Depth-first search; a module met again while still on the stack closes a cycle.
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name) :], name])
            pytest.fail(f"import cycle: {cycle}")
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*stack, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
