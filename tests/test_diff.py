"""cityopp_xl.diff and its adapters: ``cityopp diff``, the Diff sheet (file and Excel paths).

The change worked out by hand on the raw fixture (7 cities, N = 7):

* ``a1`` (Output, higher) of Ava 10 → 25. Old a1 scores: Fen 30 → 7, Bel and Cor 20 → 6,
  Ava 10 → 4, Dun 5 → 3, Gal 1 → 2, Eld (blank) 1. New: Fen 7, Ava 25 → 6, Bel and Cor
  → 5, Dun 3, Gal 2, Eld 1. Size is a1 alone: Ava +2, Bel -1, Cor -1 in Alpha.
* ``b3`` (Passengers, higher) of Cor blank → 60. Old b3 scores: Ava 7, Bel and Dun 6, Eld 4,
  Fen 3, Gal 2, Cor 1. New: Ava 7, Cor 6, Bel and Dun 5, Eld 3, Fen 2, Gal 1. Transport
  adds b3, b4 and b5, and b4 + b5 scores 8 for every city, so Transport orders the cities
  as b3 does and takes the same scores: Cor +5, Bel, Dun, Eld, Fen, Gal -1 in Beta.
* Gal renamed Galway (on every sheet): one city renamed, compared under its new name.

Overall: Ava 47 → 49, Bel 48 → 46, Cor 36 → 40, Dun 43 → 42, Eld 46 → 45, Fen 46 → 45,
Galway 38 → 37; ranks Ava 2 → 1, Bel 1 → 2, Cor 7 → 6, Galway 6 → 7 (Eld and Fen stay
tied 3rd, Dun 5th); tiers (High from 46, Mid from 40) Cor Low → Mid, Eld and Fen High → Mid. Alpha (21, 26, 23, 19, 20, 20, 18 → Ava 23, Bel 25, Cor 22): ranks
Ava 3 → 2, Cor 2 → 3. Beta (26, 22, 13, 24, 26, 26, 20 → Bel 21, Cor 18, Dun 23, Eld 25,
Fen 25, Galway 19): Eld and Fen 1 → 2 (Ava alone first).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fixture_data import CITIES
from fixture_helpers import fixture_inputs
from test_cli import cityopp
from test_fixture_workbook import HAND_DIMENSIONS, HAND_OVERALL, HAND_RANK

from cityopp_xl import diff as diff_module
from cityopp_xl.adapters import diff_sheet, layout
from cityopp_xl.pipeline import run

RUN_TIME = "2026-01-01T12:00:00+00:00"
RENAMED = {"Gal": "Galway"}
NEW_CITIES = [RENAMED.get(c, c) for c in CITIES]

OLD_OVERALL = dict(zip(CITIES, HAND_OVERALL))
OVERALL_CHANGE = {"Ava": 2, "Bel": -2, "Cor": 4, "Dun": -1, "Eld": -1, "Fen": -1, "Galway": -1}
RANKS = {"Ava": (2, 1), "Bel": (1, 2), "Cor": (7, 6), "Galway": (6, 7)}
ALPHA_CHANGE = {"Ava": 2, "Bel": -1, "Cor": -1}
BETA_CHANGE = {"Cor": 5, "Bel": -1, "Dun": -1, "Eld": -1, "Fen": -1, "Galway": -1}
A1_SCORES = {"Ava": (4, 6), "Bel": (6, 5), "Cor": (6, 5)}
B3_SCORES = {"Cor": (1, 6), "Bel": (6, 5), "Dun": (6, 5), "Eld": (4, 3), "Fen": (3, 2), "Galway": (2, 1)}
DIMENSION_RANKS = {("Alpha", "Ava"): (3, 2), ("Alpha", "Cor"): (2, 3), ("Beta", "Eld"): (1, 2), ("Beta", "Fen"): (1, 2)}


def changed_inputs(inputs):
    values = inputs.values.copy()
    values.loc["Ava", "a1"] = 25.0
    values.loc["Cor", "b3"] = 60.0
    values = values.rename(index=RENAMED)
    values.index.name = "city"
    return dataclasses.replace(inputs, values=values)


def moves_of(diff, level):
    frame = diff.moves[diff.moves["level"] == level]
    return {(row.item, row.city): (row.old, row.new) for row in frame.itertuples(index=False)}


def old_city(city):
    return {v: k for k, v in RENAMED.items()}.get(city, city)


def expected_dimension_moves():
    alpha = {("Alpha", c): (HAND_DIMENSIONS["Alpha"][CITIES.index(old_city(c))], HAND_DIMENSIONS["Alpha"][CITIES.index(old_city(c))] + d) for c, d in ALPHA_CHANGE.items()}
    beta = {("Beta", c): (HAND_DIMENSIONS["Beta"][CITIES.index(old_city(c))], HAND_DIMENSIONS["Beta"][CITIES.index(old_city(c))] + d) for c, d in BETA_CHANGE.items()}
    return alpha | beta


@pytest.fixture(scope="module")
def diff():
    old = fixture_inputs()
    return diff_module.compare(run(old), run(changed_inputs(old)))


class TestCore:
    def test_changed_cells_and_the_renamed_city(self, diff):
        cells = diff.cells
        assert cells[["kind", "item", "field", "old", "new"]].values.tolist() == [
            ["city", "Gal", "city", "Gal", "Galway"],
            ["value", "Ava", "a1 Output", 10, 25],
            ["value", "Cor", "b3 Passengers", None, 60],
        ]
        assert diff.structure.values.tolist() == [["city", "renamed", "Gal", "Galway"]]
        assert diff.cities == {c: RENAMED.get(c, c) for c in CITIES}

    def test_every_move_worked_out_by_hand(self, diff):
        assert moves_of(diff, "indicator score") == {("a1 Output", c): v for c, v in A1_SCORES.items()} | {("b3 Passengers", c): v for c, v in B3_SCORES.items()}
        assert moves_of(diff, "variable score") == {("Size", c): v for c, v in A1_SCORES.items()} | {("Transport", c): v for c, v in B3_SCORES.items()}
        assert moves_of(diff, "dimension score") == expected_dimension_moves()
        assert moves_of(diff, "dimension rank") == DIMENSION_RANKS
        assert moves_of(diff, "overall score") == {("overall", c): (OLD_OVERALL[old_city(c)], OLD_OVERALL[old_city(c)] + d) for c, d in OVERALL_CHANGE.items()}
        assert moves_of(diff, "overall rank") == {("overall", c): v for c, v in RANKS.items()}
        # Tiers: High from 46, Mid from 40 (the fixture's settings).
        assert moves_of(diff, "tier") == {("overall", "Cor"): ("Low", "Mid"), ("overall", "Eld"): ("High", "Mid"), ("overall", "Fen"): ("High", "Mid")}
        assert dict(zip(CITIES, HAND_RANK))["Gal"] == 6  # the hand ranks the test builds on

    def test_moves_are_sorted_by_size_within_each_level(self, diff):
        levels = diff.moves["level"].tolist()
        assert levels == sorted(levels, key=diff_module.LEVELS.index)
        for level in diff_module.LEVELS:
            sizes = diff.moves.loc[diff.moves["level"] == level, "change"].abs().tolist()
            assert sizes == sorted(sizes, reverse=True), level
        overall = diff.moves[diff.moves["level"] == "overall score"]
        assert overall["city"].tolist()[:3] == ["Cor", "Ava", "Bel"]  # +4, +2, -2 (edition order on ties)
        numbers = diff.moves[diff.moves["level"] != "tier"]
        assert (numbers["change"] == numbers["new"] - numbers["old"]).all()

    def test_nothing_moves_between_equal_runs(self):
        pipeline = run(fixture_inputs())
        diff = diff_module.compare(pipeline, run(fixture_inputs()))
        assert diff.cells.empty and diff.structure.empty and diff.moves.empty
        assert diff.counts()["changed input cells"] == 0

    def test_added_and_removed_cities_and_indicators(self):
        old = fixture_inputs()
        values = old.values.drop(index="Dun")
        values.loc["Hal"] = values.loc["Ava"]
        new = dataclasses.replace(old, values=values)
        # A city removed in the middle and one added at the end are not a rename.
        diff = diff_module.compare(run(old), run(new))
        assert diff.structure.values.tolist() == [["city", "removed", "Dun", None], ["city", "added", None, "Hal"]]
        assert "Dun" not in set(diff.moves["city"]) and "Hal" not in set(diff.moves["city"])
        framework = old.framework
        variables = tuple(v for v in framework.variables if v.name != "Culture")
        fewer = dataclasses.replace(old, framework=dataclasses.replace(framework, variables=variables), values=old.values.drop(columns="b8"))
        diff = diff_module.compare(run(old), run(fewer))
        assert diff.structure.values.tolist() == [["indicator", "removed", "b8 Museums", None]]
        assert "Culture" not in set(diff.moves["item"])

    def test_framework_and_settings_changes_are_cells(self):
        old = fixture_inputs()
        new = run(old).rerun(directions={"a2": "higher"}, tiers=[["High", 45.0], ["Mid", 40.0]]).inputs
        diff = diff_module.compare(run(old), run(new))
        assert diff.cells[["kind", "item", "field", "old", "new"]].values.tolist() == [
            ["framework", "a2", "direction", "lower", "higher"],
            ["setting", "tier 1", "value", 46, 45],
        ]

    def test_text_report(self, diff):
        text = diff_module.format_diff(diff, "master.xlsx", "review.xlsx")
        assert text.startswith("Comparing master.xlsx (old) with review.xlsx (new)")
        counts, cells, ranks = text.index("changed input cells"), text.index("Changed input cells (old → new): 3"), text.index("Overall rank moves: 4")
        assert counts < cells < ranks
        assert "Ava: rank 2 → 1 (up 1); overall score 47 → 49" in text
        assert "Galway: rank 6 → 7 (down 1); overall score 38 → 37" in text
        assert "b3 Passengers, Cor: 1 → 6 (+5)" in text
        assert "Tier moves: 3\n  Cor: Low → Mid\n  Eld: High → Mid" in text


# --------------------------------------------------------------------------- workbooks


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edit_workbook(source: Path, target: Path) -> Path:
    """The fixture workbook with the change worked out above, as a reviewer would make it."""
    book = openpyxl.load_workbook(source)
    book["D1 data"]["B5"] = 25  # Ava, a1
    book["D2 data"]["D7"] = 60  # Cor, b3
    for name in ("Cities", "D1 data", "D2 data"):
        for row in book[name].iter_rows(min_col=1, max_col=1):
            if row[0].value == "Gal":
                row[0].value = "Galway"
    book.save(target)
    return target


@pytest.fixture
def pair(fixture_copy, tmp_path):
    old = tmp_path / "master.xlsx"
    shutil.copy2(fixture_copy, old)
    new = edit_workbook(old, tmp_path / "review.xlsx")
    return old, new


def test_cli_prints_the_cells_and_the_rank_moves_and_changes_nothing(pair, tmp_path):
    old, new = pair
    before = digest(old), digest(new)
    out = tmp_path / "with-diff.xlsx"
    result = cityopp("diff", old, new, "--sheet", out, "--csv", tmp_path / "csv")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "changed input cells    3" in text
    assert "Cities!A10: Gal, city: Gal → Galway" in text
    assert "D1 data!B5: Ava, a1 Output: 10 → 25" in text
    assert "D2 data!D7: Cor, b3 Passengers: (blank) → 60" in text
    assert text.index("Changed input cells") < text.index("Overall rank moves: 4")
    for city, (a, b) in RANKS.items():
        assert f"{city}: rank {a} → {b}" in text
    assert (digest(old), digest(new)) == before
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[-1] == layout.SHEET_DIFF
    rows = [list(r) for r in book[layout.SHEET_DIFF].iter_rows(values_only=True)]
    assert ["D1 data!B5", "D1 data!B5", "value", "Ava", "a1 Output", 10, 25] in [r[:7] for r in rows]
    assert ["overall rank", "overall", "Ava", 2, 1, -1] in [r[:6] for r in rows]
    # The copy keeps OLD's own sheets as they were.
    source = openpyxl.load_workbook(old)
    for name in source.sheetnames:
        assert [list(r) for r in source[name].iter_rows(values_only=True)] == [list(r) for r in book[name].iter_rows(values_only=True)], name
    moves = pd.read_csv(tmp_path / "csv" / "moves.csv")
    assert list(moves.columns) == diff_module.MOVE_COLUMNS
    assert len(moves[moves["level"] == "overall rank"]) == 4
    cells = pd.read_csv(tmp_path / "csv" / "cells.csv")
    assert cells["new_address"].tolist() == ["Cities!A10", "D1 data!B5", "D2 data!D7"]


def test_the_report_says_what_the_sign_of_a_change_means(pair):
    old, new = pair
    lines = cityopp("diff", old, new).stdout.splitlines()
    assert lines[1] == (
        "A change in brackets is new minus old: a score change of +3 is 3 points more; "
        "a rank change of +3 is 3 places lower (rank 1 is the best), -3 is 3 places higher."
    )


def test_a_sheet_path_with_the_wrong_extension_is_refused_before_the_report(pair, tmp_path):
    old, new = pair
    result = cityopp("diff", old, new, "--sheet", tmp_path / "copy.xlsm")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"cityopp: {tmp_path / 'copy.xlsm'}: the extension '.xlsm', expected .xlsx (the copy keeps the workbook's extension)"]
    missing = cityopp("diff", old, new, "--sheet", tmp_path / "nodir" / "copy.xlsx")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        f"cityopp: {tmp_path / 'nodir' / 'copy.xlsx'}: the folder '{tmp_path / 'nodir'}' does not exist, expected an existing folder; nothing was written"
    ]


def test_cli_names_the_workbook_that_cannot_be_scored(pair):
    old, new = pair
    book = openpyxl.load_workbook(new)
    book["D1 data"]["B6"] = "twelve"
    book.save(new)
    result = cityopp("diff", old, new)
    assert result.returncode == 2
    assert "[review.xlsx]D1 data!B6: 'twelve'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_to_write_into_the_workbook_compared(pair):
    old, new = pair
    before = digest(old)
    result = cityopp("diff", old, new, "--sheet", old)
    assert result.returncode == 2 and "not into the workbook compared" in result.stderr
    assert digest(old) == before
    assert cityopp("diff", old, new, "--sheet", old.with_suffix(".xlsm")).returncode == 2


def test_compare_in_excel_writes_the_same_diff_sheet(pair, tmp_path):
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter
    from cityopp_xl.adapters.diff_files import compare_files, write_diff_copy

    old, new = pair
    run_result = run_macro(old, lambda book: book_adapter.run_compare(book, new, run_time=RUN_TIME), status_bar="record")
    applied = apply_actions(old, run_result, tmp_path / "excel.xlsx")
    assert len(applied.alerts) == 1
    assert "3 input cell(s) differ; 4 city(ies) move in the overall ranking" in applied.alerts[0].prompt
    # One bulk write of the values, whatever the number of cities.
    assert len([a for a in run_result.actions if a["func"] == "setValues"]) == 1
    cli = write_diff_copy(old, tmp_path / "cli.xlsx", diff_sheet.diff_sheet(compare_files(old, new), old.name, new.name, run_time=RUN_TIME))
    excel_book, cli_book = openpyxl.load_workbook(tmp_path / "excel.xlsx"), openpyxl.load_workbook(cli)
    strip = lambda rows: [r for r in rows if any(v is not None for v in r)]  # noqa: E731
    assert strip([list(r) for r in excel_book[layout.SHEET_DIFF].iter_rows(values_only=True)]) == strip(
        [list(r) for r in cli_book[layout.SHEET_DIFF].iter_rows(values_only=True)]
    )


def test_compare_in_excel_stops_on_a_workbook_that_cannot_be_scored(pair, tmp_path):
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    old, new = pair
    book = openpyxl.load_workbook(new)
    book["D2 data"]["C6"] = "#N/A"
    book.save(new)
    run_result = run_macro(old, lambda book: book_adapter.run_compare(book, new), status_bar="record")
    applied = apply_actions(old, run_result, tmp_path / "excel.xlsx")
    assert len(applied.alerts) == 1 and "problem(s) in review.xlsx block scoring" in applied.alerts[0].prompt
    assert "[review.xlsx]D2 data!C6" in applied.alerts[0].prompt
    assert layout.SHEET_DIFF not in openpyxl.load_workbook(tmp_path / "excel.xlsx").sheetnames


def test_diff_and_provenance_are_core_modules():
    import subprocess
    import sys

    code = (
        "import sys, cityopp_xl.diff, cityopp_xl.provenance\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('xlwings', 'openpyxl', 'click'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
