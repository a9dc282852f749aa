"""The 2025 reproduction: 3,000 published variable scores in; every published dimension
total, overall score and rank out, read back from the shipped workbook as it opens (it
ships recalculated) and from a new Recalculate of it, and compared with the published
table (read independently with pandas)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from cityopp_xl.adapters import layout
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.errors import Problem

DIMENSIONS = [
    "Economic Strength",
    "Technological Innovation",
    "Consumer Vitality",
    "Digital-Intelligence Empowerment",
    "Open Development",
    "Regional Synergy",
    "Urban Resilience",
    "Green and Low-Carbon",
    "Market Environment",
    "Culture and Quality of Life",
]


@pytest.fixture(scope="module", params=["as shipped", "recalculated"])
def recalculated(request, tmp_path_factory):
    """(the problems of the run, the workbook): the shipped file itself, with the problems
    its Problems sheet lists, or a new Recalculate of it."""
    from conftest import MASTER

    if request.param == "as shipped":
        book = openpyxl.load_workbook(MASTER, data_only=True)  # cached values of the formulas
        rows = list(book[layout.SHEET_PROBLEMS].iter_rows(values_only=True))
        header = rows.index(("Cell", "Found", "Expected", "Severity"))
        return [Problem(*r) for r in rows[header + 1 :] if r[0]], book
    folder = tmp_path_factory.mktemp("reproduction")
    out = folder / "scored.xlsm"
    return recalc_file(MASTER, out).problems, openpyxl.load_workbook(out, data_only=True)


def table(book, sheet, header_row=layout.DATA_HEADER_ROW):
    rows = list(book[sheet].iter_rows(min_row=header_row, values_only=True))
    frame = pd.DataFrame([r for r in rows[1:] if r[0] is not None], columns=rows[0])
    return frame.set_index("City" if "City" in frame.columns else frame.columns[0])


def published_inconsistent_overall(published):
    """Cities whose printed overall score differs from the sum of their printed dimension totals."""
    sums = published[DIMENSIONS].sum(axis=1)
    return sorted(published.index[sums != published["overall"]])


def test_inputs_are_the_3000_published_variable_scores(recalculated, published_variables):
    _, book = recalculated
    count = 0
    for position in range(1, 11):
        data = table(book, layout.data_sheet(position)).rename(columns=lambda c: c.removesuffix(" (score)"))
        scores = table(book, layout.score_sheet(position))
        dimension = book[layout.data_sheet(position)]["A1"].value
        given = published_variables[published_variables["dimension"] == dimension]
        assert given["variable"].nunique() == 5
        for row in given.itertuples():
            assert data.at[row.city, row.variable] == row.score
            assert scores.at[row.city, row.variable] == row.score
            count += 1
    assert count == 3000


def test_all_600_dimension_totals_equal_the_published_ones(recalculated, published):
    _, book = recalculated
    compared = 0
    for position, dimension in enumerate(DIMENSIONS, start=1):
        assert book[layout.data_sheet(position)]["A1"].value == dimension
        scores = table(book, layout.score_sheet(position))
        assert len(scores) == 60
        for city in published.index:
            assert scores.at[city, "Total"] == published.at[city, dimension], (dimension, city)
            compared += 1
        # Dimension ranks are competition ranks of the totals.
        expected_rank = published[dimension].rank(method="min", ascending=False).astype(int)
        assert all(scores.at[c, "Rank"] == expected_rank[c] for c in published.index)
    assert compared == 600


def test_overall_scores_and_ranks_equal_the_published_ones(recalculated, published):
    _, book = recalculated
    overall = table(book, layout.SHEET_OVERALL)
    assert len(overall) == 60
    inconsistent = published_inconsistent_overall(published)
    assert inconsistent == ["Zhongshan"]  # the transcription's one printed inconsistency
    for city in published.index:
        assert overall.at[city, "Rank"] == published.at[city, "overall_rank"], city
        if city in inconsistent:
            assert overall.at[city, "Total"] == published.loc[city, DIMENSIONS].sum()
            assert overall.at[city, "Total"] != published.at[city, "overall"]
        else:
            assert overall.at[city, "Total"] == published.at[city, "overall"], city
    # The Overall sheet lists cities by rank, the ties as the report does.
    assert overall["Rank"].tolist() == sorted(overall["Rank"].tolist())
    assert list(overall.index[14:17]) == ["Ningbo", "Hefei", "Zhengzhou"] or set(overall.index[14:16]) == {"Ningbo", "Hefei"}
    assert overall.loc[["Ningbo", "Hefei", "Zhengzhou"], "Rank"].tolist() == [15, 15, 17]


def test_tiers_follow_the_report_thresholds(recalculated, published):
    _, book = recalculated
    overall = table(book, layout.SHEET_OVERALL)
    for city in published.index:
        score = overall.at[city, "Total"]
        expected = "First tier" if score >= 2400 else "Second tier" if score >= 2000 else "Third tier" if score >= 1500 else "Other"
        assert overall.at[city, "Tier"] == expected


def test_reconciliation_names_every_published_figure_that_disagrees(recalculated, published):
    _, book = recalculated
    rows = [r for r in book[layout.SHEET_RECONCILIATION].iter_rows(values_only=True)]
    firsts = [r[0] or "" for r in rows]
    diff_title = next(i for i, f in enumerate(firsts) if f.startswith("Differences"))
    all_title = next(i for i, f in enumerate(firsts) if f.startswith("All "))
    differences = [r for r in rows[diff_title + 2 : all_title] if r[0]]
    comparisons = [r for r in rows[all_title + 2 :] if r[0]]
    assert len(comparisons) == 600 + 60 + 60
    assert sum(r[6] == "agrees" for r in comparisons) == 720 - len(differences)
    expected = {("overall", c) for c in published_inconsistent_overall(published)}
    assert {(r[0], r[1]) for r in differences} == expected
    [zhongshan] = differences
    components = published.loc["Zhongshan", DIMENSIONS].sum()
    assert zhongshan[2:7] == (components, published.at["Zhongshan", "overall"], components - published.at["Zhongshan", "overall"], components, "published figure disagrees with its own published components")


def test_the_inconsistent_published_variable_column_is_named(recalculated, published_variables):
    problems, book = recalculated
    warnings = [p for p in problems if not p.blocking]
    named = [p for p in warnings if "Per capita consumption expenditure" in p.found]
    assert len(named) == 1 and "36 shared by" in named[0].found
    assert named[0].where.startswith("D3 data!")
    # Recomputed here: a best-rule column re-scores to itself (a bottom group at 1 aside).
    column = published_variables[published_variables["variable"] == "Per capita consumption expenditure"].set_index("city")["score"]
    rescored = 60 + 1 - column.rank(method="min", ascending=False)
    assert ((rescored != column) & (column > 1)).any()
    problems_sheet = [r for r in book[layout.SHEET_PROBLEMS].iter_rows(min_row=5, values_only=True)]
    assert any("Per capita consumption expenditure" in (r[1] or "") for r in problems_sheet)
    # Every other published column is consistent with its rule.
    assert len(warnings) == 1
