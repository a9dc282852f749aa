"""Fuzzing the cell reader and the worksheet functions with Hypothesis (1,000 examples per
property): every cell content (text, numbers, Excel errors, dates, booleans, None, inf,
NaN, any Unicode) is either read by the documented rule or reported with its cell, and
nothing raises."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import unicodedata

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityopp_xl.model import SheetTable
from cityopp_xl.validate import EXCEL_ERRORS, MISSING_MARKERS, UncalculatedFormula, parse_number, read_dimension_values
from fixture_data import CITIES
from fixture_helpers import fixture_framework

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL_WIDTH = str.maketrans("0123456789.,%-", "０１２３４５６７８９．，％－")

finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.integers(min_value=10**400, max_value=10**401),  # too large for a float
    st.floats(allow_nan=True, allow_infinity=True),
    finite.map(np.float64),
    st.integers(-1000, 1000).map(np.int64),
)
number_texts = st.one_of(
    finite.map(repr),
    finite.map(lambda x: f"{x:,}"),
    finite.map(lambda x: f"{x}%"),
    finite.map(lambda x: f"  {x!r}  "),
    finite.map(lambda x: repr(x).translate(FULL_WIDTH)),
    st.integers(-(10**12), 10**12).map(lambda n: f"{n:,}"),
    st.integers(-(10**12), 10**12).map(lambda n: f"{n:,}".replace(",", "\u00a0")),
)
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from(sorted(EXCEL_ERRORS) + sorted(MISSING_MARKERS) + ["N/A", "NULL", "—", "1.2万", "12,5", "(12)", "inf", "-inf", "NaN", "1e400", "=A1", "#DIV/0!  ", "TRUE"]),
    number_texts,
)
temporal = st.one_of(st.dates(), st.datetimes(), st.times(), st.datetimes().map(pd.Timestamp))
formulas = st.text(min_size=1, max_size=30).map(lambda t: UncalculatedFormula("=" + t))
cells = st.one_of(st.none(), st.booleans(), st.just(np.bool_(True)), numbers, texts, temporal, formulas)


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and not isinstance(value, UncalculatedFormula) and unicodedata.normalize("NFKC", value).strip() == ""


def check_found_text(found: str, limit: int = 300) -> None:
    """A reported finding is one short line a user can read."""
    assert isinstance(found, str) and found
    assert "\n" not in found and "\r" not in found
    assert len(found) < limit


def check_message(problem) -> None:
    """A problem prints as one line of bounded length, whatever the cell held."""
    check_found_text(str(problem), limit=700)


@FUZZ
@given(cells)
def test_every_cell_is_read_by_the_rule_or_reported(value):
    number, found, severity = parse_number(value)
    assert isinstance(number, float)
    if found is None:
        assert severity == ""
        if math.isnan(number):
            assert is_blank(value)
        else:
            assert math.isfinite(number)
            assert not isinstance(value, (bool, np.bool_, dt.date, dt.time, UncalculatedFormula))
            if isinstance(value, (int, float, np.integer, np.floating)):
                assert number == float(value)
    else:
        assert severity in ("warning", "error")
        assert math.isnan(number)
        check_found_text(found)
        if severity == "warning":  # only the documented markers of "no value"
            assert unicodedata.normalize("NFKC", str(value)).strip().lower() in MISSING_MARKERS
    if isinstance(value, (bool, np.bool_, dt.date, dt.time, UncalculatedFormula)):
        assert severity == "error"
    if isinstance(value, str) and unicodedata.normalize("NFKC", value).strip().upper() in EXCEL_ERRORS:
        assert severity == "error" and found.startswith("the Excel error #")


@FUZZ
@given(finite)
def test_numbers_written_as_text_read_back_exactly(x):
    assert parse_number(repr(x)) == (x, None, "")
    assert parse_number(f" {x!r} ") == (x, None, "")
    assert parse_number(repr(x).translate(FULL_WIDTH)) == (x, None, "")
    assert parse_number(f"{x!r}%") == (float(repr(x)) / 100, None, "")
    if re.fullmatch(r"-?\d+(\.\d+)?", repr(x)):
        assert parse_number(f"{x:,}") == (x, None, "")
        assert parse_number(repr(x).replace("-", "\u2212")) == (x, None, "")


@FUZZ
@given(st.lists(st.lists(cells, min_size=6, max_size=6), min_size=7, max_size=7))
def test_every_cell_of_a_data_sheet_is_read_or_named(grid):
    framework = fixture_framework()
    labels = framework.column_labels()
    columns = framework.input_columns("Alpha")
    frame = pd.DataFrame([[city, *row] for city, row in zip(CITIES, grid)], columns=["city", *[labels[c] for c in columns]], dtype="object")
    table = SheetTable("D1 data", frame, first_row=5)
    values, addresses, _, problems = read_dimension_values(table, framework, "Alpha", CITIES)
    named = {p.where for p in problems}
    for problem in problems:
        check_message(problem)
    for r, city in enumerate(CITIES):
        for c, key in enumerate(columns):
            cell = grid[r][c]
            where = addresses[(city, key)]
            assert where == f"D1 data!{'BCDEFG'[c]}{5 + r}"
            read = values.at[city, key]
            if where in named:
                continue  # reported with its cell
            if math.isnan(read):
                assert is_blank(cell), (where, cell)
            else:
                assert math.isfinite(read)
                number, found, _ = parse_number(cell)
                assert found is None and read == number


# --------------------------------------------------------------------------- worksheet functions

from udfs import cityopp_udfs  # noqa: E402

GENERIC_FAILURE = re.compile(r"^[A-Z]+: [A-Za-z]*(Error|Exception|Warning)\b")
ranges = st.one_of(
    cells,
    st.lists(st.lists(cells, min_size=1, max_size=1), min_size=0, max_size=8),  # a column
    st.lists(cells, min_size=1, max_size=8).map(lambda row: [row]),  # a row
    st.lists(st.lists(cells, min_size=2, max_size=3), min_size=2, max_size=3),  # a block
)
options = st.one_of(st.none(), st.sampled_from(["higher", "lower", "target:0", "target:x", "tiers", "best", "worst", "", "60,50,40", "1;2;x"]), cells, ranges)


def check_result(name: str, result) -> None:
    """A number, a spilled column or row of whole scores, or a short 'NAME: ...' text
    written for the user (never a bare exception name)."""
    if isinstance(result, str):
        assert result.startswith(f"{name}: "), result
        assert not GENERIC_FAILURE.match(result), result
        assert len(result) < 400 and "\n" not in result, result
        return
    if isinstance(result, cityopp_udfs.Spill):
        result = result.rows
    if isinstance(result, list):
        assert result and all(isinstance(row, (list, tuple)) and row for row in result)
        flat = [v for row in result for v in row]
    else:
        flat = [result]
    for value in flat:
        assert isinstance(value, (int, np.integer)) and not isinstance(value, bool), result


@FUZZ
@given(ranges, options, options, options)
def test_rankscore_answers_or_explains(value, values, direction, ties):
    check_result("RANKSCORE", cityopp_udfs.rankscore(value, values, direction, ties))


@FUZZ
@given(ranges, options)
def test_tierscore_answers_or_explains(tiers, points):
    check_result("TIERSCORE", cityopp_udfs.tierscore(tiers, points))


@FUZZ
@given(ranges, ranges, options, options)
def test_varscore_answers_or_explains(scores1, scores2, scores3, ties):
    check_result("VARSCORE", cityopp_udfs.varscore(scores1, scores2, scores3, ties))


@FUZZ
@given(ranges, options)
def test_comprank_answers_or_explains(total, totals):
    check_result("COMPRANK", cityopp_udfs.comprank(total, totals))


# --------------------------------------------------------------------------- city names and the framework

from cityopp_xl.model import framework_from_table  # noqa: E402
from cityopp_xl.validate import match_city_rows  # noqa: E402

names = st.one_of(st.sampled_from(CITIES), st.sampled_from(CITIES).map(lambda c: f" {c.upper()}  "), texts, st.none(), numbers)


@FUZZ
@given(st.lists(names, min_size=0, max_size=10))
def test_every_city_cell_is_matched_or_named(column):
    frame = pd.DataFrame({"city": column, "a1 x": [1.0] * len(column)}, dtype="object")
    table = SheetTable("D1 data", frame, first_row=5)
    rows, problems = match_city_rows(table, CITIES)
    for problem in problems:
        check_message(problem)
    named = {p.where for p in problems}
    for position, value in enumerate(column):
        where = f"D1 data!A{5 + position}"
        text = "" if value is None else str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        if text in CITIES and rows.get(text) == position:
            continue  # matched exactly (after trimming spaces)
        assert where in named or text == "" or (isinstance(value, float) and math.isnan(value)), (where, value)
    for city in CITIES:  # every city is matched, or its absence is reported
        assert city in rows or any(f"'{city}'" in p.found or f"'{city}'" in p.expected for p in problems)


framework_cells = st.one_of(st.sampled_from(["higher", "lower", "target:0", "target:x", "tiers", "best", "worst", "yes", "no", "a1", "V", "D", "60,50", ""]), cells)


@FUZZ
@given(st.lists(st.lists(framework_cells, min_size=8, max_size=8), min_size=0, max_size=6))
def test_any_framework_table_is_built_or_its_problems_named(rows):
    columns = ["id", "dimension", "variable", "indicator", "direction", "ties", "points", "prescored"]
    frame = pd.DataFrame(rows, columns=columns, dtype="object")
    framework, problems = framework_from_table(SheetTable("Framework", frame, first_row=4))
    for problem in problems:
        check_message(problem)
        assert re.fullmatch(r"Framework(![A-H]\d+)?", problem.where), problem.where
    assert (framework is None) == any(p.blocking for p in problems)
