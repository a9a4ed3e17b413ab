"""The distribution's promises: extras, pins, and what must never be installed."""

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if line and not line.startswith("#"))
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}


def test_all_extra_is_the_sorted_union_of_the_others(project):
    extras = project["optional-dependencies"]
    others = sorted(name for name in extras if name != "all")
    assert extras["all"] == [f"{project['name']}[{','.join(others)}]"]


def test_the_spec_extras_exist(project):
    assert {"excel", "luigi", "s3", "torch", "onnx", "dev", "all"} <= set(project["optional-dependencies"])


def test_every_dependency_is_pinned(project, pins):
    names = list(project["dependencies"])
    for name, requirements in project["optional-dependencies"].items():
        if name != "all":
            names += requirements
    for requirement in names:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} has no pin in constraints.txt"


def test_torch_is_exactly_2_13_0(project, pins):
    assert "torch==2.13.0" in project["optional-dependencies"]["torch"]
    assert pins["torch"].split("+")[0] == "2.13.0"
    assert importlib.metadata.version("torch").split("+")[0] == "2.13.0"


def test_torchvision_is_never_installed(pins):
    assert "torchvision" not in pins
    assert importlib.util.find_spec("torchvision") is None


def test_installed_versions_match_the_pins(pins):
    for name in ("pandas", "pyarrow", "luigi", "boto3", "moto", "onnxruntime", "fastexcel"):
        assert importlib.metadata.version(name) == pins[name], name


def test_the_installed_console_scripts_are_the_declared_ones(project):
    installed = importlib.metadata.distribution(project["name"]).entry_points.select(group="console_scripts")
    assert {script.name: script.value for script in installed} == project["scripts"]
