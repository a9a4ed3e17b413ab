"""Start-up: nothing an ONNX model or a style picture reaches imports torch, and no import cycle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import neural_style

PACKAGE = Path(neural_style.__file__).parent
# What needs torch by design: the checkpoint runner and its parts, training, the example's modules.
NEEDS_TORCH = (
    "neural_style.neural_style",
    "neural_style.torch.",
    "neural_style.train",
    "neural_style.transformer_net",
    "neural_style.utils",
    "neural_style.vgg",
)


def module_name(path: Path) -> str:
    """Return the dotted name of a module file of the package (a package's ``__init__`` is the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )


def test_every_module_but_the_checkpoint_runners_imports_without_torch() -> None:
    names = sorted(name for name in MODULES if not name.startswith(NEEDS_TORCH) and "__main__" not in name)
    script = (
        "import importlib, json, sys\n"
        f"names = {names!r}\n"
        "print(json.dumps([n for n in names if importlib.import_module(n) and 'torch' in sys.modules]))\n"
    )
    done = _run(script)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], "these modules import torch"


def test_an_onnx_model_loads_on_the_cpu_without_torch() -> None:
    script = (
        "import sys\nfrom neural_style.loading import load_model, multistyle_model_path\n"
        "model = load_model(multistyle_model_path(), style=3, device='cpu')\n"
        "print(model.styles, 'torch' in sys.modules)"
    )
    done = _run(script)
    assert done.stdout.split() == ["26", "False"], done.stderr


def _commands_without_torch(commands: list[list[str]]) -> dict[str, object]:
    """Run each command line in turn in one fresh process; map it to its exit code, or to "torch"."""
    script = (
        "import json, sys\nfrom neural_style.cli import main\n"
        f"commands = {commands!r}\nresults = {{}}\n"
        "for argv in commands:\n"
        "    try:\n"
        "        code = main(argv)\n"
        "    except SystemExit as exited:\n"
        "        code = exited.code\n"
        "    results[' '.join(argv)] = 'torch' if 'torch' in sys.modules else code\n"
        "print(json.dumps(results))\n"
    )
    done = _run(script)
    assert done.returncode == 0, done.stderr
    results: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return results


@pytest.fixture
def graph_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path / "cache"))  # subprocesses inherit it


@pytest.mark.slow
@pytest.mark.usefixtures("graph_cache")
def test_no_eval_of_an_onnx_model_or_a_style_picture_imports_torch(tmp_path: Path, make_photo) -> None:
    from neural_style.loading import multistyle_model_path

    photo = str(make_photo(tmp_path / "photo.png"))
    folder = tmp_path / "photos"
    for index in range(2):
        make_photo(folder / f"p{index}.png", seed=index)
    painting = str(make_photo(tmp_path / "painting.png", width=64, height=64, seed=3))
    onnx = ["--model", str(multistyle_model_path()), "--style", "3"]
    out = str(tmp_path / "out.png")
    single = ["eval", "--content-image", photo, "--output-image", out]
    folders = ["eval", "--content-image", str(folder), "--output-image"]
    expected = [
        (["--version"], 0),
        (["eval", "--help"], 0),
        ([*single, *onnx], 0),
        ([*single, *onnx, "--strength", "0.5"], 0),
        ([*single, *onnx, "--preserve-color"], 0),
        ([*single, *onnx, "--precision", "fp32", "--content-scale", "2"], 0),
        ([*folders, str(tmp_path / "a"), *onnx, "--strength", "0.5"], 0),
        ([*single, "--style-image", painting], 0),
        ([*single, "--style-image", painting, "--strength", "0.4", "--preserve-color"], 0),
        ([*folders, str(tmp_path / "b"), "--style-image", painting], 0),
        ([*single, *onnx, "--style", "99"], 2),
        ([*single, *onnx, "--precision", "bf16"], 2),
        ([*single, *onnx, "--export_onnx", str(tmp_path / "m.onnx")], 2),
        (["eval", "--content-image", str(tmp_path / "none.png"), "--output-image", out, *onnx], 3),
        (["styles", "--content-image", photo, "--output-image", str(tmp_path / "sheet.png")], 0),
        (["info"], 0),
        (["info", "--json"], 0),
        ([*single, *onnx, "--json"], 0),
    ]
    # Not in the list: ``--cuda 1``, which runs the 26-style network in PyTorch where ONNX Runtime has no
    # CUDA build (tests/neural_style/test_multistyle.py).
    results = _commands_without_torch([argv for argv, _ in expected])
    assert [argv for argv, code in results.items() if code == "torch"] == []
    codes = {" ".join(argv): code for argv, code in expected if code is not None}
    assert {argv: results[argv] for argv in codes} == codes


@pytest.mark.slow
@pytest.mark.usefixtures("graph_cache")
def test_a_video_imports_torch_for_its_engines_only(tmp_path: Path, make_photo) -> None:
    from neural_style.loading import multistyle_model_path
    from neural_style.video.synthetic import ClipSpec, make_clip

    clip = str(make_clip(tmp_path / "clip.mp4", ClipSpec(seconds=0.3)))
    painting = str(make_photo(tmp_path / "painting.png", width=64, height=64, seed=3))
    model = ["--model", str(multistyle_model_path()), "--style", "3"]
    picture = ["--style-image", painting, "--strength", "0.5", "--preserve-color", "--no-stabilize"]
    commands = [
        ["video", "--help"],
        # A clip is many frames, so a style picture runs in our int8 engine and the 26-style model in our
        # PyTorch engine, each about twice ONNX Runtime's speed once torch is imported
        # (neural_style.loading.engine_for_many_pictures).
        ["video", "--input", clip, "--output", str(tmp_path / "b.mp4"), *picture],
        ["video", "--input", clip, "--output", str(tmp_path / "a.mp4"), *model],
    ]
    assert list(_commands_without_torch(commands).values()) == [0, "torch", "torch"]
    assert (tmp_path / "a.mp4").stat().st_size > 0
    assert (tmp_path / "b.mp4").stat().st_size > 0


def _imports_of(name: str, path: Path) -> set[str]:
    """Return the package's modules that the module ``name`` imports anywhere (top level or in functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = {name: _imports_of(name, path) for name, path in MODULES.items()}
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
