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


# --------------------------------------------------------------------------- transcription notes

NOTE_COLUMNS = ["note", "table", "city", "figure", "printed", "taken", "what", "evidence"]
_CITY = r"[A-Z][A-Za-z']*"
_NUMBERS = r"\d+(?:/\d+)*"


def _words(text: str) -> list[str]:
    return re.sub(r"[-/]", " ", text.casefold()).split()


def _variable_named(phrase: str, variables: list[str], where: str) -> str:
    """The one variable of ``variables`` whose name holds every word of ``phrase`` as the
    start of one of its words, in order ("R&D intensity" → "R&D investment intensity")."""
    wanted = [w for w in _words(phrase) if w not in ("score", "is", "value", "one")]

    def holds(name: str) -> bool:
        words, at = _words(name), 0
        for word in wanted:
            while at < len(words) and not words[at].startswith(word):
                at += 1
            if at == len(words):
                return False
            at += 1
        return True

    found = [v for v in variables if holds(v)]
    if len(found) != 1:
        raise SystemExit(f"transcription note {where}: '{phrase}' names {len(found)} variables ({found}), expected one")
    return found[0]


def _city_and_phrase(clause: str, cities: list[str]) -> tuple[str | None, str]:
    """Split ``"Harbin's Smart governance"`` into the city it starts with and the rest."""
    for city in sorted(cities, key=len, reverse=True):
        match = re.match(rf"{re.escape(city)}(?:'s)?\s+(.*)", clause)
        if match:
            return city, match.group(1)
    return None, clause


def _block_rows(text: str) -> dict[str, tuple[list[int], int]]:
    """The ``rows`` column: ``City=a/b/c=T; ...`` → {city: ([a, b, c], T)}."""
    rows = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        city, scores, total = re.fullmatch(rf"({_CITY})=({_NUMBERS})=(\d+)", part).groups()
        rows[city] = ([int(s) for s in scores.split("/")], int(total))
    return rows


def note_rows(note: dict, dimensions: dict[str, list[str]], abbreviations: dict[str, str], all_cities: list[str]) -> list[list]:
    """The cells one transcription note concerns, as rows of the notes table: one per
    figure it says was taken otherwise (city, variable or published total, printed token,
    value taken), then one per other city of its block (the city's whole row)."""
    what, table = note["what"], note["dimension"]
    block = _block_rows(note["rows"])
    cities = list(block) or all_cities
    variables = dimensions.get(table, [])
    figures: list[tuple[str, str, str, object]] = []  # city, figure, printed, taken

    def city_of(named: str | None, where: str) -> str:
        if named:
            return named
        if len(block) != 1:
            raise SystemExit(f"transcription note {note['id']}: '{where}' names no city and the block has {len(block)} rows")
        return next(iter(block))

    clauses = [c.strip() for c in re.split(r";\s*|\.\s+(?=[A-Z])", what)]
    for clause in clauses:
        # "<City>'s <variable> printed '11' (a note) -> 1"
        for match in re.finditer(r"(?:^|,\s*)([^,;]*?) printed '(\d+)'(?: \([^)]*\))? -> (\d+)", clause):
            named, phrase = _city_and_phrase(match.group(1), cities)
            city = city_of(named, match.group(0))
            figures.append((city, _variable_named(phrase, variables, note["id"]), match.group(2), int(match.group(3))))
        # "<City>'s <variable> absent -> derived 40" / "one <variable> value absent (derived 1 for <City>)"
        for match in re.finditer(r"([^,;(]*?) absent(?: from the text)? (?:-> derived (\d+)|\(derived (\d+) for ({c})\))".format(c=_CITY), clause):
            named, phrase = _city_and_phrase(match.group(1).strip(), cities)
            city = city_of(named or match.group(4), match.group(0))
            figures.append((city, _variable_named(phrase, variables, note["id"]), "", int(match.group(2) or match.group(3))))
        # Printed dimension totals taken otherwise.
        for match in re.finditer(rf"printed totals of ({_CITY}(?:/{_CITY})*) \(({_NUMBERS})\) are shifted -> ({_NUMBERS})", clause):
            for city, printed, taken in zip(match.group(1).split("/"), match.group(2).split("/"), match.group(3).split("/")):
                figures.append((city, table, printed, int(taken)))
        for match in re.finditer(rf"printed totals of the next \w+ rows are shifted by one row \(({_NUMBERS}) -> ({_NUMBERS})\)", clause):
            for printed, taken in zip(match.group(1).split("/"), match.group(2).split("/")):
                (city,) = [c for c, (_, total) in block.items() if total == int(taken)]
                figures.append((city, table, printed, int(taken)))
        for match in re.finditer(rf"({_CITY}) printed total (\d+) is a shifted copy -> (\d+)|({_CITY}) \(printed total (\d+) shifted -> (\d+)\)", clause):
            city, printed, taken = [g for g in match.groups() if g is not None]
            figures.append((city, table, printed, int(taken)))
        for match in re.finditer(rf"({_CITY})'s printed rank/total \((\d+)/(\d+)\)[^;]*?-> total (\d+)", clause):
            figures.append((match.group(1), table, f"{match.group(3)} (rank {match.group(2)})", int(match.group(4))))
        for match in re.finditer(rf"({_CITY})'s total(?: and rank)? not printed", clause):
            figures.append((match.group(1), table, "", block[match.group(1)][1]))
        # The overall table: "<City> UR field '128 197' -> 128", "UR of <City> taken from line 194",
        # "row 18 <City>, Urban Resilience cell: not present ...= 213", "rows 15/16 totals 1903".
        for match in re.finditer(rf"({_CITY}) ([A-Z]+) field '([^']+)' -> (\d+)", clause):
            figures.append((match.group(1), abbreviations[match.group(2)], match.group(3), int(match.group(4))))
        for match in re.finditer(rf"([A-Z]+) of ({_CITY}) taken from line (\d+)", clause):
            figures.append((match.group(2), abbreviations[match.group(1)], f"on line {match.group(3)}, not on its own", None))
    for match in re.finditer(rf"row \d+ ({_CITY}), ([A-Za-z\- ]+) cell: not present[^=]*= (\d+)", what):
        figures.append((match.group(1), match.group(2), "", int(match.group(3))))
    return figures, block


def transcription_notes(data: Path, framework_frame: pd.DataFrame, cities: list[str], scores: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """transcription_notes.csv as the master's notes table: one row per cell a note
    concerns (see :func:`note_rows`), checked against the edition's scores and totals (the
    build stops when a note does not match them). Notes on no figure (a stray token in a
    header line: ``confirmed_by`` 'not data') are left out."""
    notes = pd.read_csv(data / "transcription_notes.csv", dtype=str, keep_default_na=False)
    dimensions = {d: list(dict.fromkeys(group["variable"])) for d, group in framework_frame.groupby("dimension", sort=False)}
    abbreviations = {n.split("-")[0]: d for n, d in zip(notes["id"], notes["dimension"]) if d in dimensions}
    # Two notes share the id 'O-note': numbered in file order, so that each note's rows
    # carry an id of their own.
    repeated = notes["id"].duplicated(keep=False)
    notes.loc[repeated, "id"] = notes["id"][repeated] + " " + (notes[repeated].groupby("id").cumcount() + 1).astype(str)
    rows = []

    def said(note: dict) -> list[str]:
        # A note's text on its first row only; its further rows leave it blank.
        return ["", ""] if any(row[0] == note["id"] for row in rows) else [note["what"], note["confirmed_by"]]

    for note in notes.to_dict("records"):
        if note["confirmed_by"].strip() == "not data":
            continue
        figures, block = note_rows(note, dimensions, abbreviations, cities)
        what = note["what"]
        table = note["dimension"]
        if table not in dimensions:  # the overall table
            for match in re.finditer(rf"rows (\d+(?:/\d+)+) totals (\d+)", what):
                total = int(match.group(2))
                tied = [c for c in cities if published.at[c, "overall"] == total]
                if len(tied) != len(match.group(1).split("/")):
                    raise SystemExit(f"transcription note {note['id']}: {len(tied)} cities with overall {total}, expected {match.group(1)}")
                token = re.search(r"token '(\d+)'", what)
                figures += [(c, "overall", f"'{token.group(1)}' on one of rows {match.group(1)}" if token else "", total) for c in tied]
            named = [c for m in re.finditer(rf"merged rows ({_CITY}(?:/{_CITY})+) split", what) for c in m.group(1).split("/")]
            sums = re.search(r"row sums ([\d, ]+)\)", what)
            if named and sums and "taken from" not in what:
                for city, total in zip(named, [int(s) for s in sums.group(1).split(",")]):
                    if published.at[city, "overall"] != total:
                        raise SystemExit(f"transcription note {note['id']}: {city}'s published overall is not {total}")
            block = {c: None for c in named}
        for city, figure, printed, taken in figures:
            if figure in dimensions.get(table, []) or figure in scores.columns:
                value = scores.at[city, figure]
            else:
                value = published.at[city, figure]
            if taken is None:
                taken = value
            if value != taken:
                raise SystemExit(f"transcription note {note['id']}: {city} {figure} taken as {taken}, but the edition data holds {value}")
            rows.append([note["id"], table, city, figure, printed, taken, *said(note)])
        concerned = {city for city, *_ in figures}
        for city, entry in block.items():
            if entry is not None:
                given = [int(scores.at[city, v]) for v in dimensions[table]]
                if given != entry[0] or int(published.at[city, table]) != entry[1]:
                    raise SystemExit(f"transcription note {note['id']}: {city}'s row {entry} is not the edition's {given}")
            if city not in concerned:
                rows.append([note["id"], table, city, "", "", None, *said(note)])
        if not any(row[0] == note["id"] for row in rows):
            raise SystemExit(f"transcription note {note['id']}: no figure or city found in its text")
    return pd.DataFrame(rows, columns=NOTE_COLUMNS)


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
    notes = transcription_notes(data, framework_frame, [c for c, _ in cities], values, published)

    about = [
        "The 2025 master workbook: the 50 published variable scores of the report 'Chinese Cities of Opportunity 2025' (PwC China)",
        "as pre-scored inputs (the report publishes scores, not raw indicator values), and its published totals on the Published sheet.",
        "Recalculate reproduces every published dimension total, overall score and rank; the Reconciliation sheet lists every difference.",
        "The Data notes sheet lists every published figure the workbook does not take as printed (the Transcription notes sheet), each linked to its cell.",
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
            transcription=notes,
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
