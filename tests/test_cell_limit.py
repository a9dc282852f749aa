"""No written cell is cut at Excel's limit of 32,767 characters: a longer text (the members
of a tier, a draft sentence, at 3,000 cities) goes on in the rows below, whole names in
each piece, and a renderer that would still make one is stopped with the cell named."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import make_big  # noqa: E402

from cityopp_xl.adapters import layout  # noqa: E402
from cityopp_xl.adapters.analysis_sheets import render_analysis  # noqa: E402
from cityopp_xl.adapters.xlsx import write_sheet  # noqa: E402
from cityopp_xl.model import Settings  # noqa: E402
from cityopp_xl.pipeline import run  # noqa: E402
from cityopp_xl.validate import Inputs  # noqa: E402

RUN_TIME = "2025-01-01T00:00:00+00:00"


def test_split_text_keeps_whole_names_and_everything():
    text = ", ".join(f"City {i:04d}" for i in range(1, 11))  # 10 names of 9 characters
    pieces = layout.split_text(text, limit=25)
    assert pieces == ["City 0001, City 0002, ", "City 0003, City 0004, ", "City 0005, City 0006, ", "City 0007, City 0008, ", "City 0009, City 0010"]
    assert "".join(pieces) == text
    assert layout.split_text("short") == ["short"]
    assert layout.split_text("x" * 10, limit=4) == ["xxxx", "xxxx", "xx"]


def test_a_text_over_the_limit_is_refused_with_its_cell():
    output = layout.SheetOutput(name="Analysis", after="Overall", cells=[["a"], [None, "x" * (layout.MAX_CELL_TEXT + 1)]])
    with pytest.raises(ValueError, match=r"^Analysis!B2: a text of 32,768 characters, longer than a cell holds \(32,767\)$"):
        layout.check_cell_texts(output)


@pytest.fixture(scope="module")
def tied_3000():
    """3,000 cities, every value the same: one tier holds every city, and the overall
    sentence of the insights names all 3,000 with their scores."""
    framework = make_big.big_framework(dimensions=2, variables_per_dimension=5, indicators_per_variable=1)
    cities = make_big.big_cities(3000)
    values = make_big.big_values(framework, cities, missing=0.0) * 0 + 7.0
    return run(Inputs(framework, values, Settings((("First tier", 1e9),), "Other")))


def test_at_3000_cities_the_tier_members_and_sentences_are_split_never_cut(tied_3000):
    analysis, insights = render_analysis(tied_3000, RUN_TIME)
    members = ", ".join(tied_3000["overall"].sort_values("rank", kind="stable").index)
    assert len(members) > layout.MAX_CELL_TEXT
    for output in (analysis, insights):
        assert max(len(v) for row in output.cells for v in row if isinstance(v, str)) <= layout.MAX_CELL_TEXT
    rows = analysis.cells
    start = next(r for r, row in enumerate(rows) if row[1] == "Other" and row[3] == 3000)
    pieces = [rows[start][6]] + [row[6] for row in rows[start + 1 :] if row[1] == "Other (continued)"]
    assert len(pieces) == 2 and "".join(pieces) == members
    assert all(piece.rstrip(", ").split(", ")[-1].startswith("County ") and len(piece.rstrip(", ").split(", ")[-1]) == 11 for piece in pieces)
    first = next(r for r, row in enumerate(insights.cells) if row[0] == "Overall")
    sentence = [insights.cells[first][2]]
    for row in insights.cells[first + 1 :]:
        if not row[1].endswith("(continued)"):
            break
        sentence.append(row[2])
    # 8 variables tied at 3,000 (rule best) and 2 at 1 (rule worst): 24,002 for every city.
    joined = "".join(sentence)
    assert len(sentence) >= 2 and len(joined) > layout.MAX_CELL_TEXT
    assert joined == f"Overall, {', '.join(members.split(', ')[:-1])} and County 3000 score highest ({', '.join(['24,002'] * 2999)} and 24,002 of a possible 30,000)."

    # Written to a file and read back, every piece is whole.
    book = openpyxl.Workbook()
    write_sheet(book.active, analysis)
    assert [book.active.cell(start + 1 + k, 7).value for k in range(len(pieces))] == pieces


def test_no_row_is_taller_than_excel_allows(tied_3000):
    # A tier of 3,000 cities wraps to thousands of points; Excel refuses a row over 409
    # points (setting one fails in Excel), so every sized row stops there.
    from cityopp_xl.adapters.printing import MAX_ROW_HEIGHT, polish

    analysis, insights = render_analysis(tied_3000, RUN_TIME)
    for output in (polish(analysis), polish(insights)):
        assert output.row_heights and max(output.row_heights.values()) <= MAX_ROW_HEIGHT == 409.0
    start = next(r for r, row in enumerate(analysis.cells, start=1) if row[1] == "Other" and row[3] == 3000)
    assert analysis.row_heights[start] == MAX_ROW_HEIGHT


def test_a_tie_of_thousands_lists_as_many_leaders_as_the_table_is_wide(tied_3000):
    # Every city tied first in every dimension and variable: each list of leaders is the
    # 3,000 cities. The sheet stays as wide as its tables; the last cell counts the rest.
    from cityopp_xl.adapters.analysis_sheets import LAST_COLUMN

    analysis, _ = render_analysis(tied_3000, RUN_TIME)
    assert max(sum(v is not None for v in row) for row in analysis.cells) <= max(LAST_COLUMN, len(analysis.cells[0]))
    header = next(r for r, row in enumerate(analysis.cells) if row[:3] == ["Code", "Dimension or variable", "Level"])
    body = analysis.cells[header + 1 : header + 1 + len(tied_3000.framework.dimensions) + len(tied_3000.framework.variables)]
    for row in body:
        leaders = [v for v in row[3:] if v is not None]
        assert len(leaders) == LAST_COLUMN - 3 and all(v.startswith("1= County ") for v in leaders[:-1])
        assert leaders[-1] == f"and {3000 - len(leaders) + 1} more"
