"""The raw-value fixture workbook: every rule, scores worked out in the test.

Expected scores come from (1) literal numbers worked by hand below and (2) a naive
reference written straight from METHOD.md's wording with plain loops, independent of the
engine's vectorised code.
"""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest

from cityopp_xl.adapters import audit_sheets, layout
from cityopp_xl.adapters.xlsx import recalc_file
from fixture_data import CITIES, FRAMEWORK, N, VALUES

# Worked by hand from tests/fixture_data.py (see the comments in each line).
HAND_VARIABLE_SCORES = {
    "Size": [4, 6, 6, 3, 1, 7, 2],  # 30 > 20 = 20 > 10 > 5 > 1; Eld has no value
    "Debt": [3, 6, 2, 6, 4, 1, 7],  # lower: 0.1 > 0.2 = 0.2 > 0.4 > 0.5 > 0.9; Fen none
    "Balance": [3, 6, 7, 3, 6, 4, 1],  # |x - 0|: 0 < .1 = .1 < .2 < .3 = .3; Gal none
    "Links": [7, 5, 5, 2, 3, 1, 7],  # tiers 1,2,2,4,3,-,1 with points 7,5,3,2
    "Innovation": [4, 3, 3, 5, 6, 7, 1],  # sums 8,7,7,9,10,14,4 re-scored, ties best
    "Carrying": [1, 2, 3, 4, 5, 6, 6],  # sums 2,4,6,8,10,13,13 re-scored, ties worst
    "Transport": [7, 6, 1, 6, 4, 3, 2],  # 3 indicators: sums 15,14,9,14,12,11,10
    "Safety": [6, 6, 1, 3, 3, 3, 2],  # 1 indicator, ties worst, Cor missing counts lower
    "Air": [5, 1, 1, 4, 7, 7, 3],  # lower, two missing
    "Culture": [7, 7, 7, 7, 7, 7, 7],  # every value tied
}
HAND_DIMENSIONS = {"Alpha": [21, 26, 23, 19, 20, 20, 18], "Beta": [26, 22, 13, 24, 26, 26, 20]}
HAND_OVERALL = [47, 48, 36, 43, 46, 46, 38]
HAND_RANK = [2, 1, 7, 5, 3, 3, 6]
HAND_TIER = ["High", "High", "Low", "Mid", "High", "High", "Low"]


def naive_score(values, direction="higher", ties="best", points=()):
    """METHOD.md section 2 with plain loops."""
    if direction == "tiers":
        return [1 if math.isnan(v) else points[int(v) - 1] for v in values]
    if direction == "lower":
        better = [-v for v in values]
    elif direction.startswith("target:"):
        target = float(direction.split(":")[1])
        better = [-abs(v - target) for v in values]
    else:
        better = list(values)
    n = len(values)
    out = []
    for v in better:
        if math.isnan(v):
            out.append(1)
        elif ties == "best":
            out.append(n - sum(1 for w in better if not math.isnan(w) and w > v))
        else:
            out.append(1 + sum(1 for w in better if math.isnan(w) or w < v))
    return out


def naive_variable_scores():
    variables: dict[str, list] = {}
    for row in FRAMEWORK:
        variables.setdefault(row[2], []).append(row)
    result = {}
    for name, rows in variables.items():
        ties = rows[0][5]
        scores = [naive_score(VALUES[r[0]], r[4], "best", tuple(float(p) for p in r[6].split(",")) if r[6] else ()) for r in rows]
        if len(rows) == 1 and ties == "best":
            result[name] = scores[0]
        else:
            sums = [float(sum(s[i] for s in scores)) for i in range(N)]
            result[name] = naive_score(sums, "higher", ties)
    return result


def test_hand_worked_scores_agree_with_the_naive_reference():
    assert naive_variable_scores() == HAND_VARIABLE_SCORES


def test_engine_gives_the_hand_worked_scores(build_example):
    variables = build_example("variable_scores")
    assert {c: variables[c].tolist() for c in variables.columns} == HAND_VARIABLE_SCORES
    dimensions = build_example("dimension_scores")
    assert {c: dimensions[c].tolist() for c in dimensions.columns} == HAND_DIMENSIONS
    overall = build_example("overall")
    assert overall["overall"].tolist() == HAND_OVERALL
    assert overall["rank"].tolist() == HAND_RANK
    assert overall["tier"].tolist() == HAND_TIER


def _sheet_table(book, name, header_row):
    rows = list(book[name].iter_rows(min_row=header_row, values_only=True))
    header = rows[0]
    return pd.DataFrame([r for r in rows[1:] if any(v is not None for v in r)], columns=header)


def test_recalc_of_the_fixture_workbook_writes_the_hand_worked_scores(fixture_copy, tmp_path):
    out = tmp_path / "scored.xlsx"
    recalc_file(fixture_copy, out)
    book = openpyxl.load_workbook(out, data_only=True)  # the cached values of the score sheets' formulas
    dimensions = {"Alpha": ["Size", "Debt", "Balance", "Links", "Innovation"], "Beta": ["Carrying", "Transport", "Safety", "Air", "Culture"]}
    for position, (dimension, variables) in enumerate(dimensions.items(), start=1):
        table = _sheet_table(book, layout.score_sheet(position), layout.DATA_HEADER_ROW).set_index("City")
        assert list(table.columns) == ["Rank", *variables, "Total"]
        for variable in variables:
            assert [table.at[c, variable] for c in CITIES] == HAND_VARIABLE_SCORES[variable]
        assert [table.at[c, "Total"] for c in CITIES] == HAND_DIMENSIONS[dimension]
        # Sorted by rank, ties in edition order.
        assert table["Rank"].tolist() == sorted(table["Rank"].tolist())
    overall = _sheet_table(book, layout.SHEET_OVERALL, layout.DATA_HEADER_ROW).set_index("City")
    assert [overall.at[c, "Total"] for c in CITIES] == HAND_OVERALL
    assert [overall.at[c, "Rank"] for c in CITIES] == HAND_RANK
    assert [overall.at[c, "Tier"] for c in CITIES] == HAND_TIER
    assert overall.index.tolist()[:4] == ["Bel", "Ava", "Eld", "Fen"]


def test_indicator_sheet_shows_every_step(fixture_copy, tmp_path):
    out = tmp_path / "scored.xlsx"
    recalc_file(fixture_copy, out)
    book = openpyxl.load_workbook(out)
    rows = list(book[layout.SHEET_INDICATOR_SCORES].iter_rows(min_row=6, values_only=True))
    header = rows[0]
    body = {r[0]: r for r in rows[1:] if r[0]}
    a5 = header.index("a5 Patents [higher]")
    assert [body[c][a5] for c in CITIES] == [4, 2, 5, 2, 6, 7, 3]
    tiers = header.index("a4 Plan tier [tiers]")
    assert [body[c][tiers] for c in CITIES] == [7, 5, 5, 2, 3, 1, 7]
    rescored = [i for i, h in enumerate(header) if h and h.startswith("variable score (sum re-scored, ties worst")]
    assert [body[c][rescored[0]] for c in CITIES] == HAND_VARIABLE_SCORES["Carrying"]
    # Safety, one indicator under 'worst': the indicator's tied cities share the best score
    # of their group (7, 7 and 5, 5, 5), the variable's the lowest (6, 6 and 3, 3, 3).
    single = header.index(audit_sheets.HEADER_SINGLE_WORST)
    assert [body[c][single - 1] for c in CITIES] == [7, 7, 1, 5, 5, 5, 2]
    assert [body[c][single] for c in CITIES] == HAND_VARIABLE_SCORES["Safety"] == [6, 6, 1, 3, 3, 3, 2]
    note = book[layout.SHEET_INDICATOR_SCORES]["A2"].value
    assert note == audit_sheets.NOTE_INDICATOR_SCORES and "indicator 3, 3 gives variable 2, 2" in note


def test_fixture_workbook_holds_the_fixture_data(fixture_copy):
    from cityopp_xl.adapters.xlsx import load_book, read_book

    inputs, problems = read_book(load_book(fixture_copy), fixture_copy)
    assert problems == []
    expected = pd.DataFrame(VALUES, index=pd.Index(CITIES, name="city"), dtype="float64")
    pd.testing.assert_frame_equal(inputs.values, expected)


def test_golden_files(build_example, update_golden):
    from conftest import GOLDEN

    frames = {"variable_scores": build_example("variable_scores"), "dimension_scores": build_example("dimension_scores"), "overall": build_example("overall")}
    for name, frame in frames.items():
        path = GOLDEN / f"fixture_{name}.csv"
        if update_golden:
            frame.to_csv(path)
            continue
        golden = pd.read_csv(path, index_col="city")
        pd.testing.assert_frame_equal(frame, golden, check_dtype=False)
