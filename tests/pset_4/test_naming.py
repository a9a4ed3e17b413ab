from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pset_4.naming import check_name, check_style, stylized_name

VERSIONS = {"engine": "1.0.0", "image": "file:10:1", "model": "file:20:2"}


@pytest.mark.parametrize("name", ["a/b.jpg", "..", "../x.jpg", "a\\b.jpg", "x..jpg", "", " ", ".hidden.jpg"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="image"):
        check_name(name, "image")


@settings(deadline=None)  # shared CI cores: timing is not the point
@given(st.text(min_size=1).map(lambda s: s + "/"))
def test_any_name_with_a_separator_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        check_name(name)


@pytest.mark.parametrize("name", ["luigi.jpg", "rain_princess.pth", "multistyle26.onnx", "a b.png"])
def test_plain_file_names_are_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("style", "expected"), [(None, None), ("3", "3"), (" 3:0.5, 12:0.5", "3:0.5,12:0.5")]
)
def test_styles_are_normalized(style: str | None, expected: str | None) -> None:
    assert check_style(style) == expected


@pytest.mark.parametrize("style", ["-1", "abc", "3:0.5;4:0.5", "3:-1", "0:0", "3:nan"])
def test_malformed_styles_are_refused(style: str) -> None:
    with pytest.raises(ValueError, match="style"):
        check_style(style)


@pytest.mark.parametrize("style", ["3:", "1,2", "3:1e-1,4"])
def test_the_workflow_accepts_every_style_the_engine_accepts(style: str) -> None:
    from neural_style.styles import style_terms

    assert style_terms(style)
    assert check_style(style) == style


def test_stylized_name_is_readable_and_keeps_the_image_suffix() -> None:
    name = stylized_name("luigi.jpg", "udnie.pth", None, versions=VERSIONS)
    assert name.startswith("luigi--udnie--")
    assert name.endswith(".jpg")


def test_same_inputs_give_the_same_name() -> None:
    assert stylized_name("a.jpg", "m.onnx", "3", versions=VERSIONS) == stylized_name(
        "a.jpg", "m.onnx", "3", versions=dict(VERSIONS)
    )


@pytest.mark.parametrize(
    "change",
    [
        {"style": "4"},
        {"model": "n.onnx"},
        {"versions": {**VERSIONS, "engine": "1.0.1"}},
        {"versions": {**VERSIONS, "image": "file:10:2"}},
        {"versions": {**VERSIONS, "model": "s3:abc:20"}},
    ],
)
def test_any_change_gives_a_new_name(change: dict[str, object]) -> None:
    base = {"image": "a.jpg", "model": "m.onnx", "style": "3", "versions": VERSIONS}
    changed = {**base, **change}
    first = stylized_name(base["image"], base["model"], base["style"], versions=base["versions"])
    second = stylized_name(changed["image"], changed["model"], changed["style"], versions=changed["versions"])
    assert first != second


def test_blend_styles_give_file_name_safe_labels() -> None:
    name = stylized_name("a.png", "m.onnx", "3:0.5,12:0.5", versions=VERSIONS)
    assert "/" not in name
    assert ":" not in name
    assert "," not in name
