"""Robustness scenarios (cityopp_xl/robustness.py): hand-worked cases and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityopp_xl import robustness
from cityopp_xl.model import Direction, Framework, Indicator, Settings, Variable
from cityopp_xl.pipeline import run
from cityopp_xl.validate import Inputs

CITIES = list("ABCDE")


def five_cities() -> Inputs:
    """Five cities, two dimensions, four variables:

    * ``x1``: one indicator (higher), a tie (B, C) and a missing value (E);
    * ``x2``: two indicators (higher, lower) summed and scored ``worst``;
    * ``y1``: one ``tiers`` indicator (points 7, 5, 3), a missing value (D);
    * ``y2``: pre-scored ``best``, C and D at 1 (no value).

    Scored by hand (N = 5): x1 A3 B5 C5 D2 E1; x2 sums A6 B7 C6 D6 E7 -> A1 B4 C1 D1 E4;
    y1 A7 B3 C5 D1 E7; y2 A5 B4 C1 D1 E3. Overall A16 B16 C12 D5 E15: ranks A1 B1 E3 C4 D5.
    """
    framework = Framework(
        (
            Variable("x1", "X", (Indicator("i1", "one", Direction("higher")),)),
            Variable("x2", "X", (Indicator("i2", "two", Direction("higher")), Indicator("i3", "three", Direction("lower"))), ties="worst"),
            Variable("y1", "Y", (Indicator("i4", "four", Direction("tiers", None, (7.0, 5.0, 3.0))),)),
            Variable("y2", "Y", (Indicator("i5", "five", Direction("higher")),), prescored=True),
        )
    )
    values = pd.DataFrame(
        {
            "i1": [10, 20, 20, 5, math.nan],
            "i2": [1, 2, 3, 4, 5],
            "i3": [1, 1, 2, 3, 3],
            "i4": [1, 3, 2, math.nan, 1],
            "y2": [5, 4, 1, 1, 3],
        },
        index=pd.Index(CITIES, name="city"),
        dtype="float64",
    )
    return Inputs(framework, values, Settings((("High", 15.0),), "Low"))


@pytest.fixture(scope="module")
def five():
    pipeline = run(five_cities())
    return pipeline, robustness.build_robustness(pipeline)


def scenario(result: robustness.Robustness, name: str, what: str = "ranks") -> dict:
    row = result.scenarios.index.get_loc(name)
    values = getattr(result, what)[row]
    return {city: (None if np.isnan(v) else int(v)) for city, v in zip(result.cities, values)}


def test_the_example_is_scored_as_worked_by_hand(five):
    pipeline, _ = five
    assert pipeline["overall"]["overall"].to_dict() == {"A": 16, "B": 16, "C": 12, "D": 5, "E": 15}
    assert pipeline["overall"]["rank"].to_dict() == {"A": 1, "B": 1, "C": 4, "D": 5, "E": 3}


def test_scenarios_are_listed_by_family_with_their_names(five):
    _, result = five
    assert list(result.scenarios.index) == [
        "baseline",
        "drop_variable:x1",
        "drop_variable:x2",
        "drop_variable:y1",
        "drop_variable:y2",
        "drop_dimension:X",
        "drop_dimension:Y",
        *[f"leave_city_out:{c}" for c in CITIES],
        "tie_rule:flip",
        "missing:median",
    ]
    assert result.families["scenarios"].to_dict() == {"drop_variable": 4, "drop_dimension": 2, "leave_city_out": 5, "tie_rule": 1, "missing": 1}


def test_dropping_a_variable(five):
    # Without x1: A 16-3=13, B 16-5=11, C 12-5=7, D 5-2=3, E 15-1=14.
    _, result = five
    assert scenario(result, "drop_variable:x1", "overall") == {"A": 13, "B": 11, "C": 7, "D": 3, "E": 14}
    assert scenario(result, "drop_variable:x1") == {"A": 2, "B": 3, "C": 4, "D": 5, "E": 1}


def test_dropping_a_dimension(five):
    # Without Y: the X totals A4 B9 C6 D3 E5.
    _, result = five
    assert scenario(result, "drop_dimension:Y", "overall") == {"A": 4, "B": 9, "C": 6, "D": 3, "E": 5}
    assert scenario(result, "drop_dimension:Y") == {"A": 4, "B": 1, "C": 2, "D": 5, "E": 3}


def test_leaving_a_city_out(five):
    # Without B (N = 4): x1 A10 C20 D5 E- -> A3 C4 D2 E1; x2: i2 A1 C2 D3 E4, i3 (lower) A4 C3
    # D2 E2, sums A5 C5 D5 E6 scored worst -> A1 C1 D1 E4; y1 keeps its points A7 C5 D1 E7;
    # y2 given A5 C1 D1 E3 -> A 4-0=4, E 4-1=3, C and D stay 1. Overall A15 C11 D5 E15.
    _, result = five
    assert scenario(result, "leave_city_out:B", "overall") == {"A": 15, "B": None, "C": 11, "D": 5, "E": 15}
    assert scenario(result, "leave_city_out:B") == {"A": 1, "B": None, "C": 3, "D": 4, "E": 1}
    # Comparable: B's baseline 16 is above E (15), C (12) and D (5), not above A (16).
    assert scenario(result, "leave_city_out:B", "comparable") == {"A": 1, "B": None, "C": 4, "D": 5, "E": 2}


def test_a_pre_scored_worst_variable_is_rescored_among_the_remaining_cities():
    # Given worst scores A1 B1 C3 D4 (ties share the lowest): without D, A 1, B 1, C 1+2 = 3.
    framework = Framework((Variable("w", "X", (Indicator("w1", "w", Direction("higher")),), ties="worst", prescored=True),))
    values = pd.DataFrame({"w": [1.0, 1.0, 3.0, 4.0]}, index=pd.Index(list("ABCD"), name="city"))
    overall = robustness.leave_one_out_overall(run(Inputs(framework, values)), cities=[3, 0])
    assert overall[0].tolist()[:3] == [1, 1, 3]
    # Without A: B 1 (a given 1 stays 1), C 1 + 1 = 2, D 1 + 2 = 3.
    assert overall[1].tolist()[1:] == [1, 2, 3]


def test_flipping_the_tie_rules(five):
    # x2 scored best: sums A6 B7 C6 D6 E7 -> B, E 5; A, C, D 5-2=3. Overall A18 B17 C14 D7 E16.
    _, result = five
    assert scenario(result, "tie_rule:flip", "overall") == {"A": 18, "B": 17, "C": 14, "D": 7, "E": 16}
    assert scenario(result, "tie_rule:flip") == {"A": 1, "B": 2, "C": 4, "D": 5, "E": 3}


def test_missing_values_at_the_median(five):
    # E has no i1: median of A3 B5 C5 D2 = 4. D has no tier: median of 7, 3, 5, 7 = 6.
    # y2's C and D (two cities at 1: no value) take the median of 5, 4, 3 = 4.
    _, result = five
    assert scenario(result, "missing:median", "overall") == {"A": 16, "B": 16, "C": 15, "D": 13, "E": 18}
    assert scenario(result, "missing:median") == {"A": 2, "B": 2, "C": 4, "D": 5, "E": 1}


def test_intervals_families_and_tier_crossings(five):
    _, result = five
    intervals = result.intervals
    assert list(intervals.index) == ["A", "B", "E", "C", "D"]  # by baseline rank, ties in edition order
    assert intervals.loc["D", ["rank", "best_rank", "worst_rank", "best_scenario", "worst_scenario"]].tolist() == [5, 5, 5, "baseline", "baseline"]
    assert intervals.loc["E", ["best_rank", "best_scenario"]].tolist() == [1, "drop_variable:x1"]
    assert intervals.loc["A", ["worst_rank", "worst_scenario"]].tolist() == [4, "drop_dimension:Y"]
    assert intervals.loc["B", "scenarios"] == len(result.scenarios) - 1  # not in its own leave-one-out
    # High is ranks 1-3 (A, B, E at 15 or more), Low 4-5: C reaches 2nd without Y.
    assert "C" in result.tier_crossings.index and "D" not in result.tier_crossings.index
    assert result.tier_crossings.loc["C", "tiers"] == "High to Low"
    shifts = result.families.loc["tie_rule"]
    # Flipped: A1 B2 E3 C4 D5 against A1 B1 E3 C4 D5: one city moves one place.
    assert shifts.to_dict() == {"scenarios": 1, "mean_abs_shift": 0.2, "max_abs_shift": 1, "cities_changed": 1}


def test_families_can_be_chosen_and_unknown_ones_are_refused(five):
    pipeline, _ = five
    result = robustness.build_robustness(pipeline, families=["leave_city_out"])
    assert set(result.scenarios["family"]) == {"baseline", "leave_city_out"}
    with pytest.raises(ValueError, match="unknown scenario family nope"):
        robustness.build_robustness(pipeline, families=["nope"])


def test_the_scenario_table_lists_every_city_in_every_scenario(five):
    _, result = five
    table = result.scenario_table()
    assert list(table.columns) == ["scenario", "family", "city", "overall", "rank"]
    assert len(table) == len(result.scenarios) * 5 - 5  # each city is out of one scenario
    assert table.iloc[0].tolist() == ["baseline", "baseline", "A", 16.0, 1]


def test_a_reading_names_the_scenarios_in_words(five):
    _, result = five
    lines = robustness.reading(result)
    assert "D ranks 5th in 17 of the 17 scenarios it is in; no scenario moves it." not in lines  # only the leaders
    assert any(line.startswith("A ranks 1st in ") and "its worst is 4th, without Y." in line for line in lines)
    assert robustness.ordinal(11) == "11th" and robustness.ordinal(22) == "22nd" and robustness.ordinal(103) == "103rd"
    assert lines[-1] == "2 cities have an interval that crosses a tier boundary: A (High to Low), C (High to Low)."


# --------------------------------------------------------------------------- properties

DIRECTIONS = [Direction("higher"), Direction("lower"), Direction("target", 2.0), Direction("tiers", None, (9.0, 4.0, 2.0))]


@st.composite
def editions(draw, prescored: bool = False):
    """A random framework (1-3 dimensions of 1-3 variables of 1-3 indicators, mixed
    directions and tie rules) and raw values for 3-8 cities, with ties and gaps."""
    variables = []
    number = 0
    for d in range(draw(st.integers(1, 3))):
        for v in range(draw(st.integers(1, 3))):
            indicators = []
            for _ in range(draw(st.integers(1, 3))):
                number += 1
                indicators.append(Indicator(f"i{number}", f"indicator {number}", draw(st.sampled_from(DIRECTIONS))))
            variables.append(Variable(f"v{d}{v}", f"dimension {d}", tuple(indicators), draw(st.sampled_from(["best", "worst"]))))
    framework = Framework(tuple(variables))
    n = draw(st.integers(3, 8))
    columns = {}
    for indicator in framework.indicators:
        cells = st.integers(1, 3) if indicator.direction.kind == "tiers" else st.integers(-3, 4)
        columns[indicator.id] = draw(st.lists(st.one_of(cells.map(float), st.just(math.nan)), min_size=n, max_size=n))
    values = pd.DataFrame(columns, index=pd.Index([f"city {i}" for i in range(n)], name="city"), dtype="float64")
    return Inputs(framework, values)


@settings(max_examples=1000, deadline=None)
@given(editions(), st.data())
def test_the_fast_leave_one_out_equals_a_full_rerun_without_the_city(inputs, data):
    pipeline = run(inputs)
    left_out = data.draw(st.integers(0, len(inputs.values) - 1), label="left out")
    fast = robustness.leave_one_out_overall(pipeline, cities=[left_out])[0]
    rest = inputs.values.drop(inputs.values.index[left_out])
    full = run(Inputs(inputs.framework, rest))["overall"]["overall"]
    assert np.isnan(fast[left_out])
    assert np.delete(fast, left_out).tolist() == full.astype(float).tolist()


@settings(max_examples=150, deadline=None)
@given(editions())
def test_the_baseline_scenario_is_the_pipeline_and_every_interval_holds_it(inputs):
    pipeline = run(inputs)
    result = robustness.build_robustness(pipeline)
    table = result.scenario_table()
    baseline = table[table["scenario"] == "baseline"].set_index("city")
    assert baseline["overall"].tolist() == pipeline["overall"]["overall"].astype(float).tolist()
    assert baseline["rank"].tolist() == pipeline["overall"]["rank"].tolist()
    intervals = result.intervals
    assert (intervals["best_rank"] <= intervals["rank"]).all() and (intervals["rank"] <= intervals["worst_rank"]).all()
    assert (intervals["rank"] == pipeline["overall"]["rank"].reindex(intervals.index)).all()


@settings(max_examples=150, deadline=None)
@given(editions(), st.sampled_from([2.0, math.nan]))
def test_dropping_a_variable_whose_scores_are_all_equal_changes_no_rank(inputs, constant):
    framework = inputs.framework
    flat = framework.variables[0]
    values = inputs.values.copy()
    for indicator in flat.indicators:  # one value (or none) for every city: equal scores
        values[indicator.id] = constant
    pipeline = run(Inputs(framework, values))
    assert pipeline["variable_scores"][flat.name].nunique() == 1
    result = robustness.build_robustness(pipeline, families=["drop_variable"])
    assert scenario(result, f"drop_variable:{flat.name}") == scenario(result, "baseline")


def test_the_analysis_changes_no_stage_of_the_pipeline():
    pipeline = run(five_cities())
    before = {name: frame.copy() for name, frame in pipeline.stages.items()}
    robustness.build_robustness(pipeline)
    for name, frame in pipeline.stages.items():
        pd.testing.assert_frame_equal(frame, before[name])

