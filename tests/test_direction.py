"""The Direction type: one parser, one transform and one live formula per kind; no other kind."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cityopp_xl.direction import Direction, Formula, better_columns, parse_direction
from cityopp_xl.pipeline import run

X, RNG, N = "'D1 data'!B5", "'D1 data'!$B$5:$B$64", "$B7"
NAN = float("nan")


def same(series: pd.Series, expected: list[float]) -> bool:
    """Exact equality, NaN matching NaN (the transforms are exact, no tolerance)."""
    return all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(series.tolist(), expected, strict=True))


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    "text, points, kind, target, table",
    [
        ("higher", "", "higher", None, ()),
        (" Lower ", "", "lower", None, ()),
        ("target:0", "", "target", 0.0, ()),
        ("Target: -2.5", "", "target", -2.5, ()),
        ("target:1e3", "", "target", 1000.0, ()),
        ("tiers", "60, 50;40 2.5", "tiers", None, (60.0, 50.0, 40.0, 2.5)),
        ("TIERS", "7,5,3", "tiers", None, (7.0, 5.0, 3.0)),
    ],
)
def test_parse_each_kind(text, points, kind, target, table):
    direction, problems = Direction.parse(text, points)
    assert problems == []
    assert (direction.kind, direction.target, direction.points) == (kind, target, table)
    assert direction.ranked is (kind != "tiers")
    # The text a direction writes back parses to the same direction.
    assert Direction.parse(str(direction), direction.points_text)[0] == direction


def test_parse_writes_back_the_framework_cell():
    assert str(Direction("target", 0.0)) == "target:0"
    assert str(Direction("target", -2.5)) == "target:-2.5"
    assert Direction("tiers", points=(60.0, 50.0, 2.5)).points_text == "60,50,2.5"
    assert Direction("higher").points_text == ""


def test_parse_drops_points_beside_a_ranked_direction():
    # The framework reader warns about them; the direction itself has none.
    assert Direction.parse("lower", "60,50") == (Direction("lower"), [])


@pytest.mark.parametrize(
    "text, points, problems",
    [
        ("sideways", "", [("direction 'sideways'", "higher, lower, target:T or tiers")]),
        ("", "", [("a blank direction", "higher, lower, target:T or tiers")]),
        ("target", "", [("direction 'target'", "'target:T' with a number T, such as 'target:0'")]),
        ("target:five", "", [("direction 'target:five'", "'target:T' with a number T, such as 'target:0'")]),
        ("tiers", "", [("direction 'tiers' with no points", "a points table such as '60,50,40,30,20,10,5' in the points column")]),
        ("tiers", "60,x", [("points '60,x'", "a comma-separated list of numbers such as '60,50,40'")]),
    ],
)
def test_parse_gives_the_problem_and_no_direction(text, points, problems):
    assert parse_direction(text, points) == (None, problems)


@pytest.mark.parametrize(
    "args",
    [("sideways",), ("Higher",), ("",), ("target",), ("higher", 1.0), ("lower", None, (3.0,)), ("tiers",), ("tiers", 1.0, (3.0,))],
)
def test_a_direction_parse_would_not_give_cannot_be_built(args):
    with pytest.raises(ValueError):
        Direction(*args)


# --------------------------------------------------------------------------- transform


def test_better_per_kind():
    values = pd.Series([3.0, NAN, -1.5, 0.0], index=list("abcd"), name="x")
    assert same(Direction("higher").better(values), [3.0, NAN, -1.5, 0.0])
    assert same(Direction("lower").better(values), [-3.0, NAN, 1.5, -0.0])
    assert same(Direction("target", 1.0).better(values), [-2.0, NAN, -2.5, -1.0])
    assert Direction("target", 1.0).better(values).index.tolist() == list("abcd")
    with pytest.raises(ValueError, match="not ranked"):
        Direction("tiers", points=(3.0, 1.0)).better(values)


def test_target_distances_are_rounded_to_15_digits():
    # |-0.3 - (-0.1)| is 0.19999999999999998 in binary and |0.1 - (-0.1)| is 0.2: the two
    # cities tie, as in a spreadsheet.
    direction = Direction("target", -0.1)
    values = pd.Series([-0.3, 0.1])
    assert direction.distances(values).tolist() == [0.19999999999999998, 0.2]
    assert direction.better(values).tolist() == [-0.2, -0.2]


def test_the_columns_of_each_kind_at_once_equal_the_transform_one_by_one():
    raw = np.array([[3.0, 0.5, -0.3, 12.0], [NAN, 0.2, 0.1, 7.0], [-1.0, NAN, 0.4, NAN]])
    directions = [Direction("higher"), Direction("lower"), Direction("target", -0.1), Direction("target", 10.0)]
    together = better_columns(raw, directions)
    for column, direction in enumerate(directions):
        alone = direction.better(pd.Series(raw[:, column]))
        assert same(pd.Series(together[:, column]), alone.tolist())
    with pytest.raises(ValueError, match="not ranked"):
        better_columns(raw[:, :1], [Direction("tiers", points=(1.0,))])


# --------------------------------------------------------------------------- live formulas


def test_ranked_formulas_count_strictly_better_values():
    assert Direction("higher").score_formula(X, RNG, N) == f"=IF(ISNUMBER({X}),$B7-SUMPRODUCT(ISNUMBER({RNG})*({RNG}>{X})),1)"
    assert Direction("lower").score_formula(X, RNG, N) == f"=IF(ISNUMBER({X}),$B7-SUMPRODUCT(ISNUMBER({RNG})*({RNG}<{X})),1)"
    assert Direction("higher").distance_label is None and Direction("lower").distance_label is None
    assert isinstance(Direction("higher").score_formula(X, RNG, N), Formula)


def test_target_formulas_rank_a_distance_column():
    direction = Direction("target", -2.5)
    assert direction.distance_label == "distance |x - -2.5|"
    assert direction.distance_formula("A1") == '=IF(ISNUMBER(A1),ABS(A1-(-2.5)),"")'
    assert Direction("target", 0.1).distance_formula("A1") == '=IF(ISNUMBER(A1),ABS(A1-0.1),"")'
    assert Direction("target", 1e-20).distance_label == "distance |x - 1E-20|"
    # The score ranks the distance cell among the distance column: smaller is better.
    assert direction.score_formula("E7", "E$7:E$13", N) == "=IF(ISNUMBER(E7),$B7-SUMPRODUCT(ISNUMBER(E$7:E$13)*(E$7:E$13<E7)),1)"


def test_tiers_formula_looks_the_points_up():
    direction = Direction("tiers", points=(60.0, 50.0, 2.5))
    assert direction.score_formula("A1", RNG, N) == "=IF(ISNUMBER(A1),CHOOSE(A1,60,50,2.5),1)"
    assert direction.distance_label is None
    assert not direction.ranked


# --------------------------------------------------------------------------- what-if changes


def test_rerun_reads_changed_directions_with_the_same_parser(example_inputs):
    pipeline = run(example_inputs)
    changed = pipeline.rerun(directions={"a3": "Target: 0.3"})
    assert changed.log[0].params["directions"]["a3"] == "target:0.3"
    # a3 raw -0.3, 0.1, 0.0, 0.3, -0.1, 0.2, blank: distances 0.6, 0.2, 0.3, 0, 0.4, 0.1.
    assert changed["indicator_scores"]["a3"].tolist() == [2, 5, 4, 7, 3, 6, 1]
    with pytest.raises(ValueError, match=r"change of 'a1': direction 'sideways', expected higher, lower, target:T or tiers"):
        pipeline.rerun(directions={"a1": "sideways"})
    with pytest.raises(ValueError, match=r"change of 'a1': points for a 'higher' indicator, expected points only with direction 'tiers'"):
        pipeline.rerun(points={"a1": [3, 2, 1]})


def test_rerun_changes_a_points_table_or_drops_it(example_inputs):
    pipeline = run(example_inputs)
    # a4 tiers 1, 2, 2, 4, 3, blank, 1 with points 9, 4, 2, 1 (a blank scores 1).
    changed = pipeline.rerun(points={"a4": [9, 4, 2, 1]})
    assert changed["indicator_scores"]["a4"].tolist() == [9, 4, 4, 1, 2, 1, 9]
    assert changed.log[0].params["points"]["a4"] == [9.0, 4.0, 2.0, 1.0]
    # Turned into a ranked direction, the indicator keeps no points.
    ranked = pipeline.rerun(directions={"a4": "lower"})
    direction = ranked.framework.indicators[3].direction
    assert (direction, direction.points) == (Direction("lower"), ())
    assert "a4" not in ranked.log[0].params["points"]
    assert ranked["indicator_scores"]["a4"].tolist() == [7, 5, 5, 2, 3, 1, 7]
