"""The project's one rule for settings from the environment and a ``.env`` file.

A variable set in the real environment always wins. Otherwise its value comes from the nearest ``.env``
file, found the way python-dotenv's ``find_dotenv(usecwd=True)`` finds it: in the working directory, then in
each parent directory up to the root. The file is read, never loaded: ``os.environ`` is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

__all__ = ["dotenv_file", "read_dotenv", "setting"]


def dotenv_file() -> Path | None:
    """Return the ``.env`` file the rule uses (searched upward from the working directory), or None."""
    found = find_dotenv(usecwd=True)
    return Path(found) if found else None


def read_dotenv(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Return the values of ``path`` (default: :func:`dotenv_file`), empty if there is no such file."""
    chosen = dotenv_file() if path is None else Path(path)
    if chosen is None or not chosen.is_file():
        return {}
    return {key: value for key, value in dotenv_values(chosen).items() if value is not None}


def setting(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``name`` from the environment (even if empty), else from the ``.env`` file, else None."""
    env = os.environ if environ is None else environ
    if name in env:
        return env[name]
    return read_dotenv().get(name)
