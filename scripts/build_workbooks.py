"""Build the shipped workbooks from the 2025 edition data (never edit them by hand).

    python scripts/build_workbooks.py [--data ../shared/data/cco2025]

Writes:
  cityopp_xl/editions/cco2025/framework.csv, cities.csv   the full 2025 framework (with tie
      rules and the tiers points table of METHOD.md) and cities, packaged for `cityopp new`;
  workbook/CityOpp2025.xlsm           the 2025 master: published variable scores as
      pre-scored inputs, published totals for reconciliation, the CityOpp ribbon, and
      the score sheets of one Recalculate (so it opens with the 2025 scores);
  workbook/CityOpp-template.xlsm      a blank template with the full 66-indicator framework.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cityopp_xl.adapters import macros, presentation  # noqa: E402
from cityopp_xl.adapters.template import write_template  # noqa: E402
from cityopp_xl.adapters.xlsx import recalc_file, write_input_workbook  # noqa: E402
from cityopp_xl.model import SheetTable, check_framework, framework_from_table  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cco2025"
EDITION = ROOT / "cityopp_xl" / "editions" / "cco2025"
MASTER = ROOT / "workbook" / "CityOpp2025.xlsm"
TEMPLATE = ROOT / "workbook" / "CityOpp-template.xlsm"

# METHOD.md section 3: the two 2025 variables whose tied groups take the lowest score.
WORST_TIE_VARIABLES = ("Business carrying capacity", "Passenger and freight transport scale")
# METHOD.md section 2: Urban collaboration capacity, tiers 1..7.
TIER_POINTS = "60,50,40,30,20,10,5"
# The master's Recalculate is stamped with a fixed time and builder, so that a rebuild
# gives the same sheets whoever runs it, whenever.
BUILD_TIME = "2025-01-01T00:00:00+00:00"
BUILDER = "scripts/build_workbooks.py"
FRAMEWORK_COLUMNS = ["id", "dimension", "variable", "indicator", "direction", "ties", "points", "prescored", "unit", "data_year", "source"]
# The report's "Variables and indicators" table has no unit column: an indicator's unit is
# taken from its name, and only where the name states it. The first rule whose pattern the
# name matches (case-insensitive) gives the unit; a name no rule matches ("Total GDP",
# "Freight turnover volume") keeps a blank unit. Quotients are read before counts, so
# "Number of X / GDP" would be a proportion, not a number.
UNIT_RULES = (
    (r"\bper 10000 people\b", "per 10,000 people"),
    (r"\bper thousand people\b", "per 1,000 people"),
    (r"\bper 10 billion GDP\b", "per 10 billion GDP"),
    (r"\bproportion of GDP$", "proportion of GDP"),
    (r"(/ GDP|\bto GDP)$", "ratio to GDP"),
    (r"/ permanent resident population$", "per resident"),
    (r"^Ratio of |^\(?[^/]+ / ", "ratio"),
    (r"^Proportion of |\bproportion in total\b", "proportion"),
    (r"\bgrowth rate\b", "growth rate"),
    (r"\brate\b", "rate"),
    (r"^Position in ", "position in a ranking"),
    (r"\btier\b.*\(1 = highest\)", "tier (1 = highest)"),
    (r"\bindex score$", "index score"),
    (r"^(Total )?number of |\b(companies|enterprises|factories|visits)\b", "number"),
    (r"\bper capita\b", "per capita"),
)


def indicator_unit(name: str) -> str:
    """The unit an indicator's name states (:data:`UNIT_RULES`), or "" when it states none."""
    for pattern, unit in UNIT_RULES:
        if re.search(pattern, name, flags=re.IGNORECASE):
            return unit
    return ""


def edition_framework(data: Path) -> pd.DataFrame:
    """framework.csv with the tie rules and points table the method declares."""
    frame = pd.read_csv(data / "framework.csv", dtype=str, keep_default_na=False)
    frame["ties"] = frame["variable"].map(lambda v: "worst" if v in WORST_TIE_VARIABLES else "best")
    frame["points"] = frame["direction"].map(lambda d: TIER_POINTS if d == "tiers" else "")
    frame["prescored"] = "no"
    frame["unit"] = frame["indicator"].map(indicator_unit)
    return frame[FRAMEWORK_COLUMNS]


def build(data: Path) -> None:
    EDITION.mkdir(parents=True, exist_ok=True)
    framework_frame = edition_framework(data)
    framework_frame.to_csv(EDITION / "framework.csv", index=False, lineterminator="\n")
    cities_frame = pd.read_csv(data / "cities.csv", dtype=str, keep_default_na=False)
    cities_frame[["city", "province"]].to_csv(EDITION / "cities.csv", index=False, lineterminator="\n")
    cities = list(cities_frame[["city", "province"]].itertuples(index=False, name=None))

    prescored_frame = framework_frame.assign(prescored="yes")
    framework, problems = framework_from_table(SheetTable("framework.csv", prescored_frame))
    framework = check_framework(framework, problems)
    scores = pd.read_csv(data / "variable_scores.csv")
    values = scores.pivot(index="city", columns="variable", values="score").reindex([c for c, _ in cities]).astype("float64")
    published = pd.read_csv(data / "published_totals.csv").set_index("city").reindex([c for c, _ in cities])

    about = [
        "The 2025 master workbook: the 50 published variable scores of the report 'Chinese Cities of Opportunity 2025' (PwC China)",
        "as pre-scored inputs (the report publishes scores, not raw indicator values), and its published totals on the Published sheet.",
        "Recalculate reproduces every published dimension total, overall score and rank; the Reconciliation sheet lists every difference.",
    ]
    MASTER.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "master.xlsx"
        write_input_workbook(
            plain,
            framework,
            cities,
            values=values,
            published=published,
            title="Chinese Cities of Opportunity 2025: master workbook",
            about=about,
        )
        macros.make_macro_enabled(plain, MASTER)
    recalculate(MASTER)
    # The City profile and Charts formulas saved with the values they show for the scores.
    presentation.cache_formula_values(MASTER, framework, [c for c, _ in cities])
    write_template(TEMPLATE, EDITION / "framework.csv", EDITION / "cities.csv", title="Chinese Cities of Opportunity: data template (2025 framework)")
    for path in (EDITION / "framework.csv", EDITION / "cities.csv", MASTER, TEMPLATE):
        print(f"wrote {path.relative_to(ROOT)}")


def recalculate(path: Path) -> None:
    """Recalculate the master as a user would, stamped with BUILD_TIME and BUILDER (the
    Log sheet names the login that ran it, which getpass reads from LOGNAME first)."""
    saved = os.environ.get("LOGNAME")
    os.environ["LOGNAME"] = BUILDER
    try:
        recalc_file(path, run_time=BUILD_TIME)
    finally:
        if saved is None:
            del os.environ["LOGNAME"]
        else:
            os.environ["LOGNAME"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the 2025 edition data (default: %(default)s)")
    args = parser.parse_args()
    build(args.data)


if __name__ == "__main__":
    main()
