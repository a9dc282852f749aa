"""``cityopp robustness BOOK --out DIR`` and the Robustness sheet, on copies of workbooks."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cityopp_xl import robustness
from cityopp_xl.adapters import layout
from cityopp_xl.adapters.xlsx import validate_file
from cityopp_xl.cli import main
from cityopp_xl.pipeline import run
from cityopp_xl.validate import Inputs

SCENARIOS_HEADER = ["scenario", "family", "city", "overall", "rank"]
INTERVALS_HEADER = ["city", "rank", "best_rank", "worst_rank", "best_scenario", "worst_scenario"]
FAMILIES_HEADER = ["family", "scenarios", "mean_abs_shift", "max_abs_shift", "cities_changed"]


def invoke(*args):
    return CliRunner().invoke(main, ["robustness", *[str(a) for a in args]], catch_exceptions=False)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def master_run(tmp_path_factory):
    from conftest import MASTER

    folder = tmp_path_factory.mktemp("robustness")
    book = folder / MASTER.name
    book.write_bytes(MASTER.read_bytes())
    before = digest(book)
    result = invoke(book, "--out", folder / "out")
    assert result.exit_code == 0, result.output
    assert digest(book) == before  # read, never written
    return book, folder / "out", result


def test_the_master_gives_the_three_files_by_the_contract(master_run):
    book, out, result = master_run
    assert sorted(p.name for p in out.iterdir()) == ["families.csv", "rank_intervals.csv", "scenarios.csv"]
    _, _, pipeline = validate_file(book)
    framework = pipeline.framework
    cities = list(pipeline["overall"].index)
    scenarios = read_csv(out / "scenarios.csv")
    assert scenarios[0] == SCENARIOS_HEADER
    names = list(dict.fromkeys(row[0] for row in scenarios[1:]))
    # Every 2025 variable is pre-scored: no tie rule to flip; four variables have groups at 1.
    assert names == [
        "baseline",
        *[f"drop_variable:{v.name}" for v in framework.variables],
        *[f"drop_dimension:{d}" for d in framework.dimensions],
        *[f"leave_city_out:{c}" for c in cities],
        "missing:median",
    ]
    assert len(scenarios) - 1 == len(names) * 60 - 60
    baseline = {row[2]: (row[1], row[3], row[4]) for row in scenarios[1:] if row[0] == "baseline"}
    assert baseline["Shanghai"] == ("baseline", "2446", "1")
    assert baseline["Zhongshan"][1] == str(pipeline["overall"].at["Zhongshan", "overall"])
    without = {row[2]: row for row in scenarios[1:] if row[0] == "leave_city_out:Beijing"}
    assert "Beijing" not in without and len(without) == 59 and without["Shanghai"][1] == "leave_city_out"
    intervals = read_csv(out / "rank_intervals.csv")
    assert intervals[0] == INTERVALS_HEADER
    assert intervals[1] == ["Shanghai", "1", "1", "3", "baseline", "drop_variable:Per capita medical facilities"]
    assert [row[0] for row in intervals[1:]] == list(pipeline["overall"].sort_values("rank", kind="stable").index)
    families = read_csv(out / "families.csv")
    assert families[0] == FAMILIES_HEADER
    assert [row[0] for row in families[1:]] == ["drop_variable", "drop_dimension", "leave_city_out", "missing"]
    assert families[1][1] == "50" and families[3][1] == "60"
    assert "the baseline and 121 scenarios over 60 cities" in result.stdout


def test_the_files_hold_the_cores_figures(master_run):
    book, out, _ = master_run
    _, _, pipeline = validate_file(book)
    result = robustness.build_robustness(pipeline)
    intervals = read_csv(out / "rank_intervals.csv")[1:]
    expected = result.intervals
    assert [row[0] for row in intervals] == list(expected.index)
    assert [[int(v) for v in row[1:4]] for row in intervals] == expected[["rank", "best_rank", "worst_rank"]].to_numpy().tolist()
    assert [row[4:] for row in intervals] == expected[["best_scenario", "worst_scenario"]].to_numpy().tolist()
    families = read_csv(out / "families.csv")[1:]
    assert [[row[0], int(row[1]), float(row[2]), int(row[3]), int(row[4])] for row in families] == [
        [family, *values] for family, values in zip(result.families.index, result.families.to_numpy().tolist())
    ]


def test_the_recalculated_master_shows_the_same_intervals_on_its_robustness_sheet(master_run, tmp_path):
    book, out, _ = master_run
    recalculated = tmp_path / "scored.xlsm"
    result = CliRunner().invoke(main, ["recalc", str(book), "-o", str(recalculated)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(recalculated, read_only=True)
    names = workbook.sheetnames
    assert names.index(layout.SHEET_ROBUSTNESS) == names.index(layout.SHEET_INSIGHTS) + 1
    rows = list(workbook[layout.SHEET_ROBUSTNESS].iter_rows(values_only=True))
    header = list(rows[3])
    assert header[:7] == ["Rank", "City", "Overall", "Best", "Worst", "Scenarios", "At rank"]
    best_in, worst_in = header.index("Best in"), header.index("Worst in")
    shown = [[row[1], row[0], row[3], row[4], row[best_in], row[worst_in]] for row in rows[4:64]]
    expected = [[row[0], int(row[1]), int(row[2]), int(row[3]), row[4], row[5]] for row in read_csv(out / "rank_intervals.csv")[1:]]
    assert shown == expected
    # The bar: one column per rank, 1 from the best to the worst rank, -1 at the baseline rank.
    shanghai = rows[4][7:best_in]
    assert len(shanghai) == 60 and shanghai[:3] == (-1, 1, 1) and set(shanghai[3:]) == {None}
    assert "Shanghai ranks 1st in 112 of the 121 scenarios it is in; its worst is 3rd, without Per capita medical facilities." in [r[0] for r in rows]
    assert layout.is_owned(layout.SHEET_ROBUSTNESS)


def test_families_limit_the_scenarios_on_raw_values(fixture_copy, tmp_path):
    before = digest(fixture_copy)
    result = invoke(fixture_copy, "--out", tmp_path / "out", "--family", "leave_city_out", "--family", "tie_rule")
    assert result.exit_code == 0, result.output
    assert digest(fixture_copy) == before
    families = read_csv(tmp_path / "out" / "families.csv")
    assert [row[0] for row in families[1:]] == ["leave_city_out", "tie_rule"]
    scenarios = read_csv(tmp_path / "out" / "scenarios.csv")
    assert {row[1] for row in scenarios[1:]} == {"baseline", "leave_city_out", "tie_rule"}
    # Each leave-one-out scenario is the pipeline run on the fixture without that city.
    inputs, _, pipeline = validate_file(fixture_copy)
    for city in inputs.values.index:
        full = run(Inputs(inputs.framework, inputs.values.drop(city), inputs.settings))["overall"]
        rows = {row[2]: row for row in scenarios[1:] if row[0] == f"leave_city_out:{city}"}
        assert {c: (float(r[3]), int(r[4])) for c, r in rows.items()} == {c: (float(o), int(k)) for c, o, k in zip(full.index, full["overall"], full["rank"])}


def test_an_unknown_family_and_a_workbook_that_cannot_be_scored_are_refused(tmp_path):
    from conftest import RAW_FIXTURE

    result = invoke(RAW_FIXTURE, "--out", tmp_path / "out", "--family", "weights")
    assert result.exit_code == 2 and "weights" in result.output
    bad = tmp_path / "bad.xlsx"
    bad.write_text("city,value\nAva,1\n")
    result = invoke(bad, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_a_quick_run_shows_no_progress_bar(fixture_copy, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cityopp_xl", "robustness", str(fixture_copy), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "scenario/s" not in result.stderr and "%|" not in result.stderr
    assert read_csv(tmp_path / "out" / "scenarios.csv")[0] == SCENARIOS_HEADER


def test_the_bar_has_a_column_per_rank_up_to_60_cities_then_bands():
    from cityopp_xl.adapters.robustness_sheet import bar_bands

    assert bar_bands(5) == (5, 1)
    assert bar_bands(60) == (60, 1)
    assert bar_bands(61) == (31, 2)  # 2 ranks a column: 31 columns reach rank 62
    assert bar_bands(600) == (60, 10)
    assert bar_bands(3000) == (20, 150)


def test_a_large_edition_leaves_the_leave_one_out_family_to_the_command():
    import math

    import pandas as pd

    from cityopp_xl.adapters.robustness_sheet import LARGE_EDITION, render_robustness
    from cityopp_xl.model import Direction, Framework, Indicator, Variable

    framework = Framework(tuple(Variable(f"v{k}", f"d{k % 2}", (Indicator(f"i{k}", f"i{k}", Direction("higher")),)) for k in range(4)))
    cities = pd.Index([f"c{i}" for i in range(LARGE_EDITION + 1)], name="city")
    values = pd.DataFrame({f"i{k}": [float((i * (k + 3)) % 97) if i % 11 else math.nan for i in range(len(cities))] for k in range(4)}, index=cities)
    sheet = render_robustness(run(Inputs(framework, values)), "2026-01-01T00:00:00+00:00")
    assert "Recalculate leaves out the scenarios without each city" in sheet.cells[1][0]
    assert "without a city" not in sheet.cells[1][0]
    assert sheet.cells[3][7 + 20] == "Best in"  # 20 bar columns


def test_scenarios_csv_written_in_chunks_is_the_whole_table(fixture_copy, tmp_path):
    from cityopp_xl.adapters.robustness_csv import write_robustness_csvs

    _, _, pipeline = validate_file(fixture_copy)
    result = robustness.build_robustness(pipeline)
    write_robustness_csvs(result, tmp_path / "chunks", chunk=3)
    write_robustness_csvs(result, tmp_path / "whole", chunk=len(result.scenarios))
    chunked = (tmp_path / "chunks" / "scenarios.csv").read_text(encoding="utf-8")
    assert chunked == (tmp_path / "whole" / "scenarios.csv").read_text(encoding="utf-8")
    table = result.scenario_table()
    assert chunked == table.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    assert len(table) == len(result.scenarios) * len(result.cities) - len(result.cities)
