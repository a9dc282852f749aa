"""The analysis core against hand-worked examples, and the 2025 data against figures
computed independently here (numpy, plain Python)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from cityopp_xl import analysis
from cityopp_xl.model import Direction, Framework, Indicator, Settings, SheetTable, Variable, check_framework, framework_from_table
from cityopp_xl.pipeline import run
from cityopp_xl.validate import Inputs

NA = math.nan
ROOT10 = math.sqrt(10)

# --------------------------------------------------------------------------- the hand-worked example
#
# Five cities, three dimensions, every variable pre-scored (so the scores below are the
# variable scores as given). Worked out by hand:
#
#   city  x1 x2 | X   y1 y2 | Y   z1 z2 z3 | Z   overall rank tier(Top>=22, Mid>=20)
#   A     5  4  | 9   1  2  | 3   3  3  3  | 9   21      3    Mid
#   B     4  5  | 9   2  1  | 3   5  5  1  | 11  23      1    Top
#   C     3  3  | 6   3  3  | 6   1  1  5  | 7   19      5    Low
#   D     2  1  | 3   4  5  | 9   4  4  2  | 10  22      2    Top
#   E     1  2  | 3   5  4  | 9   2  2  4  | 8   20      4    Mid
#
# Dimension ranks: X  A1 B1 C3 D4 E4;  Y  D1 E1 C3 A4 B4;  Z  B1 D2 A3 E4 C5.

CITIES = ["A", "B", "C", "D", "E"]
HAND = {
    "X": {"x1": [5, 4, 3, 2, 1], "x2": [4, 5, 3, 1, 2]},
    "Y": {"y1": [1, 2, 3, 4, 5], "y2": [2, 1, 3, 5, 4]},
    "Z": {"z1": [3, 5, 1, 4, 2], "z2": [3, 5, 1, 4, 2], "z3": [3, 1, 5, 2, 4]},
}
HAND_SETTINGS = Settings((("Top", 22.0), ("Mid", 20.0)), "Low")


def prescored_pipeline(dimensions: dict, cities: list[str], settings: Settings = HAND_SETTINGS):
    variables = []
    values = {}
    for dimension, columns in dimensions.items():
        for name, scores in columns.items():
            variables.append(Variable(name, dimension, (Indicator(name, name, Direction("higher")),), "best", True))
            values[name] = scores
    frame = pd.DataFrame(values, index=pd.Index(cities, name="city"), dtype="float64")
    return run(Inputs(Framework(tuple(variables)), frame, settings))


@pytest.fixture
def hand():
    return prescored_pipeline(HAND, CITIES)


def test_the_example_scores_as_worked_out(hand):
    assert hand["dimension_scores"]["X"].tolist() == [9, 9, 6, 3, 3]
    assert hand["dimension_scores"]["Z"].tolist() == [9, 11, 7, 10, 8]
    assert hand["overall"]["overall"].tolist() == [21, 23, 19, 22, 20]
    assert hand["overall"]["rank"].tolist() == [3, 1, 5, 2, 4]


# --------------------------------------------------------------------------- report statistics


def test_dimension_statistics_use_the_sample_standard_deviation(hand):
    stats = analysis.dimension_statistics(hand["dimension_scores"])
    assert list(stats.index) == ["X", "Y", "Z"] and stats.index.name == "dimension"
    assert list(stats.columns) == ["mean", "sd", "min", "max"]
    # X: mean 6, deviations 3 3 0 -3 -3, sum of squares 36, / (5 - 1) = 9, sd 3.
    assert stats.loc["X"].tolist() == pytest.approx([6, 3, 3, 9])
    assert stats.loc["Y"].tolist() == pytest.approx([6, 3, 3, 9])
    # Z: mean 9, deviations 0 2 -2 1 -1, sum of squares 10, / 4 = 2.5.
    assert stats.loc["Z"].tolist() == pytest.approx([9, math.sqrt(2.5), 7, 11])


def test_pearson_between_dimensions(hand):
    matrix = analysis.pearson_matrix(hand["dimension_scores"])
    # X + Y = 12 for every city: r = -1. X.Z: products of deviations 0+6+0-3+3 = 6;
    # r = 6 / sqrt(36 * 10) = 1 / sqrt(10).
    assert matrix.at["X", "Y"] == pytest.approx(-1)
    assert matrix.at["X", "Z"] == pytest.approx(1 / ROOT10)
    assert matrix.at["Z", "Y"] == pytest.approx(-1 / ROOT10)
    assert np.diag(matrix.to_numpy()).tolist() == [1, 1, 1]
    assert (matrix.to_numpy() == matrix.to_numpy().T).all()


def test_spearman_is_pearson_on_average_ranks(hand):
    matrix = analysis.spearman_matrix(hand["dimension_scores"])
    # Average ranks: X 4.5 4.5 3 1.5 1.5; Z 3 5 1 4 2. Deviations (1.5 1.5 0 -1.5 -1.5) and
    # (0 2 -2 1 -1): products 3; sums of squares 9 and 10: rho = 3 / sqrt(90) = 1 / sqrt(10).
    assert matrix.at["X", "Z"] == pytest.approx(1 / ROOT10)
    assert matrix.at["X", "Y"] == pytest.approx(-1)
    # Ties take the mean rank: [1, 1, 2] ranks 1.5 1.5 3 against 1 2 3: rho = 1.5 / sqrt(1.5 * 2).
    small = pd.DataFrame({"a": [1, 1, 2], "b": [1, 2, 3]})
    assert analysis.spearman_matrix(small).at["a", "b"] == pytest.approx(1.5 / math.sqrt(3))


def test_a_constant_column_has_no_correlation():
    matrix = analysis.pearson_matrix(pd.DataFrame({"a": [1, 2, 3], "b": [4, 4, 4]}))
    assert math.isnan(matrix.at["a", "b"]) and math.isnan(matrix.at["b", "b"]) and matrix.at["a", "a"] == 1


def test_city_balance(hand):
    balance = analysis.city_balance(hand["dimension_scores"], hand["dimension_ranks"], top=2)
    assert list(balance.columns) == ["mean", "sd", "top_count"]
    # A (9, 3, 9): mean 7, squares 4 16 4 = 24, / 2 = 12.  B (9, 3, 11): 211 - 3 * (23/3)^2 = 104/3, / 2.
    # C (6, 6, 7): 121 - 361/3 = 2/3, / 2.  D (3, 9, 10): 190 - 484/3 = 86/3.  E (3, 9, 8): 154 - 400/3 = 62/3.
    expected = [math.sqrt(12), math.sqrt(52 / 3), math.sqrt(1 / 3), math.sqrt(43 / 3), math.sqrt(31 / 3)]
    assert balance["sd"].tolist() == pytest.approx(expected)
    # Top 2 (rank <= 2): A in X; B in X and Z; C nowhere; D in Y and Z; E in Y.
    assert balance["top_count"].tolist() == [1, 2, 0, 2, 1]
    everything = analysis.city_balance(hand["dimension_scores"], hand["dimension_ranks"], top=10)
    assert everything["top_count"].tolist() == [3] * 5


def test_top_cities_include_every_tie(hand):
    scores = hand["dimension_scores"]
    top1 = analysis.top_cities(scores, "dimension", top=1)
    assert top1[top1["name"] == "X"][["rank", "city"]].values.tolist() == [[1, "A"], [1, "B"]]
    # Top 4 of X: A1 B1 C3, then D and E share 4th: five cities.
    top4 = analysis.top_cities(scores, "dimension", top=4)
    assert top4[top4["name"] == "X"]["city"].tolist() == ["A", "B", "C", "D", "E"]
    assert top4[top4["name"] == "X"]["rank"].tolist() == [1, 1, 3, 4, 4]


def test_leaders_of_dimensions_then_variables(hand):
    table = analysis.leaders(hand, top=2)
    assert list(table.columns) == ["level", "name", "rank", "city", "score"]
    got = {(level, name): list(zip(group["rank"], group["city"])) for (level, name), group in table.groupby(["level", "name"], sort=False)}
    assert list(got) == [("dimension", "X"), ("dimension", "Y"), ("dimension", "Z")] + [("variable", v) for v in ("x1", "x2", "y1", "y2", "z1", "z2", "z3")]
    assert got[("dimension", "X")] == [(1, "A"), (1, "B")]
    assert got[("dimension", "Y")] == [(1, "D"), (1, "E")]
    assert got[("dimension", "Z")] == [(1, "B"), (2, "D")]
    assert got[("variable", "x2")] == [(1, "B"), (2, "A")]
    assert got[("variable", "z3")] == [(1, "C"), (2, "E")]


def test_tiers_and_their_summary(hand):
    tiers = analysis.overall_tiers(hand)
    assert tiers.index.tolist() == ["B", "D", "A", "E", "C"]
    assert tiers["overall"].tolist() == [23, 22, 21, 20, 19]
    assert tiers["tier"].tolist() == ["Top", "Top", "Mid", "Mid", "Low"]
    summary = analysis.tier_summary(hand)
    assert summary.index.tolist() == ["Top", "Mid", "Low"]
    assert summary["cities"].tolist() == [2, 2, 1]
    assert summary["members"].tolist() == ["B; D", "A; E", "C"]
    assert summary.loc["Top", ["minimum", "highest", "lowest"]].tolist() == [22, 23, 22]
    assert math.isnan(summary.at["Low", "minimum"]) and summary.at["Low", "below"] == 20


def test_lift_is_overall_rank_minus_dimension_rank(hand):
    lifts = analysis.dimension_lifts(hand["dimension_ranks"], hand["overall"]["rank"])
    # Overall ranks A3 B1 C5 D2 E4; X ranks 1 1 3 4 4; Y 4 4 3 1 1; Z 3 1 5 2 4.
    assert lifts["X"].tolist() == [2, 0, 2, -2, 0]
    assert lifts["Y"].tolist() == [-1, -3, 2, 1, 3]
    assert lifts["Z"].tolist() == [0, 0, 0, 0, 0]
    table = analysis.city_lifts(hand)
    rows = table[["city", "order", "dimension", "dimension_rank", "overall_rank", "lift"]].values.tolist()
    # B has no positive lift; C's two equal lifts keep framework order.
    assert rows == [
        ["A", 1, "X", 1, 3, 2],
        ["C", 1, "X", 3, 5, 2],
        ["C", 2, "Y", 3, 5, 2],
        ["D", 1, "Y", 1, 2, 1],
        ["E", 1, "Y", 1, 4, 3],
    ]
    assert analysis.default_strong_lift(60) == 15 and analysis.default_strong_lift(5) == 2


# --------------------------------------------------------------------------- audit checks


def test_cronbach_alpha_and_principal_components(hand):
    reliability = analysis.dimension_reliability(hand)
    # X: var(x1) = var(x2) = 2.5, var(X) = 9: alpha = 2 * (1 - 5/9) = 8/9. r(x1, x2) = 0.8
    # (rank differences 1 1 0 1 1: 1 - 6*4/(5*24)); two items: eigenvalues 1.8 and 0.2.
    assert reliability.at["X", "alpha"] == pytest.approx(8 / 9)
    assert reliability.loc["X", ["pc1_share", "pc1_eigenvalue", "pc2_eigenvalue"]].tolist() == pytest.approx([0.9, 1.8, 0.2])
    assert reliability.at["X", "flag"] == ""
    # Z: three items of variance 2.5, total variance 2.5: alpha = 3/2 * (1 - 7.5/2.5) = -3.
    # Correlations +1, -1, -1: rank 1, eigenvalues 3, 0, 0: the first component takes all.
    assert reliability.at["Z", "alpha"] == pytest.approx(-3)
    assert reliability.loc["Z", ["pc1_share", "pc1_eigenvalue", "pc2_eigenvalue"]].tolist() == pytest.approx([1, 3, 0], abs=1e-12)
    assert reliability.at["Z", "flag"] == "alpha below 0.7"
    assert reliability["items"].tolist() == [2, 2, 3]
    assert math.isnan(analysis.cronbach_alpha(pd.DataFrame({"a": [1, 2, 3]})))


def test_within_dimension_pairs_are_flagged(hand):
    pairs = analysis.within_dimension_correlations(hand)
    rows = {(r.dimension, r.first, r.second): (round(r.r, 12), r.flag) for r in pairs.itertuples()}
    assert rows == {
        ("X", "x1", "x2"): (0.8, ""),
        ("Y", "y1", "y2"): (0.8, ""),
        ("Z", "z1", "z2"): (1.0, "near-duplicate"),
        ("Z", "z1", "z3"): (-1.0, "negative"),
        ("Z", "z2", "z3"): (-1.0, "negative"),
    }
    assert set(pairs["level"]) == {"variable"}  # pre-scored: no indicator scores


def test_dimension_against_overall(hand):
    table = analysis.overall_correlations(hand)
    # Overall deviations 0 2 -2 1 -1, as Z's (X + Y is constant): r(Z) = 1, r(X) = 6/sqrt(360).
    assert table.at["Z", "pearson"] == pytest.approx(1)
    assert table.at["X", "pearson"] == pytest.approx(1 / ROOT10)
    assert table.at["Y", "pearson"] == pytest.approx(-1 / ROOT10)
    assert table.at["X", "spearman"] == pytest.approx(1 / ROOT10)
    # Rest of X = Y + Z = 12 14 13 19 17: deviations -3 -1 -2 4 2 (squares 34); with X's: -30.
    assert table.at["X", "pearson_rest"] == pytest.approx(-30 / math.sqrt(36 * 34))
    assert math.isnan(table.at["Z", "pearson_rest"])  # X + Y is constant


def test_prescored_coverage_is_measured_on_the_given_scores(hand):
    coverage = analysis.indicator_coverage(hand)
    assert coverage.index.tolist() == ["x1", "x2", "y1", "y2", "z1", "z2", "z3"]
    assert coverage["share"].tolist() == [1.0] * 7
    assert set(coverage["basis"]) == {analysis.BASIS_PRESCORED}
    assert "not in the inputs" in analysis.BASIS_PRESCORED


# A raw-value example for coverage, indicator pairs and implicit weights. Four cities;
# P = p1 (i1 + i2, re-scored) and p2 (i3); Q = q1 (i4).
RAW_CITIES = ["W1", "W2", "W3", "W4"]
RAW_VALUES = {"i1": [1, NA, 3, 4], "i2": [NA, NA, 1, 2], "i3": [4, 3, 2, 1], "i4": [1, 2, 3, 4]}


@pytest.fixture
def raw():
    def variable(name, dimension, ids):
        return Variable(name, dimension, tuple(Indicator(i, f"ind {i}", Direction("higher")) for i in ids))

    framework = Framework((variable("p1", "P", ["i1", "i2"]), variable("p2", "P", ["i3"]), variable("q1", "Q", ["i4"])))
    values = pd.DataFrame(RAW_VALUES, index=pd.Index(RAW_CITIES, name="city"), dtype="float64")
    return run(Inputs(framework, values, Settings()))


def test_coverage_per_indicator_and_per_city(raw):
    coverage = analysis.indicator_coverage(raw)
    assert coverage["with_value"].tolist() == [3, 2, 4, 4]
    assert coverage["share"].tolist() == [0.75, 0.5, 1.0, 1.0]
    assert coverage["below_threshold"].tolist() == [False, True, False, False]  # default 0.65
    assert set(coverage["basis"]) == {analysis.BASIS_RAW}
    assert analysis.indicator_coverage(raw, threshold=0.5)["below_threshold"].tolist() == [False] * 4
    cities = analysis.city_coverage(raw)
    # W1 misses i2; W2 misses i1 and i2.
    assert cities["share"].tolist() == [0.75, 0.5, 1.0, 1.0]
    assert cities["below_threshold"].tolist() == [False, True, False, False]
    assert analysis.city_coverage(raw, threshold=0.8)["below_threshold"].tolist() == [True, True, False, False]


def test_indicator_pairs_use_indicator_scores(raw):
    pairs = analysis.within_dimension_correlations(raw)
    # Scores (no value scores 1): i1 2 1 3 4; i2 1 1 3 4; i3 4 3 2 1.
    # i1.i2: deviations (-.5 -1.5 .5 1.5) and (-1.25 -1.25 .75 1.75): 5.5 / sqrt(5 * 6.75).
    # i1.i3: -4 / 5. p1 re-scores the sums 3 2 6 8 to 2 1 3 4, so p1.p2 = -0.8 too.
    got = {(r.level, r.first, r.second): (r.r, r.flag) for r in pairs.itertuples()}
    duplicate = 5.5 / math.sqrt(5 * 6.75)
    assert got[("indicator", "i1 ind i1", "i2 ind i2")] == (pytest.approx(duplicate), "near-duplicate")
    assert got[("indicator", "i1 ind i1", "i3 ind i3")] == (pytest.approx(-0.8), "negative")
    assert got[("indicator", "i2 ind i2", "i3 ind i3")] == (pytest.approx(-duplicate), "negative")
    assert got[("variable", "p1", "p2")] == (pytest.approx(-0.8), "negative")
    assert len(pairs) == 4  # Q has one variable and one indicator: no pair


def test_implicit_weights(raw):
    weights = analysis.implicit_weights(raw.framework)
    assert weights.index.tolist() == ["i1", "i2", "i3", "i4"]
    # i1: half of p1, p1 half of P, P half of the overall: 1/8.
    assert weights.loc["i1", ["variable_weight", "dimension_weight", "overall_weight"]].tolist() == pytest.approx([1 / 2, 1 / 4, 1 / 8])
    assert weights.loc["i3", ["variable_weight", "dimension_weight", "overall_weight"]].tolist() == pytest.approx([1, 1 / 2, 1 / 4])
    assert weights.loc["i4", ["variable_weight", "dimension_weight", "overall_weight"]].tolist() == pytest.approx([1, 1, 1 / 2])
    assert weights["indicators_in_variable"].tolist() == [2, 2, 1, 1]


def test_a_one_variable_dimension_has_no_alpha(raw):
    reliability = analysis.dimension_reliability(raw)
    assert reliability.at["Q", "items"] == 1
    assert reliability.loc["Q", ["alpha", "pc1_share"]].isna().all()


def test_audit_table_holds_every_check(raw):
    built = analysis.build_analysis(raw)
    audit = built.audit
    assert list(audit.columns) == analysis.AUDIT_COLUMNS
    assert set(audit["check"]) == {"coverage", "correlation", "reliability", "implicit weight", "dimension vs overall"}
    low = audit[(audit["check"] == "coverage") & (audit["flag"] != "")]
    assert low["item"].tolist() == ["i2 ind i2", "W2"]
    assert low["threshold"].tolist() == [0.65, 0.65]
    flagged = audit[(audit["check"] == "correlation") & (audit["flag"] == "negative")]
    assert len(flagged) == 3


# --------------------------------------------------------------------------- insights


def test_insights_are_sentences_built_from_the_numbers(hand):
    built = analysis.build_analysis(hand, top=2)
    sentences = built.insights["sentence"].tolist()
    assert list(built.insights.columns) == ["topic", "subject", "sentence"]
    assert "In X, A, B, C, D and E score highest (A and B share 1st place; D and E share 4th place)." in sentences
    assert "No city is in the top 2 of every dimension; B and D come closest with 2 of 3." in sentences
    # Sample SDs: A 3.46, B 4.16, C 0.58, D 3.79, E 3.21; two shown at each end.
    assert any("most balanced cities" in s and "are C (0.6) and E (3.2); the least balanced are B (4.2) and D (3.8)." in s for s in sentences)
    assert any("the most uneven dimension is X (3.0); the most even is Z (1.6)." in s for s in sentences)
    assert "No two dimensions correlate at 0.8 or more; the closest are X and Z (r = 0.32)." in sentences
    assert "The least related dimensions are X and Y (r = -1.00)." in sentences
    # Strong lift: ceil(5 / 4) = 2 places. E is 1st in Y and 4th overall.
    assert "E's Y score lifts it well above its overall rank: 1st in the dimension against 4th overall (3 places)." in sentences
    assert "A's X score lifts it well above its overall rank: 1st in the dimension against 3rd overall (2 places)." in sentences
    assert not any(s.startswith("D's") for s in sentences)  # D's best lift is 1 place
    assert "Top (overall score 22 or more) holds 2 cities: B and D." in sentences
    assert "Low (overall score under 20) holds 1 city: C." in sentences


def test_insights_follow_the_data_not_fixed_text(hand):
    renamed = {"X": {"x1": HAND["X"]["x1"], "x2": HAND["X"]["x2"]}, "Y": HAND["Y"], "Z": HAND["Z"]}
    other = prescored_pipeline(renamed, ["Kappa", "Lambda", "Mu", "Nu", "Xi"])
    sentences = " ".join(analysis.build_analysis(other).insights["sentence"])
    assert "Kappa and Lambda share 1st place" in sentences
    assert " A " not in sentences and "A's" not in sentences
    # Ranks (X, Y, Z): A 1 4 3; B 1 4 1; C 3 3 5; D 4 1 2; E 4 1 4.
    top4 = analysis.build_analysis(hand, top=4).insights["sentence"].tolist()
    assert "A, B, D and E are in the top 4 of all three dimensions." in top4
    assert "C is in the top 4 of two of the three dimensions." in top4


def test_all_cities_tied_reads_plainly():
    rows = pd.DataFrame({"rank": [1, 1, 1], "city": ["A", "B", "C"]})
    assert analysis.leaders_sentence("V", rows, 3) == "In V, all 3 cities score the same."
    rows = pd.DataFrame({"rank": [1, 1, 1, 1, 5], "city": list("ABCDE")})
    assert analysis.leaders_sentence("V", rows, 9) == "In V, A, B, C, D and E score highest (4 cities share 1st place)."


def test_words():
    assert [analysis.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th",
    ]
    assert analysis.join_names(["A"]) == "A" and analysis.join_names(["A", "B", "C"]) == "A, B and C"


def test_counts_and_places_read_as_plain_english():
    assert analysis.counted(1, "indicator") == "1 indicator" and analysis.counted(35, "indicator") == "35 indicators"
    assert analysis.counted(2, "city", "cities") == "2 cities" and analysis.counted(7, "dimension", words=True) == "seven dimensions"
    assert [analysis.place_among(k, 10) for k in (1, 2, 5, 10)] == ["the largest", "the second largest", "the fifth largest", "the smallest"]
    assert analysis.place_among(12, 20) == "the 12th largest"


def test_a_correlation_is_tested_as_it_is_shown():
    # The spreadsheet's 0.00 format rounds the decimal digits, halves away from zero.
    assert analysis.shown_r(0.7999) == 0.8 and analysis.shown_r(0.7949) == 0.79
    assert analysis.shown_r(0.815) == 0.82 and analysis._r(0.815) == "0.82"  # the float under 0.815 still shows 0.82
    assert analysis.shown_r(-0.004) == 0.0 and math.isnan(analysis.shown_r(math.nan))


def test_no_sentence_of_the_2025_insights_reads_like_a_template(edition):
    sentences = edition[3].insights["sentence"].tolist()
    text = "\n".join(sentences)
    for clumsy in ("(s)", "1st largest", "(ies)", " 1 more pair"):
        assert clumsy not in text
    assert "Scores run from 19 (Zhaoqing) to 300 (Beijing); the standard deviation, 73.1, is the largest among the ten dimensions." in sentences
    assert "Scores run from 20 (Zhaoqing) to 286 (Shenzhen); the standard deviation, 54.4, is the fifth largest among the ten dimensions." in sentences
    assert "Scores run from 75 (Xining) to 231 (Hangzhou); the standard deviation, 39.6, is the smallest among the ten dimensions." in sentences
    assert "For the 50 pre-scored variables, coverage is measured on the given variable scores: their raw indicator values are not in the inputs." in sentences
    assert any(s.endswith("; seven dimensions fall below 0.7: Market Environment, Green and Low-Carbon, Culture and Quality of Life, Consumer Vitality, Urban Resilience, Economic Strength and Open Development.") for s in sentences)
    assert any(s.endswith(": 35 indicators in one-indicator variables weigh 2.00% each, 28 indicators in two-indicator variables weigh 1.00% each and 3 indicators in three-indicator variables weigh 0.67% each.") for s in sentences)


def test_the_2025_prose_counts_the_pairs_the_heatmap_shows_at_0_80(edition):
    correlations = edition[3].dimension_correlations
    values = correlations.to_numpy()
    shown = [round(float(values[a, b]), 6) for a in range(len(values)) for b in range(a + 1, len(values))]
    at_least = [r for r in shown if analysis.shown_r(r) >= 0.8]
    # Two pairs (0.79987 and 0.79867) show as 0.80 on the sheet: they are counted with 0.80094.
    assert len([r for r in at_least if r < 0.8]) == 2 and len(at_least) == 8
    sentence = next(s for s in edition[3].insights["sentence"] if s.startswith("The most closely related dimensions"))
    assert sentence.endswith("and Open Development and Regional Synergy (r = 0.83); three more pairs reach 0.8.")


def test_nothing_is_modified(hand):
    before = {name: frame.copy() for name, frame in hand.stages.items()}
    analysis.build_analysis(hand)
    for name, frame in hand.stages.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_the_core_imports_no_excel_library():
    code = "import sys, cityopp_xl.analysis; print([m for m in ('openpyxl', 'xlwings', 'scipy') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the 2025 data

WORST_TIES = ("Business carrying capacity", "Passenger and freight transport scale")


@pytest.fixture(scope="module")
def edition(request):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.fail(f"the 2025 edition data is missing: expected {SHARED_DATA}")
    frame = pd.read_csv(SHARED_DATA / "framework.csv", dtype=str, keep_default_na=False)
    frame["ties"] = frame["variable"].map(lambda v: "worst" if v in WORST_TIES else "best")
    frame["points"] = frame["direction"].map(lambda d: "60,50,40,30,20,10,5" if d == "tiers" else "")
    frame["prescored"] = "yes"
    framework, problems = framework_from_table(SheetTable("framework.csv", frame))
    framework = check_framework(framework, problems)
    cities = pd.read_csv(SHARED_DATA / "cities.csv")["city"].tolist()
    long = pd.read_csv(SHARED_DATA / "variable_scores.csv")
    values = long.pivot(index="city", columns="variable", values="score").reindex(cities).astype("float64")
    values.index.name = "city"
    pipeline = run(Inputs(framework, values, Settings()))
    return pipeline, long, cities, analysis.build_analysis(pipeline)


def _dimension_totals(long: pd.DataFrame, cities: list[str]) -> pd.DataFrame:
    order = list(dict.fromkeys(long["dimension"]))
    return long.groupby(["city", "dimension"])["score"].sum().unstack()[order].reindex(cities)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(values))
    for i, value in enumerate(values):
        below = sum(1 for v in values if v < value)
        equal = sum(1 for v in values if v == value)
        ranks[i] = below + (equal + 1) / 2
    return ranks


def test_2025_dimension_statistics_and_correlations(edition):
    _, long, cities, built = edition
    totals = _dimension_totals(long, cities)
    data = totals.to_numpy(dtype=float)
    stats = built.dimension_stats
    assert stats.index.tolist() == list(totals.columns)
    np.testing.assert_allclose(stats["mean"], data.mean(axis=0))
    np.testing.assert_allclose(stats["sd"], data.std(axis=0, ddof=1))
    np.testing.assert_allclose(stats["min"], data.min(axis=0))
    np.testing.assert_allclose(stats["max"], data.max(axis=0))
    np.testing.assert_allclose(built.dimension_correlations.to_numpy(), np.corrcoef(data, rowvar=False), atol=1e-12)
    ranks = np.column_stack([_average_ranks(data[:, j]) for j in range(data.shape[1])])
    np.testing.assert_allclose(built.dimension_rank_correlations.to_numpy(), np.corrcoef(ranks, rowvar=False), atol=1e-12)
    # Section IV of the report: the most and least uneven dimensions.
    assert stats["sd"].idxmax() == "Technological Innovation"
    assert stats["sd"].idxmin() == "Market Environment"


def test_2025_city_balance_top10_and_tiers(edition):
    _, long, cities, built = edition
    data = _dimension_totals(long, cities)
    np.testing.assert_allclose(built.city_balance["sd"], data.to_numpy(dtype=float).std(axis=1, ddof=1))
    # Rank = 1 + number of cities with a strictly higher total.
    top10 = {city: sum(1 + int((data[d] > data.at[city, d]).sum()) <= 10 for d in data.columns) for city in cities}
    assert built.city_balance["top_count"].to_dict() == top10
    assert sorted(c for c, n in top10.items() if n == 10) == ["Hangzhou", "Shanghai"]
    overall = data.sum(axis=1)
    assert built.tiers["overall"].to_dict() == overall.to_dict()
    tier = overall.map(lambda s: "First tier" if s >= 2400 else "Second tier" if s >= 2000 else "Third tier" if s >= 1500 else "Other")
    assert built.tiers["tier"].to_dict() == tier.to_dict()
    assert built.tier_summary["cities"].tolist() == [3, 7, 17, 33]
    sentences = built.insights["sentence"].tolist()
    assert "Shanghai and Hangzhou are in the top 10 of all ten dimensions." in sentences


def test_2025_leaders_of_every_dimension_and_variable(edition):
    pipeline, long, cities, built = edition
    totals = _dimension_totals(long, cities)
    expected = []
    for dimension in totals.columns:
        column = totals[dimension]
        expected += [("dimension", dimension, c) for c in cities if 1 + int((column > column[c]).sum()) <= 5]
    for variable in dict.fromkeys(long["variable"]):
        column = long[long["variable"] == variable].set_index("city")["score"]
        expected += [("variable", variable, c) for c in cities if 1 + int((column > column[c]).sum()) <= 5]
    got = list(zip(built.leaders["level"], built.leaders["name"], built.leaders["city"]))
    assert sorted(got) == sorted(expected)
    assert len(built.leaders.groupby(["level", "name"])) == 60
    # Urban collaboration capacity: 5 cities share the tier-1 score of 60.
    tied = built.leaders[built.leaders["name"] == "Urban collaboration capacity"]
    assert tied["rank"].tolist() == [1, 1, 1, 1, 1]


def test_2025_reliability_and_lifts(edition):
    pipeline, long, cities, built = edition
    for dimension, group in long.groupby("dimension"):
        items = group.pivot(index="city", columns="variable", values="score").to_numpy(dtype=float)
        k = items.shape[1]
        alpha = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
        eigenvalues = np.sort(np.linalg.eigvalsh(np.corrcoef(items, rowvar=False)))[::-1]
        assert built.reliability.at[dimension, "alpha"] == pytest.approx(alpha)
        assert built.reliability.at[dimension, "pc1_share"] == pytest.approx(eigenvalues[0] / k)
        assert built.reliability.at[dimension, "pc2_eigenvalue"] == pytest.approx(eigenvalues[1])
    totals = _dimension_totals(long, cities)
    overall = totals.sum(axis=1)
    for city in ("Yangzhou", "Dalian", "Shanghai"):
        overall_rank = 1 + int((overall > overall[city]).sum())
        for dimension in totals.columns:
            dimension_rank = 1 + int((totals[dimension] > totals.at[city, dimension]).sum())
            assert built.lifts.at[city, dimension] == overall_rank - dimension_rank
    assert built.city_lifts[built.city_lifts["city"] == "Shanghai"].empty  # first overall
    coverage = built.indicator_coverage
    assert len(coverage) == 50 and (coverage["share"] == 1).all()
    assert built.implicit_weights["overall_weight"].sum() == pytest.approx(10 * 5 * (1 / 50))


def test_2025_analysis_sheet(edition):
    import openpyxl

    from cityopp_xl.adapters.analysis_sheets import SHEET_ANALYSIS, SHEET_INSIGHTS, render_analysis
    from cityopp_xl.adapters.xlsx import write_sheet

    pipeline, long, cities, built = edition
    sheet, insights = render_analysis(pipeline, "2025-06-01T09:00:00+08:00")
    assert (sheet.name, insights.name) == (SHEET_ANALYSIS, SHEET_INSIGHTS) == ("Analysis", "Insights")
    assert insights.after == SHEET_ANALYSIS
    cells = sheet.cells
    assert len({len(r) for r in cells}) == 1
    titles = {r[0]: i + 1 for i, r in enumerate(cells) if isinstance(r[0], str)}
    for title in ("Dimension statistics", "Correlation between dimensions (Pearson r)", "Top 5 of every dimension and variable", "Audit: implicit weight of every indicator"):
        assert title in titles
    # The contents list points at each section's row.
    contents = {r[1]: int(r[0].split()[1]) for r in cells if isinstance(r[0], str) and r[0].startswith("row ")}
    assert all(cells[row - 1][0] == title for title, row in contents.items())
    # The heatmap holds the Pearson matrix.
    pearson = sheet.color_scales[0]
    first, last = pearson.split(":")
    top_row = int(first[1:])
    matrix = [row[2:12] for row in cells[top_row - 1 : top_row + 9]]
    np.testing.assert_allclose(np.array(matrix, dtype=float), np.corrcoef(_dimension_totals(long, cities).to_numpy(dtype=float), rowvar=False), atol=1e-12)
    assert last == f"L{top_row + 9}"
    book = openpyxl.Workbook()
    for output in (sheet, insights):
        write_sheet(book.create_sheet(output.name), output)
    ranges = [str(r.sqref) for r in book[SHEET_ANALYSIS].conditional_formatting]
    assert ranges == sheet.color_scales
    texts = [r[2] for r in insights.cells[4:]]
    assert "In Economic Strength, Shenzhen, Shanghai, Beijing, Suzhou and Hangzhou score highest." in texts
    assert all(isinstance(t, str) and t.endswith(".") for t in texts)


# --------------------------------------------------------------------------- any small edition


@st.composite
def small_editions(draw):
    cities = [f"c{i}" for i in range(draw(st.integers(2, 7)))]
    dimensions = {}
    for d in range(draw(st.integers(1, 3))):
        columns = {}
        for v in range(draw(st.integers(1, 3))):
            columns[f"v{d}{v}"] = draw(st.lists(st.integers(1, len(cities)), min_size=len(cities), max_size=len(cities)))
        dimensions[f"D{d}"] = columns
    return dimensions, cities


@hypothesis_settings(max_examples=60, deadline=None)
@given(small_editions())
def test_any_small_edition_is_analysed_and_rendered(edition_data):
    from cityopp_xl.adapters.analysis_sheets import render_analysis

    dimensions, cities = edition_data
    pipeline = prescored_pipeline(dimensions, cities, Settings((("High", 2.0 * len(cities)),), "Low"))
    built = analysis.build_analysis(pipeline)
    n_dimensions = len(dimensions)
    assert built.dimension_correlations.shape == (n_dimensions, n_dimensions)
    assert len(built.city_balance) == len(cities)
    assert set(built.leaders["name"]) == set(dimensions) | {v for columns in dimensions.values() for v in columns}
    assert (built.leaders["rank"] <= 5).all()
    values = built.dimension_correlations.to_numpy()
    assert np.all(np.isnan(values) | ((values >= -1) & (values <= 1)))
    assert built.insights["sentence"].map(lambda s: isinstance(s, str) and s.endswith(".")).all()
    sheets = render_analysis(pipeline, "2025-01-01T00:00:00+00:00")
    assert [s.name for s in sheets] == ["Analysis", "Insights"]
    assert all(len({len(row) for row in s.cells}) == 1 for s in sheets)


def test_sheets_of_the_raw_fixture_show_indicator_pairs(example_inputs):
    from cityopp_xl.adapters.analysis_sheets import render_analysis

    pipeline = run(example_inputs)
    sheet, insights = render_analysis(pipeline, "2025-01-01T00:00:00+00:00")
    levels = {row[4] for row in sheet.cells if row[4] in ("variable", "indicator")}
    assert levels == {"variable", "indicator"}
    coverage_rows = [row for row in sheet.cells if row[2] == "b7"]
    assert coverage_rows and coverage_rows[0][5] == pytest.approx(5 / 7)
    assert any("constant" in str(row[7]) for row in sheet.cells)  # Culture: every value tied
    texts = [row[2] for row in insights.cells]
    assert "Every city scores the same in Culture (Beta): it tells no city apart and has no correlation with anything." in texts


# --------------------------------------------------------------------------- same figures on every CPU


def test_round_significant_makes_last_digit_differences_vanish():
    # Two BLAS kernels gave these two eigenvalues of the same matrix.
    assert analysis.round_significant(1.374161588792713) == analysis.round_significant(1.374161588792714) == 1.37416158879
    assert analysis.round_significant(-0.000123456789012345) == -0.000123456789012
    assert math.isnan(analysis.round_significant(math.nan))
    frame = pd.DataFrame({"r": [1 / 3, 2 / 3], "n": [1, 2], "name": ["a", "b"]})
    rounded = analysis.round_significant(frame)
    assert rounded["r"].tolist() == [0.333333333333, 0.666666666667]
    assert rounded["n"].dtype == "int64" and rounded["name"].tolist() == ["a", "b"]


def test_every_float_of_the_analysis_has_at_most_12_significant_digits(tmp_path):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(40, 6)), columns=list("abcdef"))
    matrix = analysis.pearson_matrix(frame)
    eigenvalues = analysis.correlation_eigenvalues(frame)
    for value in [*matrix.to_numpy().ravel(), *eigenvalues, analysis.cronbach_alpha(frame)]:
        assert value == float(f"{value:.12g}"), value
    # Unrounded, these figures have 15 or more significant digits.
    assert any(float(f"{v:.12g}") != v for v in np.linalg.eigvalsh(np.corrcoef(frame.to_numpy().T)))
