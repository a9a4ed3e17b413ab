"""The style grammar: an index or a blend, checked without a model and parsed against one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_style.errors import UsageError
from neural_style.styles import check_style, parse_style, style_terms


def test_none_means_style_0():
    assert parse_style(None, 4).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_an_index_is_one_hot():
    assert parse_style(" 2 ", 3).tolist() == [0.0, 0.0, 1.0]
    assert parse_style(2, 3).tolist() == [0.0, 0.0, 1.0]


def test_a_missing_weight_counts_as_one():
    assert style_terms("1,2:") == [(1, 1.0), (2, 1.0)]


@given(st.dictionaries(st.integers(0, 25), st.floats(0.01, 100), min_size=1, max_size=6))
def test_a_blend_is_rescaled_to_sum_to_one_in_proportion(blend):
    text = ",".join(f"{index}:{weight!r}" for index, weight in blend.items())
    weights = parse_style(text, 26)
    assert weights.dtype == np.float32
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
    total = sum(blend.values())
    for index, weight in blend.items():
        assert weights[index] == pytest.approx(weight / total, rel=1e-4, abs=1e-7)


def test_repeated_indices_add_up():
    assert parse_style("1:1,1:1,0:2", 2).tolist() == [0.5, 0.5]


@pytest.mark.parametrize("style", ["", "x", "-1", "3:-1", "3:0", "3:nan", "3:inf", "1;2", "1.5", "1:0.5:2"])
def test_bad_syntax_is_refused_without_a_model(style):
    with pytest.raises(UsageError, match="style"):
        check_style(style)


@pytest.mark.parametrize("style", ["0", "25", "3:0.5,12:0.5", " 7 ", "1:2,1:"])
def test_good_syntax_passes_without_a_model(style):
    check_style(style)


def test_an_index_the_model_lacks_is_refused_with_its_range():
    with pytest.raises(UsageError, match="styles 0 to 25"):
        parse_style("26", 26)


@given(st.text(max_size=20))
def test_any_text_is_parsed_or_refused_with_a_usage_error(text):
    try:
        weights = parse_style(text, 26)
    except UsageError:
        return
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
