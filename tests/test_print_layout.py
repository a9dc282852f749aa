"""The printed workbook: every sheet readable on A4 paper, nothing cut off.

The page fit (orientation and pages tall) and the column sizing are checked on their own;
then the recalculated 2025 master is rendered once by LibreOffice (Carlito, metric-compatible
with Calibri, so pages lay out as Excel prints them) and its pages are counted per sheet,
each page of a table must show the table's header, and no printed cell's text may be wider
than its column (:mod:`printed`).
"""

from __future__ import annotations

import math

import re
import subprocess
import textwrap
from collections import OrderedDict
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MASTER
from libreoffice import render_pdf
from printed import cut_cells

from cityopp_xl.adapters import layout, printing
from cityopp_xl.adapters.xlsx import recalc_file

RUN_TIME = "2026-01-01T12:00:00+00:00"
#: The most pages the 2025 master may print (issue: a reviewer's copy that prints like the report).
MOST_PAGES = 60


def score_table(rows: int, columns: int, width: float = layout.WIDTH_SCORE) -> layout.SheetOutput:
    header = ["Rank", "City", *[f"Variable {i}" for i in range(columns)]]
    body = [[i + 1, f"City {i}", *[60 - i % 60] * columns] for i in range(rows)]
    return layout.SheetOutput(
        name="D1 scores",
        after="D1 data",
        cells=[["Title"], ["A note."], [None], header, *body],
        bold=[f"A4:{layout.column_letter(len(header))}4"],
        widths={"A": 6, "B": layout.WIDTH_CITY} | {layout.column_letter(3 + i): width for i in range(columns)},
        print_title_rows="4:4",
    )


#: Pieces of the texts rows are sized for: words, hyphenated and dashed words, CJK,
#: digits, punctuation, and whitespace textwrap treats in its own ways.
TEXT_PIECES = st.sampled_from(
    ["a", "bb", "Shanghai", "x" * 14, "Digital-Intelligence", "Low-Carbon", "pre-scored", "ab-cd-ef", "-", "--", "—", "–", "1", "2025", "_",
     "'", "(", ",", ".", "?", "城市", "长三角一体化", "é", " ", " ", " ", "  ", "\t", "\r", "\x0b", "\xa0", "\u3000", "\x85", "\u200b"]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(TEXT_PIECES, min_size=1, max_size=30).map("".join), st.integers(1, 40))
def test_wrapped_lines_counts_the_lines_textwrap_makes(text, per_line):
    assert printing.wrapped_lines(text, per_line) == (len(textwrap.wrap(text, per_line, break_long_words=False, break_on_hyphens=True)) or 1)


def test_a_score_table_of_60_cities_prints_on_one_portrait_page():
    output = printing.polish(score_table(60, 6))
    assert (output.orientation, output.pages_tall) == ("portrait", 1)


def test_a_wide_table_prints_landscape_and_a_long_one_on_more_pages():
    wide = printing.polish(score_table(60, 12))
    assert wide.orientation == "landscape" and wide.pages_tall == 2
    long = printing.polish(score_table(3000, 6))
    # Never shrunk below the readable scale to save pages: at most MIN_PRINT_SCALE.
    width, page_height = printing.PRINTABLE[long.orientation]
    assert long.pages_tall * page_height >= printing.MIN_PRINT_SCALE * 3000 * printing.LINE_HEIGHT


def test_page_fit_prefers_fewer_pages_then_the_larger_print():
    # A narrow long block: portrait holds more rows per page.
    assert printing.page_fit(300, 3000) == ("portrait", 3)  # 62 %, not 4 pages at 100 %
    # A wide block that portrait would shrink below the readable scale: landscape.
    assert printing.page_fit(1100, 400)[0] == "landscape"
    # Wider than landscape at the readable scale: the larger print wins over fewer pages.
    orientation, tall = printing.page_fit(2000, 400)
    assert orientation == "landscape" and tall == 1


def test_columns_fit_their_text_and_headers_wrap_without_formats_that_depend_on_the_data():
    output = layout.SheetOutput(
        name="Analysis",
        after="Overall",
        cells=[
            ["Title"],
            ["Note"],
            [None],
            ["Code", "Dimension", "Intelligence", "Value", None],
            ["D1", "A name longer than its column", 1, 2, None],
            ["D2", "x", 3, "runs on over the empty cell", None],
            ["D3", "x", 3, "a sentence in the last column, much longer than the widest a column grows"],
        ],
        bold=["A4:D4"],
        widths={"A": 6, "B": 10, "C": 8, "D": 8, "E": 8},
    )
    printing.polish(output)
    # The header's longest word fits its column; the header row wraps.
    assert output.widths["C"] == 14 and output.wrap == ["A4:D4"]
    # A text followed by a filled cell widens its column to hold it.
    assert output.widths["B"] == math.ceil(len("A name longer than its column") / printing.NOTE_FILL) + 1
    # A text in the last column widens it up to MAX_TEXT_WIDTH, never more.
    assert output.widths["D"] == printing.MAX_TEXT_WIDTH
    # No merge, wrap or row height for body text: their number would depend on the data.
    assert output.merged == [] and set(output.row_heights) == {4}


def test_text_right_of_numbers_is_spaced_from_them():
    output = printing.polish(score_table(3, 2))
    overall = layout.SheetOutput(
        name="Overall",
        after="D1 scores",
        cells=[["Overall"], ["Note"], [None], ["Rank", "City", "Total", "Tier"], [1, "Shanghai", 2446, "First tier"], [2, "Beijing", 2435, "First tier"]],
        bold=["A4:D4"],
        widths={"A": 6, "B": 16, "C": 13, "D": 13},
    )
    printing.polish(overall)
    assert overall.number_formats["D4:D6"] == printing.TEXT_AFTER_NUMBERS
    assert output.number_formats["B4:B7"] == printing.TEXT_AFTER_NUMBERS  # "Rank City"


def footers(pdf: Path) -> tuple[list[str], "OrderedDict[str, list[int]]"]:
    """Every page's text, and the pages of each sheet (from the footer "Sheet, page N of M")."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:count]
    sheets: OrderedDict[str, list[int]] = OrderedDict()
    for number, page in enumerate(pages, start=1):
        found = re.findall(r"^\s*(.+?), page \d+ of \d+\s*$", page, re.M)
        assert found, f"page {number} has no footer"
        sheets.setdefault(found[-1].strip(), []).append(number)
    return pages, sheets


@pytest.mark.libreoffice
def test_the_recalculated_master_prints_on_at_most_60_pages_with_nothing_cut(tmp_path):
    scored = tmp_path / "scored.xlsm"
    recalc_file(MASTER, scored, run_time=RUN_TIME)
    assert cut_cells(scored) == []
    pdf = render_pdf(scored, tmp_path / "pdf")
    pages, sheets = footers(pdf)
    assert len(pages) <= MOST_PAGES, {sheet: len(numbers) for sheet, numbers in sheets.items()}
    book = openpyxl.load_workbook(scored)
    try:
        assert list(sheets) == [s.title for s in book.worksheets if s.sheet_state == "visible"]
        # Every page of a table with repeated header rows shows its header.
        for sheet in book.worksheets:
            if not sheet.print_title_rows or len(sheets[sheet.title]) < 2:
                continue
            first = int(sheet.print_title_rows.split(":")[-1].replace("$", ""))
            last_header = [c.value for c in sheet[first] if isinstance(c.value, str)][-1]
            for number in sheets[sheet.title]:
                assert last_header.split()[0] in pages[number - 1], (sheet.title, number, last_header)
    finally:
        book.close()
    # Each score sheet and data sheet on one page; bulk not printed.
    assert all(len(sheets[f"D{i} scores"]) == 1 and len(sheets[f"D{i} data"]) == 1 for i in range(1, 11))
    printed = lambda sheet: "".join(pages[n - 1] for n in sheets[sheet])  # noqa: E731
    assert len(sheets[layout.SHEET_LOG]) == 1 and "Copy of" not in printed(layout.SHEET_LOG)
    assert not re.search(r"\bagrees\b", printed(layout.SHEET_RECONCILIATION)) and "Zhongshan" in printed(layout.SHEET_RECONCILIATION)
    assert len(sheets[layout.SHEET_INDICATOR_SCORES]) == 1 and "Beijing" not in printed(layout.SHEET_INDICATOR_SCORES)
