"""The cityopp command, run as a user runs it (a subprocess) on copies of workbooks and files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fixture_data import CITIES
from fixture_helpers import write_fixture_csvs
from test_fixture_workbook import HAND_DIMENSIONS, HAND_OVERALL, HAND_RANK, HAND_VARIABLE_SCORES


def cityopp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cityopp_xl", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_command_has_help():
    from cityopp_xl.cli import main

    assert main.help
    for name, command in main.commands.items():
        assert command.help and len(command.help) > 20, name
        result = cityopp(name, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout


def _set_value_on_line(values, line: int, text: str) -> None:
    """Replace the value of V.csv's ``line`` (1-based, the header is line 1) with ``text``."""
    lines = values.read_text().splitlines()
    lines[line - 1] = lines[line - 1].rsplit(",", 1)[0] + "," + text
    values.write_text("\n".join(lines) + "\n")

class TestScore:
    def test_csv_contract_on_raw_values_with_every_rule(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        out = tmp_path / "out"
        result = cityopp("score", "--framework", framework, "--data", values, "--out", out, "--log", tmp_path / "run.json")
        assert result.returncode == 0, result.stderr
        indicator = pd.read_csv(out / "indicator_scores.csv", dtype={"id": str})
        assert list(indicator.columns) == ["id", "city", "score"]
        a5 = indicator[indicator["id"] == "a5"].set_index("city")["score"]
        assert [a5[c] for c in CITIES] == [4, 2, 5, 2, 6, 7, 3]
        variables = pd.read_csv(out / "variable_scores.csv")
        assert list(variables.columns) == ["dimension", "variable", "city", "score"]
        for name, expected in HAND_VARIABLE_SCORES.items():
            got = variables[variables["variable"] == name].set_index("city")["score"]
            assert [got[c] for c in CITIES] == expected, name
        assert set(variables.loc[variables["variable"] == "Safety", "dimension"]) == {"Beta"}
        dimensions = pd.read_csv(out / "dimension_scores.csv")
        assert list(dimensions.columns) == ["city", "Alpha", "Beta", "overall", "overall_rank"]
        assert dimensions["city"].tolist() == CITIES  # order of first appearance
        assert dimensions["Alpha"].tolist() == HAND_DIMENSIONS["Alpha"]
        assert dimensions["overall"].tolist() == HAND_OVERALL
        assert dimensions["overall_rank"].tolist() == HAND_RANK
        assert (tmp_path / "run.json").read_text().startswith("[")

    def test_bad_value_is_named_by_line_and_exit_2(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        _set_value_on_line(values, 4, "n.a.")
        result = cityopp("score", "--framework", framework, "--data", values, "--out", tmp_path / "out")
        assert result.returncode == 2
        assert "V.csv line 4 (column 'value'): 'n.a.', expected a number" in result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()

    def test_unknown_direction_is_named_by_line(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        frame = pd.read_csv(framework, dtype=str, keep_default_na=False)
        frame.loc[2, "direction"] = "smaller"
        frame.to_csv(framework, index=False)
        result = cityopp("score", "--framework", framework, "--data", values, "--out", tmp_path / "out")
        assert result.returncode == 2
        assert "F.csv line 4 (column 'direction'): direction 'smaller', expected higher, lower, target:T or tiers" in result.stderr

    def test_a_missing_column_is_named_by_line(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        frame = pd.read_csv(framework, dtype=str, keep_default_na=False)
        frame.drop(columns=["direction"]).to_csv(framework, index=False)
        result = cityopp("score", "--framework", framework, "--data", values, "--out", tmp_path / "out")
        assert result.returncode == 2
        assert result.stderr.splitlines()[1] == (
            "F.csv line 1: no column 'direction' in the header, expected the columns id, dimension, variable, indicator, direction"
        )
        framework, values = write_fixture_csvs(tmp_path)
        values.write_text("city,id\nAva,a1\n")
        result = cityopp("score", "--framework", framework, "--data", tmp_path / "V.csv", "--out", tmp_path / "out")
        assert result.stderr.splitlines()[1] == "V.csv line 1: no column 'value' in the header, expected the columns city,id,value"

    def test_values_with_no_value_at_all_are_an_error(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        frame = pd.read_csv(values, dtype=str, keep_default_na=False)
        frame.assign(value="").to_csv(values, index=False)
        result = cityopp("score", "--framework", framework, "--data", values, "--out", tmp_path / "out")
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            "cityopp: 1 problem blocks scoring:",
            "V.csv: no value at all (every input cell is blank, so every city would tie everywhere), expected the edition's values: with none there is nothing to score",
        ]
        assert not (tmp_path / "out").exists()

    def test_warnings_print_with_their_prefix(self, tmp_path):
        framework, values = write_fixture_csvs(tmp_path)
        _set_value_on_line(values, 4, "n/a")
        result = cityopp("score", "--framework", framework, "--data", values, "--out", tmp_path / "out")
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == ["warning: V.csv line 4 (column 'value'): 'n/a' (read as a blank: no value, scores 1), expected a number, or an empty value for no value"]

    def test_prescored_variables_take_the_given_score(self, tmp_path):
        (tmp_path / "F.csv").write_text(
            "id,dimension,variable,indicator,direction,ties,points,prescored\n"
            "1,D,V1,I1,higher,,,yes\n2,D,V2,I2,higher,,,no\n3,D,V2,I3,lower,,,no\n"
        )
        (tmp_path / "V.csv").write_text("city,id,value\nA,1,3\nB,1,1\nC,1,2\nA,2,5\nB,2,5\nC,2,1\nA,3,1\nB,3,2\nC,3,3\n")
        result = cityopp("score", "--framework", tmp_path / "F.csv", "--data", tmp_path / "V.csv", "--out", tmp_path / "out")
        assert result.returncode == 0, result.stderr
        variables = pd.read_csv(tmp_path / "out" / "variable_scores.csv")
        assert variables[variables["variable"] == "V1"]["score"].tolist() == [3, 1, 2]
        # V2: I2 scores 3,3,1; I3 (lower) 3,2,1; sums 6,5,2 -> 3,2,1
        assert variables[variables["variable"] == "V2"]["score"].tolist() == [3, 2, 1]


class TestRecalc:
    def test_recalc_writes_the_scores_and_keeps_inputs(self, fixture_copy, tmp_path):
        out = tmp_path / "out.xlsx"
        before = digest(fixture_copy)
        result = cityopp("recalc", fixture_copy, "-o", out)
        assert result.returncode == 0, result.stderr
        assert digest(fixture_copy) == before  # -o leaves the source alone
        book = openpyxl.load_workbook(out)
        assert "D1 scores" in book.sheetnames and book.sheetnames.index("D1 scores") == book.sheetnames.index("D1 data") + 1
        source = openpyxl.load_workbook(fixture_copy)
        for name in source.sheetnames:
            assert [list(r) for r in source[name].iter_rows(values_only=True)] == [list(r) for r in book[name].iter_rows(values_only=True)], name

    def test_rerun_in_place_replaces_only_owned_sheets(self, fixture_copy):
        assert cityopp("recalc", fixture_copy).returncode == 0
        book = openpyxl.load_workbook(fixture_copy)
        book.create_sheet("My notes")["A1"] = "keep me"
        book["D1 scores"]["A1"] = "edited by hand"
        book.save(fixture_copy)
        sheets_before = book.sheetnames
        result = cityopp("recalc", fixture_copy)
        assert result.returncode == 0
        # The hand edit is reported (and listed on a Problems sheet), then replaced.
        assert "D1 scores!A1: an output sheet edited by hand since the last Recalculate" in result.stderr
        book = openpyxl.load_workbook(fixture_copy)
        expected = list(sheets_before)
        expected.insert(expected.index("Log") + 1, "Problems")
        assert book.sheetnames == expected
        assert book["My notes"]["A1"].value == "keep me"
        assert book["D1 scores"]["A1"].value == "Alpha: scores"

    def test_failed_run_leaves_the_workbook_byte_identical(self, fixture_copy):
        book = openpyxl.load_workbook(fixture_copy)
        book["D1 data"]["B5"] = "twelve"
        book["D2 data"]["C7"] = "#DIV/0!"
        book.save(fixture_copy)
        before = digest(fixture_copy)
        result = cityopp("recalc", fixture_copy)
        assert result.returncode == 2
        assert "D1 data!B5: 'twelve', expected a number, or a blank cell for no value" in result.stderr
        assert "D2 data!C7: the Excel error #DIV/0!" in result.stderr
        assert "Traceback" not in result.stderr
        assert digest(fixture_copy) == before
        assert sorted(p.name for p in fixture_copy.parent.iterdir()) == [fixture_copy.name]

    def test_output_must_keep_the_extension(self, fixture_copy, tmp_path):
        result = cityopp("recalc", fixture_copy, "-o", tmp_path / "out.xlsm")
        assert result.returncode == 2 and "extension" in result.stderr

    def test_an_output_in_a_missing_folder_names_the_folder(self, fixture_copy, tmp_path):
        before = digest(fixture_copy)
        result = cityopp("recalc", fixture_copy, "-o", "nodir/out.xlsx", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.splitlines() == ["cityopp: nodir/out.xlsx: the folder 'nodir' does not exist, expected an existing folder; nothing was written"]
        log = cityopp("recalc", fixture_copy, "--log", "logs/run.json", cwd=tmp_path)
        assert log.stderr.splitlines() == ["cityopp: logs/run.json: the folder 'logs' does not exist, expected an existing folder; nothing was written"]
        assert digest(fixture_copy) == before
        assert sorted(p.name for p in fixture_copy.parent.iterdir()) == [fixture_copy.name]

    def test_warnings_print_with_their_prefix(self, master_copy, tmp_path):
        from cityopp_xl.adapters.xlsx import validate_file

        _, problems, _ = validate_file(master_copy)
        warnings = [f"warning: {p}" for p in problems if not p.blocking]
        assert len(warnings) == 1 and "breaks its tie rule 'best'" in warnings[0]
        result = cityopp("recalc", master_copy, "-o", tmp_path / "out.xlsm")
        assert result.returncode == 0 and result.stderr.splitlines() == warnings
        analyzed = cityopp("analyze", master_copy, "--out", tmp_path / "analysis")
        assert analyzed.returncode == 0 and analyzed.stderr.splitlines() == warnings
        compared = cityopp("diff", master_copy, tmp_path / "out.xlsm")
        named = [w.replace("warning: ", f"warning: [{name}]", 1) for name in (master_copy.name, "out.xlsm") for w in warnings]
        assert compared.returncode == 0 and compared.stderr.splitlines() == named

    def test_help_lists_every_output_sheet(self):
        from cityopp_xl.adapters import layout

        text = " ".join(cityopp("recalc", "--help").stdout.split())
        for sheet in ("Dn scores", layout.SHEET_OVERALL, layout.SHEET_ANALYSIS, layout.SHEET_INSIGHTS, layout.SHEET_ROBUSTNESS, layout.SHEET_INDICATOR_SCORES, layout.SHEET_RECONCILIATION, layout.SHEET_LOG, layout.SHEET_PROBLEMS):
            assert sheet in text, sheet


class TestValidate:
    def test_clean_workbook_exits_0(self, fixture_copy):
        result = cityopp("validate", fixture_copy)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 error(s), 0 warning(s)" in result.stdout

    def test_problems_are_listed_with_cells_and_exit_1(self, fixture_copy):
        book = openpyxl.load_workbook(fixture_copy)
        book["D1 data"]["B5"] = "1.2万"
        book["D1 data"]["C6"] = "n/a"
        book["D2 data"]["A8"] = "Eldd"
        book["Framework"]["E5"] = "up"
        book.save(fixture_copy)
        before = digest(fixture_copy)
        result = cityopp("validate", fixture_copy)
        assert result.returncode == 1
        out = result.stdout
        assert "error: Framework!E5: direction 'up', expected higher, lower, target:T or tiers" in out
        assert digest(fixture_copy) == before

    def test_value_problems_are_listed_with_cells(self, fixture_copy):
        book = openpyxl.load_workbook(fixture_copy)
        book["D1 data"]["B5"] = "1.2万"
        book["D1 data"]["C6"] = "n/a"
        book["D2 data"]["A9"] = "Eld "
        book["D2 data"]["A10"] = "fen"
        book.save(fixture_copy)
        result = cityopp("validate", fixture_copy)
        assert result.returncode == 1
        out = result.stdout
        assert "error: D1 data!B5: '1.2万', expected a number, or a blank cell for no value" in out
        assert "warning: D1 data!C6: 'n/a' (read as a blank: no value, scores 1)" in out
        assert "error: D2 data!A10: city 'fen', expected 'Fen', as spelled on the Cities sheet" in out
        assert "D2 data!A9" not in out  # trailing spaces are trimmed


class TestNew:
    def test_new_writes_a_blank_template_that_validates(self, tmp_path):
        out = tmp_path / "next.xlsx"
        result = cityopp("new", out)
        assert result.returncode == 0, result.stderr
        book = openpyxl.load_workbook(out)
        assert book.sheetnames[:6] == ["About", "City profile", "Charts", "Framework", "Cities", "Settings"]
        assert [f"D{k} data" for k in range(1, 11)] == [s for s in book.sheetnames if s.endswith(" data")]
        framework = [r for r in book["Framework"].iter_rows(min_row=4, values_only=True) if r[0]]
        assert len(framework) == 66
        # Blank values are nothing to score: an error in every command that scores.
        empty = (
            "D1 data to D10 data: no value at all (every input cell is blank, so every city would tie everywhere), "
            "expected the edition's values: with none there is nothing to score"
        )
        checked = cityopp("validate", out)
        assert checked.returncode == 1 and f"error: {empty}" in checked.stdout.splitlines()
        assert checked.stdout.splitlines()[-1] == f"{out}: 1 error(s), 10 warning(s); scoring is blocked"
        before = digest(out)
        ran = cityopp("recalc", out)
        assert ran.returncode == 2 and ran.stderr.splitlines() == ["cityopp: 1 problem blocks scoring:", empty]
        analyzed = cityopp("analyze", out, "--out", tmp_path / "analysis")
        assert analyzed.returncode == 2
        assert analyzed.stderr.splitlines() == [f"cityopp: {out}: 1 problem(s) block scoring, so there is nothing to analyze:", empty]
        assert digest(out) == before and not (tmp_path / "analysis").exists()

    def test_new_refuses_to_replace_a_file_unless_forced(self, tmp_path):
        out = tmp_path / "next.xlsx"
        out.write_bytes(b"the team's only copy")
        result = cityopp("new", out)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [f"cityopp: {out}: the file already exists; nothing was written (add --force to replace it)"]
        assert out.read_bytes() == b"the team's only copy"
        assert cityopp("new", out, "--force").returncode == 0
        assert openpyxl.load_workbook(out).sheetnames[0] == "About"

    def test_new_messages_name_the_mistake(self, tmp_path):
        plain = cityopp("new", "--plain", tmp_path / "p.xlsm")
        assert plain.returncode == 2
        assert plain.stderr.splitlines() == [
            f"cityopp: {tmp_path / 'p.xlsm'}: --plain writes a workbook without the ribbon and macros, so its name must end in .xlsx, not '.xlsm'"
        ]
        other = cityopp("new", tmp_path / "p.txt")
        assert other.stderr.splitlines() == [
            f"cityopp: {tmp_path / 'p.txt'}: the extension '.txt', expected .xlsm (a workbook with the CityOpp ribbon) or .xlsx (a plain one)"
        ]
        missing = cityopp("new", "nodir/t.xlsm", cwd=tmp_path)
        assert missing.returncode == 2
        assert missing.stderr.splitlines() == ["cityopp: nodir/t.xlsm: the folder 'nodir' does not exist, expected an existing folder; nothing was written"]
        assert sorted(p.name for p in tmp_path.iterdir()) == []

    def test_new_from_a_framework_csv(self, tmp_path):
        framework, _ = write_fixture_csvs(tmp_path)
        cities = tmp_path / "cities.csv"
        cities.write_text("city,province\nX,P\nY,P\nZ,Q\n")
        out = tmp_path / "next.xlsx"
        assert cityopp("new", out, "--framework", framework, "--cities", cities).returncode == 0
        book = openpyxl.load_workbook(out)
        assert [r[0] for r in book["D2 data"].iter_rows(min_row=5, values_only=True)] == ["X", "Y", "Z"]
