"""Blank templates for a new edition: every input sheet, no values, from a framework."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import InputError, OutputError, Problem
from ..model import Framework, check_framework, framework_from_table
from ..validate import read_cities
from . import layout
from .csvfiles import _read_csv, read_framework_csv
from .xlsx import MACRO_SUFFIXES, load_book, write_input_workbook

DEFAULT_EDITION = "cco2025"


def edition_file(name: str, edition: str = DEFAULT_EDITION) -> Path:
    """A file of a packaged edition (``framework.csv`` or ``cities.csv``)."""
    return Path(str(resources.files("cityopp_xl") / "editions" / edition / name))


def load_framework(path: Path | None) -> Framework:
    """The framework from a CSV file, from a workbook's Framework sheet, or the packaged 2025 one."""
    path = Path(path) if path else edition_file("framework.csv")
    if path.suffix.lower() == ".csv":
        framework, problems = read_framework_csv(path)
    else:
        book = load_book(path, read_only=True)
        try:
            if layout.SHEET_FRAMEWORK not in book.sheetnames:
                raise InputError(Problem(str(path), f"no sheet '{layout.SHEET_FRAMEWORK}'", "a workbook with a Framework sheet"))
            rows = [list(r) for r in book[layout.SHEET_FRAMEWORK].iter_rows(values_only=True)]
        finally:
            book.close()
        table = layout.find_table(layout.SHEET_FRAMEWORK, rows, layout.FIRST_HEADERS[layout.SHEET_FRAMEWORK])
        if table is None:
            raise InputError(layout.missing_table_problem(layout.SHEET_FRAMEWORK, "id"))
        framework, problems = framework_from_table(table)
    return check_framework(framework, problems)


def load_cities(path: Path | None) -> list[tuple[str, str]]:
    """(city, province) pairs from a CSV file (``city[,province]``), a workbook's Cities
    sheet, or the packaged 2025 cities."""
    path = Path(path) if path else edition_file("cities.csv")
    if path.suffix.lower() == ".csv":
        frame = _read_csv(path)
        frame.columns = [c.strip().lower() for c in frame.columns]
        from ..model import SheetTable

        table = SheetTable(path.name, frame, first_row=2, style="csv")
    else:
        book = load_book(path, read_only=True)
        try:
            rows = [list(r) for r in book[layout.SHEET_CITIES].iter_rows(values_only=True)] if layout.SHEET_CITIES in book.sheetnames else []
        finally:
            book.close()
        table = layout.find_table(layout.SHEET_CITIES, rows, "city")
        if table is None:
            raise InputError(layout.missing_table_problem(layout.SHEET_CITIES, "city"))
    cities, problems = read_cities(table)
    if any(p.blocking for p in problems):
        raise InputError(problems)
    province = {}
    if "province" in table.frame.columns:
        for row in table.frame.index:
            province[layout.cell_text(table.frame.at[row, table.frame.columns[0]])] = layout.cell_text(table.frame.at[row, "province"])
    return [(city, province.get(city, "")) for city in cities]


def write_template(out: Path, framework_path: Path | None = None, cities_path: Path | None = None, *, plain: bool = False, title: str | None = None) -> None:
    """Write a blank workbook for a new edition (an .xlsm with the ribbon unless ``plain``)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if plain and suffix != ".xlsx":
        raise OutputError(f"{out}: --plain writes a workbook without the ribbon and macros, so its name must end in .xlsx, not '{out.suffix}'")
    if suffix not in MACRO_SUFFIXES | {".xlsx"}:
        raise OutputError(f"{out}: the extension '{out.suffix}', expected .xlsm (a workbook with the CityOpp ribbon) or .xlsx (a plain one)")
    framework = load_framework(framework_path)
    cities = load_cities(cities_path)
    title = title or "Chinese Cities of Opportunity: data template"
    about = ["A blank workbook for a new edition: enter raw indicator values on the 'Dn data' sheets, then Recalculate."]
    if suffix in MACRO_SUFFIXES and not plain:
        from . import macros

        with tempfile.TemporaryDirectory() as folder:
            plain_path = Path(folder) / "template.xlsx"
            write_input_workbook(plain_path, framework, cities, title=title, about=about)
            macros.make_macro_enabled(plain_path, out)
    else:
        write_input_workbook(out, framework, cities, title=title, about=about)
