"""Worksheet functions called as Excel calls them (xlwings.server.custom_functions_meta /
custom_functions_call), compared with the engine on every 2025 column and the raw fixture."""

from __future__ import annotations

import asyncio
import json
import math
import os

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pandas as pd
import pytest
import xlwings as xw
from xlwings import server

from cityopp_xl import scoring
from cityopp_xl.pipeline import run
from fixture_data import CITIES, FRAMEWORK, VALUES
from udfs import cityopp_udfs


def call(name: str, *args):
    """One call from Excel: every argument as the 2-D matrix Office.js sends (None = omitted)."""
    data = {
        "func_name": name,
        "args": list(args),
        "version": xw.__version__,
        "client": "Office.js",
        "caller_address": "Sheet1!Z1",
        "formula_name": name.upper(),
        "runtime": "1.4",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
    }
    data = json.loads(json.dumps(data))  # as the add-in sends it: None travels as null
    result = asyncio.run(server.custom_functions_call(data, cityopp_udfs))
    # As the add-in receives it: the server sends the result as JSON.
    return json.loads(json.dumps({"result": result}))["result"]


def column(values):
    return [[None if (isinstance(v, float) and math.isnan(v)) else v] for v in values]


def flat(matrix):
    return [row[0] for row in matrix]


def test_metadata_describes_every_function_and_argument():
    meta = server.custom_functions_meta(cityopp_udfs)
    names = {f["name"] for f in meta["functions"]}
    assert names == {"RANKSCORE", "TIERSCORE", "VARSCORE", "COMPRANK"}
    for function in meta["functions"]:
        assert len(function["description"]) > 40
        for parameter in function["parameters"]:
            assert not parameter["description"].startswith("Positional argument"), (function["name"], parameter["name"])


def test_rankscore_equals_the_engine_on_every_2025_column(published_variables):
    cities = list(dict.fromkeys(published_variables["city"]))
    for variable, group in published_variables.groupby("variable", sort=False):
        scores = group.set_index("city")["score"].reindex(cities).astype(float)
        engine = scoring.rank_score(scores.reset_index(drop=True)).tolist()
        assert flat(call("rankscore", column(scores.tolist()), None, None, None)) == engine, variable
        # One value at a time gives the same as the spill.
        for position in (0, 17, 59):
            single = call("rankscore", [[scores.iloc[position]]], column(scores.tolist()), None, None)
            assert single == [[engine[position]]]


def test_comprank_equals_the_engine_on_the_2025_totals(published):
    for name in list(published.columns[:-1]):
        totals = published[name].astype(float).tolist()
        engine = scoring.competition_rank(pd.Series(totals)).tolist()
        assert flat(call("comprank", column(totals), None)) == engine, name
        assert call("comprank", [[totals[5]]], column(totals)) == [[engine[5]]]
    # The published ranks follow the sums of the published dimension totals (Zhongshan's
    # printed overall score is the one figure that disagrees with its own components).
    sums = published[list(published.columns[:10])].sum(axis=1).astype(float).tolist()
    assert flat(call("comprank", column(sums), None)) == published["overall_rank"].tolist()


def test_functions_equal_the_engine_on_the_raw_fixture(example_inputs):
    pipeline = run(example_inputs)
    indicator_scores = pipeline["indicator_scores"]
    for identifier, _, variable, _, direction, ties, points in FRAMEWORK:
        values = column(VALUES[identifier])
        if direction == "tiers":
            got = flat(call("tierscore", values, [[points]]))
        else:
            got = flat(call("rankscore", values, None, [[direction]], None))
        assert got == indicator_scores[identifier].tolist(), identifier
    variables: dict[str, list] = {}
    for row in FRAMEWORK:
        variables.setdefault(row[2], []).append(row)
    for name, rows in variables.items():
        if len(rows) == 1:
            continue
        args = [column(indicator_scores[r[0]].tolist()) for r in rows] + [None] * (3 - len(rows))
        got = flat(call("varscore", *args, [[rows[0][5]]]))
        assert got == pipeline["variable_scores"][name].tolist(), name
    overall = pipeline["overall"]
    assert flat(call("comprank", column(overall["overall"].tolist()), None)) == overall["rank"].tolist()
    # The single-indicator worst-rule variable: RANKSCORE with ties "worst".
    assert flat(call("rankscore", column(VALUES["b6"]), None, None, [["worst"]])) == pipeline["variable_scores"]["Safety"].tolist()


def test_a_row_spills_as_a_row():
    assert call("rankscore", [[3, 1, 2]], None, None, None) == [[3, 1, 2]]


def test_spilled_columns_share_rows_that_no_spill_can_change():
    first = cityopp_udfs.rankscore([[3], [1], [2], [2]])
    assert first == [[4], [1], [3], [3]] and first.rows[2] is first.rows[3]
    with pytest.raises(TypeError):
        first.rows[0][0] = 99  # a shared row is a tuple
    big = cityopp_udfs.comprank(column(list(range(5000))))  # ranks beyond the rows made so far
    assert flat(big.rows) == list(range(5000, 0, -1))
    assert cityopp_udfs.tierscore([[1], [2], [None]], [["-5,2000000"]]) == [[-5], [2000000], [1]]
    assert cityopp_udfs.rankscore([[3], [1], [2], [2]]) == first == [[4], [1], [3], [3]]


@pytest.mark.parametrize(
    "name,args,text",
    [
        ("rankscore", ([[1], ["n/a x"], [3]], None, None, None), "RANKSCORE: values must be numbers or blanks (item 2: 'n/a x')"),
        ("rankscore", ([[1], [2]], None, [["sideways"]], None), "RANKSCORE: direction 'sideways' is not higher, lower or target:T"),
        ("rankscore", ([[1], [2]], None, None, [["middle"]]), "RANKSCORE: ties 'middle' is not best or worst"),
        ("rankscore", ([[1]], None, None, None), "RANKSCORE: give at least 2 values to rank"),
        ("rankscore", ([[1], [2]], None, [["tiers"]], None), "RANKSCORE: for tiers use TIERSCORE(tiers, points)"),
        ("tierscore", ([[1], [9]], [["60,50"]]), "TIERSCORE: tier 9 is not a whole number from 1 to 2"),
        ("varscore", ([[1], [2]], [[1]], None, None), "VARSCORE: the indicator score columns must have the same number of cities"),
        ("comprank", ([[1], [None]], None), "COMPRANK: totals must not be blank"),
    ],
)
def test_errors_come_back_as_short_text(name, args, text):
    assert call(name, *args) == [[text]]


def test_cells_office_js_sends_otherwise_are_read_as_xlwings_reads_them():
    # Plain numbers and empty cells take the fast path; an empty string or a formatted
    # number takes xlwings' cleaning, and scores the same.
    plain = [[3.0], [None], [1], [2.5]]
    expected = call("rankscore", plain, None, None, None)
    assert flat(expected) == [4, 1, 2, 3]
    dressed = [[{"type": "FormattedNumber", "basicValue": 3.0, "numberFormat": "0.0"}], [""], [1], [2.5]]
    assert call("rankscore", dressed, None, None, None) == expected
    # One cell, and a row, as Office.js sends them.
    assert call("rankscore", [[3.0]], [[1], [3.0], [2]], None, None) == [[3]]
    assert call("comprank", [[5, None, 7]], None) == [["COMPRANK: totals must not be blank"]]


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!"])
def test_an_error_cell_is_named_not_scored_as_a_blank(error):
    cells = [[1], [{"type": "Error", "errorType": "NotAvailable", "basicValue": error}], [3]]
    assert call("rankscore", cells, None, None, None) == [[f"RANKSCORE: values must be numbers or blanks (item 2: the Excel error {error})"]]
    assert call("varscore", cells, [[1], [2], [3]], None, None) == [[f"VARSCORE: indicator scores must be numbers or blanks (item 2: the Excel error {error})"]]


def test_a_block_of_cells_is_refused_with_a_reason():
    assert call("rankscore", [[1, 2], [3, 4]], None, None, None) == [["RANKSCORE: give one row or one column of values"]]


def test_only_plain_numbers_skip_xlwings_cleaning():
    from xlwings import conversion

    options = cityopp_udfs.rankscore.__xlfunc__["args"][0]["options"]

    def read(matrix):
        return conversion.read(None, matrix, options, engine_name="officejs")

    fast = read([[1.0], [None], [2]])
    assert isinstance(fast, cityopp_udfs._CheckedRange) and fast.cells == [1.0, None, 2] and fast.orientation == "column"
    assert read([[1.0, None, 2]]).orientation == "row"
    for slow in ([[1.0], [""]], [[1.0], ["x"]], [[1.0], [True]], [[1, 2], [3, 4]]):
        assert not isinstance(read(slow), cityopp_udfs._CheckedRange), slow
    assert read([[1.0], [""]]) == [[1.0], [None]]


# --------------------------------------------------------------------------- blank single values


BLANKS = [pytest.param([[None]], id="null"), pytest.param([[""]], id="empty-text")]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_single_value_scores_1_whether_sent_as_null_or_as_empty_text(blank):
    """Office.js sends a blank cell as [[null]], which xlwings Server hands on as None (as
    for an omitted argument), or as [[""]]: either way RANKSCORE and TIERSCORE score it 1
    and COMPRANK says it is not a total."""
    column = [[3.0], [1.0], [2.0], [None]]
    assert call("rankscore", blank, column, None, None) == [[1]]
    assert call("rankscore", blank, column, "lower", "worst") == [[1]]
    assert call("tierscore", blank, [["60,50,40"]]) == [[1]]
    assert call("tierscore", blank, [[60], [50], [40]]) == [[1]]
    assert call("comprank", blank, [[5], [7]]) == [["COMPRANK: total must be a number"]]
    # A value is still scored, and a zero is a value (older desktop builds send a blank as 0).
    assert call("rankscore", [[2.0]], column, None, None) == [[3]]
    assert call("rankscore", [[0]], column, None, None) == [[1]]
    assert call("rankscore", [[0]], column, "lower", None) == [[4]]


def test_a_blank_single_value_from_desktop_excel_scores_1():
    """Desktop Excel through xlwings' COM add-in reads the blank cell as [[None]]."""
    column = [[3.0], [1.0], [2.0], [None]]
    assert cityopp_udfs.rankscore([[None]], column) == 1
    assert cityopp_udfs.tierscore([[None]], "60,50,40") == 1


# --------------------------------------------------------------------------- Excel names

DESKTOP_IMPORT = """
import io, sys, types
# Windows-only modules xlwings.udfs imports at the top; VBA generation never uses them.
for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["win32com.client"].Dispatch = None
sys.modules["pythoncom"].CoInitialize = lambda: None
import xlwings
from xlwings import udfs
xlwings.func = udfs.xlfunc  # what `import xlwings` binds on Windows
from udfs import cityopp_udfs

class Book:  # the one attribute of the workbook generate_vba_wrapper reads
    Name = "CityOpp2025.xlsm"

text = io.StringIO()
udfs.generate_vba_wrapper("udfs.cityopp_udfs", cityopp_udfs, text, Book())
names = ",".join(sorted(cityopp_udfs.EXCEL_NAMES))
assert all(getattr(cityopp_udfs, n) is cityopp_udfs.EXCEL_NAMES[n] for n in cityopp_udfs.EXCEL_NAMES)
print(text.getvalue())
"""


def test_desktop_import_functions_writes_upper_case_names():
    """What *Import Functions* (ImportPythonUDFs, xlwings.import_udfs) writes into the
    workbook's VBA, generated by xlwings' own generator as on Windows."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", DESKTOP_IMPORT], capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    vba = done.stdout
    assert re.findall(r"^Function (\w+)\((.*)\)$", vba, flags=re.M) == [
        ("COMPRANK", "total, Optional totals"),
        ("RANKSCORE", "value, Optional values, Optional direction, Optional ties"),
        ("TIERSCORE", "tiers, points"),
        ("VARSCORE", "scores1, scores2, Optional scores3, Optional ties"),
    ]
    assert 'RANKSCORE = XLPy.CallUDF("udfs.cityopp_udfs", "RANKSCORE", Array(value, values, direction, ties), ThisWorkbook, Application.Caller)' in vba
    assert not re.search(r"\b(rankscore|tierscore|varscore|comprank)\b", vba)


def test_office_js_uses_the_same_upper_case_names():
    """xlwings Server's JavaScript (custom_functions_code, whose .js template ships with
    xlwings Server only) sends each function's ``__xlfunc__["name"]`` as ``func_name``."""
    import inspect

    from xlwings.pro import udfs_officejs

    source = inspect.getsource(udfs_officejs.custom_functions_code)
    assert 'func_name = xlfunc["name"]' in source and 'let args = ["{func_name}", {streaming}]' in source
    meta = server.custom_functions_meta(cityopp_udfs)["functions"]
    assert sorted((f["id"], f["name"]) for f in meta) == [(n, n) for n in ("COMPRANK", "RANKSCORE", "TIERSCORE", "VARSCORE")]
    for name, function in cityopp_udfs.EXCEL_NAMES.items():
        assert function.__xlfunc__["name"] == name and function.__name__ == name.lower()
    # The add-in sends the upper-case name, and the module answers it.
    assert call("RANKSCORE", [[3.0], [1.0], [2.0]], None, None, None) == [[3], [1], [2]]


def test_the_standalone_route_reads_the_udf_modules_from_an_xlwings_conf_sheet():
    """The README's set-up: a sheet named xlwings.conf with 'UDF Modules' in A1 and
    'udfs.cityopp_udfs' in B1, then the ImportPythonUDFs macro of the workbook's own
    xlwings module (no add-in)."""
    from oletools.olevba import VBA_Parser

    from conftest import MASTER

    parser = VBA_Parser(str(MASTER))
    code = {name: text for _, _, name, text in parser.extract_macros()}["xlwings.bas"]
    parser.close()
    assert 'Public Const PROJECT_NAME As String = "xlwings"' in code
    assert "Sub ImportPythonUDFs()" in code
    assert 'GetUdfModules = GetConfig("UDF MODULES")' in code
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in code and "d.Add UCase(cell.Value), cell.Offset(0, 1).Value" in code
    assert 'XLPy.Call(XLPy.Module("xlwings"), "import_udfs", XLPy.Tuple(GetUdfModules(wb), wb))' in code
