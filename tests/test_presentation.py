"""The presentation sheets (City profile, Charts) and the printed pages of the workbook.

The City profile and Charts sheets are made with the workbook and hold only native
formulas and charts over the owned sheets, so they must (1) survive every Recalculate, in
both paths, unchanged; (2) compute, in a real spreadsheet application (LibreOffice
headless), exactly the engine's numbers for the city picked in the drop-down, whether the
Overall sheet lists the cities by rank (values) or in edition order (live formulas); (3)
show no error before the first Recalculate; and (4) print: the workbook is rendered to
PDF and the pages that show the profile, the charts and the heatmapped tables are turned
into images that must not be blank and must carry colour.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import MASTER, TEMPLATE
from libreoffice import recalculated_values, render_pdf, render_png
from ooxml import ooxml_errors, saved_as_excel_saves
from remote_harness import apply_actions, run_macro

from cityopp_xl.adapters import book as book_adapter
from cityopp_xl.adapters import layout, presentation
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.pipeline import Pipeline

RUN_TIME = "2026-01-01T12:00:00+00:00"
CITY = "Hangzhou"
PRESENTATION = (layout.SHEET_CITY_PROFILE, layout.SHEET_CHARTS)


def sheet_cells(path: Path, name: str) -> list[list]:
    """A sheet's values as a viewer shows them (the cached values of formulas)."""
    book = openpyxl.load_workbook(path, data_only=True)
    try:
        return [list(r) for r in book[name].iter_rows(values_only=True)]
    finally:
        book.close()


def chart_kinds(path: Path) -> dict[str, list[str]]:
    """The chart types on each presentation sheet, read back with openpyxl."""
    book = openpyxl.load_workbook(path)
    try:
        return {name: sorted(type(chart).__name__ for chart in book[name]._charts) for name in PRESENTATION}
    finally:
        book.close()


def pick_city(path: Path, city: str) -> None:
    """Choose ``city`` in the City profile's drop-down cell, as a reviewer would."""
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    book[layout.SHEET_CITY_PROFILE][presentation.CITY_CELL] = city
    book.save(path)


def find_row(rows: list[list], column: int, text: str) -> int:
    """0-based index of the first row whose cell ``column`` (0-based) is ``text``."""
    return next(i for i, row in enumerate(rows) if len(row) > column and row[column] == text)


# --------------------------------------------------------------------------- the sheets


@pytest.mark.parametrize("path", [MASTER, TEMPLATE], ids=["master", "template"])
def test_new_workbooks_have_the_presentation_sheets_and_placeholders(path):
    book = openpyxl.load_workbook(path)
    names = book.sheetnames
    assert names[:3] == [layout.SHEET_ABOUT, layout.SHEET_CITY_PROFILE, layout.SHEET_CHARTS]
    assert not any(layout.is_owned(n) for n in PRESENTATION)
    # Every sheet the formulas and charts point at exists before the first Recalculate.
    for position in range(1, 11):
        assert names.index(layout.score_sheet(position)) == names.index(layout.data_sheet(position)) + 1
    assert names.index(layout.SHEET_OVERALL) == names.index(layout.score_sheet(10)) + 1
    overall = book[layout.SHEET_OVERALL]
    assert [c.value for c in overall[4]][:3] == ["Rank", "City", "Economic Strength"]
    profile = book[layout.SHEET_CITY_PROFILE]
    [validation] = profile.data_validations.dataValidation
    assert str(validation.sqref) == presentation.CITY_CELL
    assert validation.type == "list" and validation.formula1 == "Cities!$A$4:$A$63"
    assert profile[presentation.CITY_CELL].value == book[layout.SHEET_CITIES]["A4"].value
    formulas = [c.value for row in profile.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert any("Overall!$B$5:$B$64" in f for f in formulas)
    assert any("'D10 scores'!$G$5:$G$64" in f for f in formulas)
    assert not any("_xlfn" in f for f in formulas)
    assert chart_kinds(path) == {layout.SHEET_CITY_PROFILE: ["RadarChart"], layout.SHEET_CHARTS: ["BarChart", "BarChart"]}
    for name in PRESENTATION:
        assert book[name].page_setup.orientation == "landscape"
        assert book[name].print_area


def test_presentation_sheets_survive_recalculate_in_both_paths(master_copy, tmp_path):
    before = {name: sheet_cells(master_copy, name) for name in PRESENTATION}
    cli = tmp_path / "cli.xlsm"
    recalc_file(master_copy, cli, run_time=RUN_TIME)
    recalc_file(cli, run_time=RUN_TIME)  # and again, in place
    run = run_macro(master_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME))
    excel = tmp_path / "excel.xlsm"
    apply_actions(master_copy, run, excel)
    for path in (cli, excel):
        for name in PRESENTATION:
            assert sheet_cells(path, name) == before[name], (path.name, name)
        assert chart_kinds(path) == chart_kinds(master_copy)
        names = openpyxl.load_workbook(path).sheetnames
        assert names[:3] == [layout.SHEET_ABOUT, *PRESENTATION]
    # The Excel path never touches the presentation sheets.
    positions = {a.get("sheet_position") for a in run.actions}
    assert not positions & {1, 2}


def test_placeholders_are_replaced_by_the_scores(master_copy, tmp_path):
    out = tmp_path / "scored.xlsm"
    result = recalc_file(master_copy, out, run_time=RUN_TIME)
    rows = sheet_cells(out, layout.SHEET_OVERALL)
    assert rows[3][:2] == ["Rank", "City"]
    assert rows[4][:2] == [1, result.pipeline["overall"]["overall"].idxmax()]


# --------------------------------------------------------------------------- in LibreOffice


def expected_profile(pipeline: Pipeline, city: str) -> dict:
    """What the City profile must show for ``city``, from the engine's stages."""
    framework = pipeline.framework
    dimension_scores, dimension_ranks = pipeline["dimension_scores"], pipeline["dimension_ranks"]
    overall = pipeline["overall"]
    variables = [v.name for v in framework.variables]
    scores = pipeline["variable_scores"]
    mine = scores.loc[city, variables]
    rank_of = {v: int((scores[v] > mine[v]).sum()) + 1 for v in variables}
    dimension_of = {v.name: v.dimension for v in framework.variables}

    def row(name):
        return [name, int(mine[name]), rank_of[name], dimension_of[name]]

    def listed(score):
        # Every variable at the score, in framework order, up to 5; more are counted.
        tied = [v for v in variables if mine[v] == score]
        shown = [[f"{len(tied)} variables at {int(score)}: see the next page", "", "", ""]] if len(tied) > presentation.MAX_LISTED else [row(v) for v in tied]
        return shown + [["", "", "", ""]] * (presentation.MAX_LISTED - len(shown))

    every = []
    for dimension in framework.dimensions:
        every += [row(v.name) for v in framework.variables_of(dimension)]
        every.append([f"{dimension}: dimension score", int(dimension_scores.at[city, dimension]), int(dimension_ranks.at[city, dimension]), ""])
    return {
        "overall": [int(overall.at[city, "overall"]), int(overall.at[city, "rank"]), overall.at[city, "tier"]],
        "dimensions": [[d, int(dimension_scores.at[city, d]), int(dimension_ranks.at[city, d]), float(dimension_scores[d].median())] for d in framework.dimensions],
        "extremes": [[int(mine.max()), int((mine == mine.max()).sum())], [int(mine.min()), int((mine == mine.min()).sum())]],
        "strongest": listed(mine.max()),
        "weakest": listed(mine.min()),
        "variables": every,
    }


def shown_profile(rows: list[list], pipeline: Pipeline) -> dict:
    """The same figures as LibreOffice computed them on the City profile sheet."""
    count = len(pipeline.framework.dimensions)
    head = find_row(rows, 1, "Dimension")
    strong = find_row(rows, 1, "Strongest variables")
    weak = find_row(rows, 1, "Weakest variables")
    every = find_row(rows, 1, "Variable")
    top = find_row(rows, 1, "Strongest score of the city")
    numbers = lambda values: ["" if v is None else v if isinstance(v, str) else (int(v) if float(v).is_integer() else float(v)) for v in values]  # noqa: E731
    return {
        "overall": numbers([rows[4][2], rows[5][2], rows[6][2]]),
        "dimensions": [numbers(rows[head + 1 + i][1:4]) + [float(rows[head + 1 + i][4])] for i in range(count)],
        "extremes": [numbers(rows[top + k][2:4]) for k in range(2)],
        "strongest": [numbers(rows[strong + 1 + k][1:5]) for k in range(presentation.MAX_LISTED)],
        "weakest": [numbers(rows[weak + 1 + k][1:5]) for k in range(presentation.MAX_LISTED)],
        # The list goes on over a second page under its header row again.
        "variables": [numbers(row[1:5]) for row in rows[every + 1 : every + 2 + len(pipeline.framework.variables) + count] if row[1] != "Variable"][: len(pipeline.framework.variables) + count],
    }


def ranked_table(rows: list[list], n: int) -> list[list]:
    """The Charts sheet's rank-ordered table (city, rank, dimensions, total)."""
    head = find_row(rows, 14, "City")
    return [row[14 : 14 + 13] for row in rows[head + 1 : head + 1 + n]]


def expected_ranked(pipeline: Pipeline) -> list[list]:
    overall, scores = pipeline["overall"], pipeline["dimension_scores"]
    cities = list(pipeline["raw"].index)
    order = sorted(cities, key=lambda c: (overall.at[c, "rank"], cities.index(c)))
    return [[c, int(overall.at[c, "rank"]), *[int(scores.at[c, d]) for d in pipeline.framework.dimensions], int(overall.at[c, "overall"])] for c in order]


@pytest.mark.libreoffice
@pytest.mark.parametrize("formulas", [False, True], ids=["values", "live-formulas"])
def test_city_profile_and_chart_data_compute_the_engine_numbers(master_copy, tmp_path, formulas):
    out = tmp_path / "scored.xlsm"
    result = recalc_file(master_copy, out, run_time=RUN_TIME, formulas=formulas)
    pick_city(out, CITY)
    values = recalculated_values(out)
    profile = values[layout.SHEET_CITY_PROFILE]
    assert profile[0][0] == f"City profile: {CITY}"
    assert profile[3][3] in (None, "")  # no "Recalculate first" note
    assert shown_profile(profile, result.pipeline) == expected_profile(result.pipeline, CITY)
    n = len(result.pipeline["raw"].index)
    assert ranked_table(values[layout.SHEET_CHARTS], n) == expected_ranked(result.pipeline)


def cached_formulas(path: Path, name: str) -> dict[str, tuple[str, object]]:
    """Every formula cell of a sheet: {cell: (formula, the value saved with it)}."""
    formulas, values = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    try:
        return {
            cell.coordinate: (cell.value, values[name][cell.coordinate].value)
            for row in formulas[name].iter_rows()
            for cell in row
            if isinstance(cell.value, str) and cell.value.startswith("=")
        }
    finally:
        formulas.close()
        values.close()


@pytest.mark.parametrize("path", [MASTER, TEMPLATE], ids=["master", "template"])
def test_every_formula_of_the_shipped_workbooks_is_saved_with_its_value(path):
    """A viewer that never recalculates (a preview, a web viewer) shows the cached values:
    no formula cell of any sheet is saved without one."""
    with zipfile.ZipFile(path) as archive:
        for part in (n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")):
            text = archive.read(part).decode("utf-8")
            for cell in re.findall(r"<c [^>]*>(?:(?!</c>).)*<f>(?:(?!</c>).)*</c>", text):
                # A formula showing text says so (t="str"), an empty text included; any
                # other formula needs a number in <v>.
                assert 't="str"' in cell or re.search(r"<v>[^<]+</v>", cell), (path.name, part, cell[:200])


def test_the_shipped_master_shows_its_figures_without_recalculating():
    profile = {cell: "" if value is None else value for cell, (_, value) in cached_formulas(MASTER, layout.SHEET_CITY_PROFILE).items()}
    assert profile["A1"] == "City profile: Beijing" and profile["D4"] == ""
    assert [profile["C5"], profile["C6"], profile["D6"], profile["C7"]] == [2435, 2, "of 60", "First tier"]
    assert [profile["C10"], profile["D10"], profile["E10"]] == [261, 3, 150.5]  # Economic Strength, the median of 60 cities
    # Beijing scores 60 in 19 variables: counted, not listed; its one weakest is listed.
    assert profile["B23"] == "19 variables at 60: see the next page" and profile["C23"] == ""
    assert [profile["B30"], profile["C30"], profile["D30"], profile["E30"]] == ["Rent coverage ratio", 1, 60, "Consumer Vitality"]
    assert profile["B31"] == ""
    charts = {cell: value for cell, (_, value) in cached_formulas(MASTER, layout.SHEET_CHARTS).items()}
    spread = next(int(cell[1:]) for cell, (formula, _) in cached_formulas(MASTER, layout.SHEET_CHARTS).items() if cell[0] == "B" and "MIN(" in formula)
    assert [charts[f"{c}{spread}"] for c in "BCDEF"] == ["Zhaoqing", 20, 150.5, 286, "Shenzhen"]
    assert [charts[f"{c}{spread + 1}"] for c in "BCDEF"] == ["Zhaoqing", 19, 139.5, 300, "Beijing"]
    sheet = openpyxl.load_workbook(MASTER)[layout.SHEET_CITY_PROFILE]
    assert sheet["E10"].number_format == "0.0" and sheet["C10"].number_format == "0"


@pytest.mark.libreoffice
@pytest.mark.parametrize("path", [MASTER, TEMPLATE], ids=["master", "template"])
def test_libreoffice_recalculating_reproduces_every_cached_presentation_value(path):
    computed = recalculated_values(path)
    for name in PRESENTATION:
        rows = computed[name]
        cached = cached_formulas(path, name)
        assert len(cached) > 250, name
        for cell, (formula, value) in cached.items():
            column, row = openpyxl.utils.cell.coordinate_from_string(cell)
            index = openpyxl.utils.column_index_from_string(column) - 1
            found = rows[row - 1][index] if row - 1 < len(rows) and index < len(rows[row - 1]) else None
            found = "" if found is None else found
            value = "" if value is None else value
            if isinstance(value, (int, float)) and isinstance(found, (int, float)):
                assert found == pytest.approx(value, abs=1e-9), (name, cell, formula)  # sort keys: rank + k/10000
            else:
                assert found == value, (name, cell, formula)


@pytest.mark.libreoffice
def test_presentation_sheets_before_the_first_recalculate_show_no_errors(tmp_path):
    template = tmp_path / TEMPLATE.name
    shutil.copy2(TEMPLATE, template)
    values = recalculated_values(template)
    profile = values[layout.SHEET_CITY_PROFILE]
    assert profile[3][3] == presentation.RECALCULATE_FIRST
    for name in PRESENTATION:
        errors = [(r, c, v) for r, row in enumerate(values[name]) for c, v in enumerate(row) if isinstance(v, str) and v.startswith("#")]
        assert errors == [], name
    # A city that is not on the Overall sheet is named, not shown as an error.
    scored = tmp_path / "scored.xlsm"
    shutil.copy2(MASTER, scored)
    recalc_file(scored, run_time=RUN_TIME)
    pick_city(scored, "Atlantis")
    profile = recalculated_values(scored)[layout.SHEET_CITY_PROFILE]
    assert profile[3][3] == presentation.NOT_A_CITY
    assert not any(isinstance(v, str) and v.startswith("#") for row in profile for v in row)


# --------------------------------------------------------------------------- printed pages


def page_texts(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout for p in range(1, pages + 1)]


def page_pixels(pdf: Path, page: int, resolution: int = 30) -> tuple[float, float]:
    """(share of pixels with ink, share of coloured pixels) of one page, from pdftoppm's
    PPM output (no imaging library needed)."""
    data = subprocess.run(["pdftoppm", "-r", str(resolution), "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, check=True).stdout
    fields, position = [], 0
    while len(fields) < 4:  # P6, width, height, maximum value (whitespace separated)
        while data[position : position + 1].isspace():
            position += 1
        end = position
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P6"
    width, height = int(fields[1]), int(fields[2])
    pixels = data[position + 1 : position + 1 + width * height * 3]
    ink = colour = 0
    for i in range(0, len(pixels), 3):
        r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
        if min(r, g, b) < 200:
            ink += 1
        if max(r, g, b) - min(r, g, b) > 60:
            colour += 1
    total = width * height
    return ink / total, colour / total


@pytest.mark.libreoffice
def test_rendered_pages_show_the_profile_the_charts_and_the_heatmaps(master_copy, tmp_path):
    scored = tmp_path / "scored.xlsm"
    recalc_file(master_copy, scored, run_time=RUN_TIME)
    pick_city(scored, CITY)
    pdf = render_pdf(scored, tmp_path / "pdf")
    texts = page_texts(pdf)

    def page_of(marker: str) -> int:
        found = [i + 1 for i, text in enumerate(texts) if marker in text]
        assert found, f"no page shows {marker!r}"
        return found[0]

    pages = {
        "profile": page_of(f"City profile: {CITY}"),
        "all variables": page_of("All variable scores of the city"),
        "overall chart": page_of("Overall score of each city in rank order"),
        "dimension chart": page_of("Lowest, median and highest city in each dimension"),
        "D1 scores": page_of("Economic Strength: scores"),
        "Overall": page_of("Overall scores"),
    }
    # The presentation sheets come right after the About pages (its text and contents),
    # each on its own pages.
    about = sum(1 for text in texts if re.search(r"About, page \d+ of", text))
    assert 1 <= about <= 2 and "Contents" in "".join(texts[:about])
    assert pages["profile"] == about + 1 and pages["all variables"] == about + 2
    assert pages["overall chart"] == about + 4 and pages["dimension chart"] == about + 5
    # The profile page shows the picked city's figures, and the radar chart's labels.
    assert "Strongest variables" in texts[pages["profile"] - 1] and "Weakest variables" in texts[pages["profile"] - 1]
    assert "Median of all cities" in texts[pages["profile"] - 1]
    # The list of variables over two pages, each under the list's header row, every
    # dimension with its subtotal.
    assert "Economic Strength: dimension score" in texts[pages["all variables"] - 1]
    second = texts[pages["all variables"]]
    assert "Cultural and entertainment consumption preference" in second and "Culture and Quality of Life: dimension score" in second
    assert second.lstrip().startswith("Variable")
    # The Overall table on at most two pages, every city on one of them.
    overall_pages = texts[pages["Overall"] - 1] + texts[pages["Overall"]]
    assert all(city in overall_pages for city in ("Shanghai", "Zhaoqing"))
    images = {}
    for name, page in pages.items():
        [image] = render_png(pdf, tmp_path / "png" / name, resolution=60, first=page, last=page)
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 5000, name
        images[name] = page_pixels(pdf, page)
    for name, (ink, colour) in images.items():
        assert ink > 0.02, f"{name}: page {pages[name]} is nearly blank ({ink:.1%} ink)"
    # Colour: the heatmaps on the tables, the bars of the charts, the radar's red line.
    assert images["overall chart"][1] > 0.10
    assert images["dimension chart"][1] > 0.03
    assert images["Overall"][1] > 0.15 and images["D1 scores"][1] > 0.05
    assert images["profile"][1] > 0.01


@pytest.mark.parametrize("path", [MASTER, TEMPLATE], ids=["master", "template"])
def test_workbooks_with_presentation_sheets_pass_the_open_xml_check(path, tmp_path):
    assert ooxml_errors(path) == []
    scored = tmp_path / path.name
    shutil.copy2(path, scored)
    if path == MASTER:
        recalc_file(scored, run_time=RUN_TIME)
        assert ooxml_errors(scored) == []
        pick_city(scored, CITY)  # saved by openpyxl, standing in for the reviewer's Excel
        assert ooxml_errors(saved_as_excel_saves(scored)) == []
    with zipfile.ZipFile(scored) as archive:
        assert sum(name.startswith("xl/charts/chart") for name in archive.namelist()) == 3
