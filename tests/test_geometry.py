"""One geometry for the score sheets, Overall and Ranks: values mode, live-formula mode, the
audit trail, the placeholders of a new workbook and the presentation formulas all place
their tables where :data:`layout.SCORE_GEOMETRY` says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cityopp_xl.adapters import layout, presentation, render
from cityopp_xl.adapters.xlsx import validate_file
from cityopp_xl.pipeline import run

RUN_TIME = "2025-01-01T00:00:00+00:00"
RAW_FIXTURE = Path(__file__).parent / "data" / "raw_fixture.xlsx"
G = layout.SCORE_GEOMETRY


def test_the_score_geometry_names_its_cells_and_ranges():
    assert (G.header_row, G.first_row) == (4, 5)
    assert G.letter("rank") == "A" and G.letter("city") == "B" and G.letter(0) == "C" and G.letter(10) == "M"
    assert G.index("city") == 1 and G.index(2) == 4
    assert G.cell(0, "city") == "B5" and G.cell(59, 10) == "M64"
    assert G.data_range(0, 60) == "C5:C64"
    assert G.data_range("rank", 60, 3, absolute=True) == "$A$5:$F$64"
    assert G.header_range(14) == "A4:N4"
    assert G.freeze == "C5" and G.print_title_rows == "4:4"
    assert G.column_widths(2, 1) == {"A": 6, "B": layout.WIDTH_CITY, "C": layout.WIDTH_SCORE, "D": layout.WIDTH_SCORE, "E": 13}
    assert layout.RANKS_GEOMETRY.column_widths(1) == {"A": 9, "B": layout.WIDTH_CITY, "C": layout.WIDTH_SCORE}


def test_another_geometry_moves_every_address_with_it():
    moved = layout.SheetGeometry(header_row=6, first_row=7, columns=("rank", "city", "province"), widths=(6, 16, 12))
    assert moved.freeze == "D7" and moved.print_title_rows == "6:6"
    assert moved.data_range(1, 3) == "E7:E9" and moved.cell(2, "province") == "C9"
    assert moved.column_widths(1) == {"A": 6, "B": 16, "C": 12, "D": layout.WIDTH_SCORE}
    assert moved.top([["title"], ["note"], ["stamp"], ["more"], ["stamp"]], ["Rank"])[5] == ["Rank"]
    with pytest.raises(ValueError, match="row 6"):
        moved.top([["title"]], ["Rank"])


@pytest.fixture(scope="module")
def pipeline():
    return run(validate_file(RAW_FIXTURE)[0])


def _tables(outputs) -> dict[str, layout.SheetOutput]:
    return {o.name: o for o in outputs if o.name == layout.SHEET_OVERALL or re.fullmatch(r"D\d+ scores", o.name)}


@pytest.mark.parametrize("formulas", [False, True], ids=["values", "formulas"])
def test_score_sheets_and_overall_sit_where_the_geometry_says(pipeline, formulas):
    n = len(pipeline["raw"].index)
    outputs = render.render_outputs(pipeline, [], run_time=RUN_TIME, formulas=formulas)
    tables = _tables(outputs)
    assert len(tables) == len(pipeline.framework.dimensions) + 1
    for name, output in tables.items():
        header = output.cells[G.header_row - 1]
        assert header[G.index("rank")] == "Rank" and header[G.index("city")] == "City", name
        assert output.freeze == G.freeze and output.print_title_rows == G.print_title_rows, name
        cities = [row[G.index("city")] for row in output.cells[G.first_row - 1 : G.last_row(n)]]
        assert sorted(cities) == sorted(pipeline["raw"].index), name
        assert G.data_range("rank", n) in output.number_formats, name
    ranks = next(o for o in outputs if o.name == layout.SHEET_RANKS)
    assert ranks.freeze == G.freeze and ranks.cells[G.header_row - 1][:2] == ["Overall rank", "City"]


def test_placeholders_have_the_headers_widths_and_panes_of_the_sheets_that_replace_them(pipeline):
    n = len(pipeline["raw"].index)
    placeholders = _tables(presentation.placeholder_outputs(pipeline.framework, n))
    for formulas in (False, True):
        written = _tables(render.render_outputs(pipeline, [], run_time=RUN_TIME, formulas=formulas))
        assert placeholders.keys() == written.keys()
        for name, placeholder in placeholders.items():
            header = placeholder.cells[G.header_row - 1]
            assert written[name].cells[G.header_row - 1][: len(header)] == header, name
            assert (placeholder.freeze, placeholder.print_title_rows) == (written[name].freeze, written[name].print_title_rows), name
            # The Note column (values mode, published inconsistencies only) is the one addition.
            assert {k: v for k, v in written[name].widths.items() if k in placeholder.widths} == placeholder.widths, name
