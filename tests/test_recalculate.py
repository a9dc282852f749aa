"""The one Recalculate sequence (cityopp_xl/adapters/recalculate.py) on a front end held in
memory: what it reads, what it writes or deletes, and what it shows."""

from __future__ import annotations

import openpyxl
import pytest

from cityopp_xl.adapters import layout, recalculate
from cityopp_xl.adapters.integrity import SheetFeatures
from cityopp_xl.adapters.xlsx import excel_tables
from cityopp_xl.adapters.xlsxpackage import FileFront

RUN_TIME = "2026-01-01T12:00:00+00:00"


class MemoryFront:
    """The sheets of a workbook file as lists of values, and a record of every call."""

    def __init__(self, path, owned=None):
        file = FileFront(path)
        self.name = "memory.xlsx"
        self.sheets = {name: file.values(name) for name in file.sheet_names()}
        self._features = {name: file.features(name) for name in file.sheet_names() if not layout.is_owned(name)}
        file.close()
        self._owned = owned
        self.written: list[str] = []
        self.deleted: list[str] = []
        self.shown: list[tuple] = []
        self.progress_texts: list = []

    def sheet_names(self):
        return list(self.sheets)

    def values(self, sheet):
        return self.sheets[sheet]

    def features(self, sheet):
        return self._features.get(sheet, SheetFeatures())

    def unchanged(self):
        return set()

    def owned(self):
        return {n for n in self.sheets if layout.is_owned(n)} if self._owned is None else set(self._owned)

    def write(self, outputs, delete):
        self.written = [o.name for o in outputs]
        self.deleted = list(delete)

    def show_problems(self, problems, *, blocked, summary):
        self.shown.append((problems, blocked, summary))

    def progress(self, text):
        self.progress_texts.append(text)


@pytest.fixture
def scored(fixture_copy, tmp_path):
    from cityopp_xl.adapters.xlsx import recalc_file

    out = tmp_path / "scored.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME)
    return out


def test_recalculate_writes_every_output_and_deletes_the_owned_sheets_it_does_not_produce(scored):
    book = openpyxl.load_workbook(scored)
    book.create_sheet(layout.SHEET_DIFF)  # written by an earlier Compare
    book.save(scored)
    front = MemoryFront(scored)
    outcome = recalculate.recalculate(front, run_time=RUN_TIME)
    assert not outcome.blocked and outcome.pipeline is not None
    assert front.written[:2] == ["D1 scores", "D2 scores"] and layout.SHEET_LOG in front.written
    assert front.deleted == [layout.SHEET_DIFF]
    assert front.shown == []
    assert front.progress_texts[0] == "CityOpp: reading the input sheets…" and front.progress_texts[-1] is None


def test_a_blocked_run_writes_nothing_and_shows_every_problem(fixture_copy):
    book = openpyxl.load_workbook(fixture_copy)
    book["D1 data"]["C6"] = "1.2万"
    book.save(fixture_copy)
    front = MemoryFront(fixture_copy)
    outcome = recalculate.recalculate(front)
    assert outcome.blocked and outcome.pipeline is None
    assert front.written == []
    ((problems, blocked, summary),) = front.shown
    assert blocked and [p.where for p in problems] == ["D1 data!C6"]
    assert summary.startswith("Recalculate stopped: 1 problem(s) block scoring. See the Problems sheet.")


def test_a_sheet_named_like_an_output_that_the_add_in_did_not_write_stops_the_run(scored):
    """The meeting point with an ownership record: whatever a front end says it owns is
    all the sequence may replace or delete."""
    front = MemoryFront(scored, owned={n for n in openpyxl.load_workbook(scored).sheetnames if layout.is_owned(n)} - {layout.SHEET_ANALYSIS})
    outcome = recalculate.recalculate(front)
    assert front.written == [] and front.deleted == []
    ((problems, blocked, _),) = front.shown
    assert blocked
    assert [str(p) for p in problems if p.blocking] == [
        "Analysis: a sheet 'Analysis' that cityopp-xl did not write, named like one of its output sheets, "
        "expected output sheet names left to cityopp-xl: rename the sheet 'Analysis' (nothing was changed)"
    ]
    assert outcome.pipeline is None


def test_validate_shows_its_summary_and_writes_nothing(scored):
    front = MemoryFront(scored)
    outcome = recalculate.validate(front)
    assert front.written == []
    ((problems, blocked, summary),) = front.shown
    assert (problems, blocked, summary) == ([], False, "No problems found: the workbook is ready to Recalculate.")
    assert outcome.pipeline is not None


def test_excel_tables_are_read_from_their_header_row(fixture_copy):
    book = openpyxl.load_workbook(fixture_copy)
    ((table),) = excel_tables(book["D1 data"])
    assert (table.min_row, table.min_col, table.max_row, table.max_col, table.totals_rows) == (4, 1, 11, 7, 0)
