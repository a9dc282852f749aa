"""Hypothesis properties of rank scoring (METHOD.md section 2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cityopp_xl import scoring
from cityopp_xl.model import Direction

# Small integer-valued floats give plenty of ties; NaN is a missing value.
cell = st.one_of(st.integers(-20, 20).map(float), st.just(math.nan))
columns = st.lists(cell, min_size=2, max_size=40)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def score(values, direction="higher", ties="best"):
    s = pd.Series(values, dtype="float64", index=pd.Index([f"c{i}" for i in range(len(values))], name="city"))
    return scoring.rank_score(scoring.transform(s, Direction(direction)), ties)


@PROPERTY_SETTINGS
@given(columns, st.sampled_from(["best", "worst"]))
def test_scores_stay_within_1_and_n(values, ties):
    result = score(values, ties=ties)
    assert result.between(1, len(values)).all()


@PROPERTY_SETTINGS
@given(columns, st.randoms(use_true_random=False), st.sampled_from(["best", "worst"]))
def test_row_order_does_not_change_any_score(values, random, ties):
    result = score(values, ties=ties)
    order = list(result.index)
    random.shuffle(order)
    series = pd.Series(values, index=result.index, dtype="float64").loc[order]
    shuffled = scoring.rank_score(series, ties)
    pd.testing.assert_series_equal(shuffled.loc[result.index], result)


@PROPERTY_SETTINGS
@given(columns)
def test_strictly_increasing_transform_changes_no_score(values):
    transformed = [math.nan if math.isnan(v) else math.exp(v / 7) * 3 + 100 for v in values]
    pd.testing.assert_series_equal(score(values), score(transformed))


@PROPERTY_SETTINGS
@given(columns)
def test_flipping_higher_and_lower_reverses_the_order(values):
    higher, lower = score(values, "higher"), score(values, "lower")
    present = [i for i, v in enumerate(values) if not math.isnan(v)]
    for i in present:
        for j in present:
            if values[i] > values[j]:
                assert higher.iloc[i] > higher.iloc[j]
                assert lower.iloc[i] < lower.iloc[j]


@PROPERTY_SETTINGS
@given(columns, st.sampled_from(["best", "worst"]))
def test_equal_values_get_equal_scores(values, ties):
    result = score(values, ties=ties)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if a == b:
                assert result.iloc[i] == result.iloc[j]


@PROPERTY_SETTINGS
@given(st.lists(st.integers(-20, 20).map(float), min_size=2, max_size=40))
def test_rescoring_a_best_column_gives_it_back(values):
    first = score(values)
    again = scoring.rank_score(first.astype("float64"), "best")
    pd.testing.assert_series_equal(first, again)


@PROPERTY_SETTINGS
@given(columns)
def test_a_best_column_with_gaps_is_consistent_with_its_rule(values):
    result = score(values)
    expected = scoring.expected_under_rule(result, "best", single_indicator=True)
    pd.testing.assert_series_equal(result, expected, check_names=False)


@PROPERTY_SETTINGS
@given(columns)
def test_best_score_is_n_minus_number_strictly_better(values):
    result = score(values)
    n = len(values)
    for i, v in enumerate(values):
        if math.isnan(v):
            assert result.iloc[i] == 1
        else:
            better = sum(1 for w in values if not math.isnan(w) and w > v)
            assert result.iloc[i] == n - better


# Any float64 (whole numbers near 10**15, tiny, huge, halves, NaN, infinities), with repeats.
any_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**16), 10**16).map(float),
    st.integers(-400, 400).map(lambda k: k / 2),
    st.sampled_from([0.1 + 0.2, 0.3, 1e15 - 1, 1e15, 1e15 + 2, 123456789012345.67, -0.0]),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(any_float, max_size=30))
def test_fifteen_digits_is_the_15_digit_decimal_of_every_value(values):
    # The vectorised rounding (whole numbers kept, each distinct value formatted once)
    # gives, bit for bit, what formatting every value to 15 significant digits gives.
    array = np.array(values, dtype="float64")
    rounded = scoring.fifteen_digits(array)
    expected = np.array([float(f"{v:.15g}") for v in values], dtype="float64")
    assert rounded.dtype == np.float64 and rounded.shape == array.shape
    assert rounded.view("int64").tolist() == expected.view("int64").tolist() or np.array_equal(rounded, expected, equal_nan=True)
    assert np.array_equal(array, np.array(values, dtype="float64"), equal_nan=True)  # the input is left as it was
