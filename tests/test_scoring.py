"""The scoring core against hand-worked examples of every rule of METHOD.md."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cityopp_xl import scoring
from cityopp_xl.model import Direction, Settings

NA = math.nan


def series(values, cities=None):
    cities = cities or [f"c{i}" for i in range(len(values))]
    return pd.Series(values, index=pd.Index(cities, name="city"), dtype="float64")


def scores_of(values, direction="higher", ties="best"):
    kind, _, target = direction.partition(":")
    better = scoring.transform(series(values), Direction(kind, float(target) if target else None))
    return scoring.rank_score(better, ties).tolist()


def test_higher_best_city_scores_n_and_ties_share_best_then_skip():
    # N = 6: 60/59/59/57 in the report's words, here 6, 5, 5, 3, 2, 1.
    assert scores_of([9, 7, 7, 4, 2, 1]) == [6, 5, 5, 3, 2, 1]


def test_lower_is_better():
    # 5 is best (4); the two 8s share 4 - 1 = 3; 10 is last (1).
    assert scores_of([10, 8, 8, 5], "lower") == [1, 3, 3, 4]


def test_target_scores_distance_to_the_target():
    # |x - 0| = .3 .1 0 .3 .1 .2 (N = 6): 0 -> 6; the two .1 -> 5; .2 -> 3; the two .3 -> 2.
    assert scores_of([-0.3, 0.1, 0.0, 0.3, -0.1, 0.2], "target:0") == [2, 5, 6, 2, 5, 3]


def test_target_other_than_zero():
    assert scores_of([1.0, 2.0, 3.0, 2.5], "target:2") == [2, 4, 2, 3]


def test_target_distances_tie_as_decimals():
    # |x + 0.1| = .2 .2 .1 .4 0 .3 in decimals; binary arithmetic gives 0.19999999999999998
    # for -0.3 and 0.2 for 0.1, which must still tie (as they do in a spreadsheet).
    assert scores_of([-0.3, 0.1, 0.0, 0.3, -0.1, 0.2], "target:-0.1") == [4, 4, 5, 1, 6, 2]


def test_missing_values_score_one_and_do_not_count_as_better():
    assert scores_of([5, NA, 3, NA, 1]) == [5, 1, 4, 1, 3]


def test_all_missing_scores_one_everywhere():
    assert scores_of([NA, NA, NA]) == [1, 1, 1]


def test_every_value_tied_scores_n_everywhere():
    assert scores_of([2, 2, 2, 2]) == [4, 4, 4, 4]


def test_worst_tie_rule_takes_the_lowest_score_of_the_group():
    assert scores_of([9, 7, 7, 4, 2, 1], ties="worst") == [6, 4, 4, 3, 2, 1]


def test_worst_tie_rule_counts_missing_values_as_lower():
    # Gal 1 -> 1 + (one missing) = 2; the three 3s -> 3; the two 5s -> 6; missing -> 1.
    assert scores_of([5, 5, NA, 3, 3, 3, 1], ties="worst") == [6, 6, 1, 3, 3, 3, 2]


def test_tiers_look_up_points_and_missing_scores_one():
    points = (60.0, 50.0, 40.0, 30.0, 20.0, 10.0, 5.0)
    assert scoring.tier_scores(series([1, 3, 7, NA, 2]), points).tolist() == [60, 40, 5, 1, 50]


def test_competition_rank_shares_the_better_rank_and_skips():
    totals = series([1903, 1990, 1903, 1849], ["Ningbo", "Qingdao", "Hefei", "Zhengzhou"])
    assert scoring.competition_rank(totals).tolist() == [2, 1, 2, 4]


def test_assign_tiers_uses_minimums_from_the_top():
    settings = Settings((("First", 2400.0), ("Second", 2000.0)), "Other")
    assert scoring.assign_tiers(series([2446, 2400, 2399, 1999]), settings).tolist() == ["First", "First", "Second", "Other"]


def test_n_is_taken_from_the_data():
    for n in (2, 3, 11):
        assert max(scores_of(list(range(n)))) == n
        assert min(scores_of(list(range(n)))) == 1


def test_rank_scores_scores_every_column_independently():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, NA, 3.0]})
    result = scoring.rank_scores(frame)
    assert result["a"].tolist() == [1, 2, 3]
    assert result["b"].tolist() == [3, 1, 3]
    assert str(result.dtypes.iloc[0]) == "int64"


def test_unknown_tie_rule_is_refused():
    with pytest.raises(ValueError):
        scoring.rank_scores(pd.DataFrame({"a": [1.0, 2.0]}), ties="middle")


class TestOracle:
    """Four cities, three indicators (one variable of two, one of one), worked by hand."""

    def test_four_cities_three_indicators(self):
        from cityopp_xl.model import Framework, Indicator, Variable

        framework = Framework(
            (
                Variable("Wealth", "D", (Indicator("gdp", "GDP", Direction("higher")), Indicator("debt", "Debt", Direction("lower"))), "best"),
                Variable("Air", "D", (Indicator("pm", "PM2.5", Direction("lower")),)),
            )
        )
        values = pd.DataFrame(
            {"gdp": [400, 300, 300, NA], "debt": [0.9, 0.1, 0.5, 0.5], "pm": [30, 30, 20, NA]},
            index=pd.Index(["A", "B", "C", "D"], name="city"),
        )
        indicators = scoring.score_indicators(values, framework)
        # gdp: A 4, B/C 3 (tie shares best), D missing 1.  debt (lower): B 4, C/D 3, A 1.
        # pm (lower): C 4, A/B 3, D 1.
        assert indicators["gdp"].tolist() == [4, 3, 3, 1]
        assert indicators["debt"].tolist() == [1, 4, 3, 3]
        assert indicators["pm"].tolist() == [3, 3, 4, 1]
        variables = scoring.score_variables(indicators, pd.DataFrame(index=values.index), framework)
        # sums 5, 7, 6, 4 -> B 4, C 3, A 2, D 1
        assert variables["Wealth"].tolist() == [2, 4, 3, 1]
        assert variables["Air"].tolist() == [3, 3, 4, 1]
        dimensions = scoring.aggregate_dimensions(variables, framework)
        assert dimensions["D"].tolist() == [5, 7, 7, 2]
        overall = scoring.aggregate_overall(dimensions, Settings((("Top", 7.0),), "Rest"))
        assert overall["rank"].tolist() == [3, 1, 1, 4]
        assert overall["tier"].tolist() == ["Rest", "Top", "Top", "Rest"]


class TestPrescoredChecks:
    def _framework(self, ties="best", indicators=1, direction=Direction("higher")):
        from cityopp_xl.model import Framework, Indicator, Variable

        items = tuple(Indicator(f"i{k}", f"I{k}", direction) for k in range(indicators))
        return Framework((Variable("V", "D", items, ties, prescored=True),))

    def test_a_best_column_with_a_bottom_group_of_ones_is_consistent(self):
        frame = pd.DataFrame({"V": [5, 4, 4, 1, 1]})
        assert scoring.find_prescored_mismatches(frame, self._framework()) == []

    def test_a_tie_without_a_skip_is_reported_with_the_cities(self):
        frame = pd.DataFrame({"V": [5, 4, 4, 3, 2]}, index=list("ABCDE"))
        [mismatch] = scoring.find_prescored_mismatches(frame, self._framework())
        assert mismatch.variable == "V"
        assert mismatch.cities == ("D", "E")
        assert "B, C" in mismatch.detail

    def test_a_bottom_group_of_ones_is_inconsistent_for_a_summed_variable(self):
        frame = pd.DataFrame({"V": [5, 4, 3, 1, 1]}, index=list("ABCDE"))
        [mismatch] = scoring.find_prescored_mismatches(frame, self._framework(indicators=2))
        assert mismatch.cities == ("D", "E")

    def test_worst_columns_are_checked_with_the_worst_rule(self):
        good = pd.DataFrame({"V": [5, 3, 3, 2, 1]})
        bad = pd.DataFrame({"V": [5, 4, 4, 2, 1]})
        framework = self._framework(ties="worst", indicators=2)
        assert scoring.find_prescored_mismatches(good, framework) == []
        assert len(scoring.find_prescored_mismatches(bad, framework)) == 1

    def test_tier_columns_must_use_their_points(self):
        framework = self._framework(direction=Direction("tiers", points=(60.0, 50.0, 5.0)))
        assert scoring.find_prescored_mismatches(pd.DataFrame({"V": [60, 50, 5, 1]}), framework) == []
        [mismatch] = scoring.find_prescored_mismatches(pd.DataFrame({"V": [60, 55, 5, 1]}, index=list("ABCD")), framework)
        assert mismatch.cities == ("B",)


def test_the_engine_scores_every_column_as_the_one_column_functions_do():
    # score_indicators and score_variables work on arrays (every direction's columns at
    # once, one rank per tie rule); each column must be what transform and rank_score
    # give for it alone, and a variable of one or more indicators what its rule gives.
    from cityopp_xl.model import Framework, Indicator, Variable

    rng = np.random.default_rng(7)
    cities = pd.Index([f"c{i}" for i in range(40)], name="city")
    kinds = ["higher", "lower", "target:0.3", "target:-2", "lower", "higher"]
    indicators = [Indicator(f"i{k}", f"I{k}", Direction(*(kind.split(":")[0], float(kind.split(":")[1]) if ":" in kind else None))) for k, kind in enumerate(kinds)]
    variables = (
        Variable("A", "D1", (indicators[0], indicators[1]), "best"),
        Variable("B", "D1", (indicators[2],), "worst"),
        Variable("C", "D2", (indicators[3], indicators[4], indicators[5]), "worst"),
    )
    framework = Framework(variables)
    values = pd.DataFrame(np.round(rng.normal(size=(40, 6)), 1), index=cities, columns=[i.id for i in indicators])
    values[values > 1.2] = NA
    indicator_scores = scoring.score_indicators(values, framework)
    for indicator in indicators:
        alone = scoring.rank_score(scoring.transform(values[indicator.id], indicator.direction), "best")
        assert indicator_scores[indicator.id].tolist() == alone.tolist(), indicator.id
    variable_scores = scoring.score_variables(indicator_scores, pd.DataFrame(index=cities), framework)
    assert list(variable_scores.columns) == ["A", "B", "C"] and set(map(str, variable_scores.dtypes)) == {"int64"}
    for variable in variables:
        total = indicator_scores[[i.id for i in variable.indicators]].sum(axis=1).astype("float64")
        assert variable_scores[variable.name].tolist() == scoring.rank_score(total, variable.ties).tolist(), variable.name
    # Float indicator scores (the robustness analysis's medians) give float sums, ranked.
    halves = indicator_scores.astype("float64")
    halves.iloc[0, 0] = 20.5
    floated = scoring.score_variables(halves, pd.DataFrame(index=cities), framework)
    assert floated["A"].tolist() == scoring.rank_score(halves[["i0", "i1"]].sum(axis=1), "best").tolist()
