"""Frames and files built from tests/fixture_data.py."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

from cityopp_xl.model import Settings, SheetTable, check_framework, framework_from_table
from cityopp_xl.validate import Inputs
from fixture_data import CITIES, FRAMEWORK, VALUES

FRAMEWORK_HEADER = ["id", "dimension", "variable", "indicator", "direction", "ties", "points"]


def fixture_framework_frame() -> pd.DataFrame:
    return pd.DataFrame(FRAMEWORK, columns=FRAMEWORK_HEADER)


def fixture_framework():
    framework, problems = framework_from_table(SheetTable("fixture", fixture_framework_frame()))
    # The fixture has 5 variables per dimension, so no warning either.
    assert problems == [], problems
    return check_framework(framework, problems)


def fixture_settings() -> Settings:
    return Settings((("High", 46.0), ("Mid", 40.0)), "Low")


def fixture_values() -> pd.DataFrame:
    return pd.DataFrame(VALUES, index=pd.Index(CITIES, name="city"), dtype="float64")


def fixture_inputs() -> Inputs:
    return Inputs(fixture_framework(), fixture_values(), fixture_settings())


def write_fixture_csvs(folder: Path) -> tuple[Path, Path]:
    """F.csv and V.csv (long format; missing values as absent rows or empty values)."""
    framework_path = folder / "F.csv"
    fixture_framework_frame().assign(extra="ignored").to_csv(framework_path, index=False)
    values_path = folder / "V.csv"
    with values_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["city", "id", "value"])
        for position, city in enumerate(CITIES):
            for identifier, column in VALUES.items():
                value = column[position]
                if math.isnan(value):
                    if position % 2:  # half the gaps as empty values, half as absent rows
                        writer.writerow([city, identifier, ""])
                    continue
                writer.writerow([city, identifier, repr(value)])
    return framework_path, values_path


def type_over(path: Path, sheet: str, cell: str, number) -> None:
    """Type a number over a cell as Excel saves it: the cell's formula (if any) gone, the
    number as its value, every other cell and part as it was (openpyxl would drop the
    cached values of every formula on saving)."""
    from cityopp_xl.adapters.xlsxpackage import Package, replace_parts

    package = Package(path)
    try:
        part = next(entry.part for entry in package.sheets if entry.name == sheet)
        xml = package.read(part).decode("utf-8")
    finally:
        package.close()
    match = re.search(rf'<c r="{cell}"(?P<attributes>[^>]*?)(?:/>|>.*?</c>)', xml, re.S)
    style = re.search(r' s="\d+"', match["attributes"]) if match else None
    new = f'<c r="{cell}"{style.group(0) if style else ""}><v>{number}</v></c>'
    if match is None:
        raise ValueError(f"{sheet}!{cell}: no such cell in the part (only cells written can be typed over here)")
    replace_parts(path, {part: (xml[: match.start()] + new + xml[match.end() :]).encode("utf-8")})
