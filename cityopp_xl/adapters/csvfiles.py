"""The workbook-free path: a framework CSV and a long-format values CSV in, score CSVs out.

Contract (``cityopp score --framework F.csv --data V.csv --out DIR``):

* F.csv: ``id,dimension,variable,indicator,direction`` and optionally ``ties``
  (best|worst), ``points`` (comma list, for ``tiers``), ``prescored`` (yes/no); other
  columns are ignored. Rows are in framework order.
* V.csv: ``city,id,value``; a missing row or an empty value is a missing value; the
  cities are those in V.csv, in order of first appearance. For a pre-scored variable the
  id is the variable's name or any of its indicator ids, and the value is its score.
* DIR/indicator_scores.csv ``id,city,score``; DIR/variable_scores.csv
  ``dimension,variable,city,score``; DIR/dimension_scores.csv ``city``, one column per
  dimension, ``overall``, ``overall_rank``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..errors import InputError, Problem
from ..model import Framework, SheetTable, framework_from_table
from ..pipeline import Pipeline
from ..validate import Inputs, find_nothing_to_score, parse_number


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(Problem(str(path), "no such file", "a CSV file")) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(Problem(str(path), f"a file that is not readable CSV ({exc})", "a UTF-8 CSV file with a header row")) from None


def read_framework_csv(path: Path) -> tuple[Framework | None, list[Problem]]:
    """The framework from F.csv (header on line 1)."""
    frame = _read_csv(Path(path))
    frame.columns = [c.strip().lower() for c in frame.columns]
    return framework_from_table(SheetTable(Path(path).name, frame, first_row=2, style="csv"))


def read_values_csv(path: Path, framework: Framework) -> tuple[Inputs | None, list[Problem]]:
    """Values from V.csv in long format, pivoted to one column per framework input column."""
    path = Path(path)
    frame = _read_csv(path)
    frame.columns = [c.strip().lower() for c in frame.columns]
    table = SheetTable(path.name, frame, first_row=2, style="csv")
    problems: list[Problem] = []
    missing = [c for c in ("city", "id", "value") if c not in frame.columns]
    if missing:
        problems.append(Problem(table.header_row_address(), f"no column {', '.join(repr(m) for m in missing)} in the header", "the columns city,id,value"))
        return None, problems
    columns = framework.input_columns()
    key_of = {}
    for variable in framework.variables:
        if variable.prescored:
            key_of[variable.name] = variable.name
            key_of.update({i.id: variable.name for i in variable.indicators})
        else:
            key_of.update({i.id: i.id for i in variable.indicators})
    cities: dict[str, None] = {}
    cells: dict[tuple[str, str], float] = {}
    where: dict[tuple[str, str], str] = {}
    for row in frame.index:
        city = frame.at[row, "city"].strip()
        identifier = frame.at[row, "id"].strip()
        if not city:
            problems.append(Problem(table.address(row, "city"), "a blank city", "a city name"))
            continue
        cities.setdefault(city, None)
        key = key_of.get(identifier)
        if key is None:
            problems.append(Problem(table.address(row, "id"), f"id '{identifier}'", "an indicator id of the framework"))
            continue
        number, found, severity = parse_number(frame.at[row, "value"])
        if found is not None:
            problems.append(Problem(table.address(row, "value"), found, "a number, or an empty value for no value", severity))
        if (city, key) in where:
            problems.append(Problem(table.address(row, "value"), f"a second value for city '{city}', id '{identifier}' (first at {where[(city, key)]})", "one value per city and indicator"))
            continue
        where[(city, key)] = table.address(row, "value")
        if not math.isnan(number):
            cells[(city, key)] = number
    order = list(cities)
    n = len(order)
    if n < 2:
        problems.append(Problem(path.name, f"{n} cit{'y' if n == 1 else 'ies'}", "at least 2 cities to rank"))
    values = pd.DataFrame(math.nan, index=pd.Index(order, name="city"), columns=columns, dtype="float64")
    for (city, key), number in cells.items():
        values.at[city, key] = number
    if n >= 2:
        problems += find_nothing_to_score(values, path.name)
    for variable in framework.variables:
        if variable.prescored:
            for city in order:
                score = values.at[city, variable.name]
                if math.isnan(score) or not float(score).is_integer() or not 1 <= score <= n:
                    problems.append(
                        Problem(where.get((city, variable.name), f"{path.name} (city '{city}')"), f"score {'blank' if math.isnan(score) else score} for pre-scored '{variable.name}'", f"a whole score from 1 to {n}")
                    )
        else:
            for indicator in variable.indicators:
                if not indicator.direction.ranked:
                    top = len(indicator.direction.points)
                    for city in order:
                        tier = values.at[city, indicator.id]
                        if not math.isnan(tier) and (not float(tier).is_integer() or not 1 <= tier <= top):
                            problems.append(Problem(where[(city, indicator.id)], f"tier {tier:g}", f"a whole tier number from 1 to {top}"))
    if any(p.blocking for p in problems):
        return None, problems
    return Inputs(framework, values, addresses=where), problems


def write_score_csvs(pipeline: Pipeline, out: Path) -> list[Path]:
    """Write the three score files into ``out`` (created if needed); returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    framework = pipeline.framework
    indicator = pipeline["indicator_scores"].rename_axis("city").reset_index().melt(id_vars="city", var_name="id", value_name="score")
    indicator = indicator[["id", "city", "score"]]
    variables = pipeline["variable_scores"].rename_axis("city").reset_index().melt(id_vars="city", var_name="variable", value_name="score")
    dimension_of = {v.name: v.dimension for v in framework.variables}
    variables.insert(0, "dimension", variables["variable"].map(dimension_of))
    dimensions = pipeline["dimension_scores"].copy()
    dimensions["overall"] = pipeline["overall"]["overall"]
    dimensions["overall_rank"] = pipeline["overall"]["rank"]
    paths = [out / "indicator_scores.csv", out / "variable_scores.csv", out / "dimension_scores.csv"]
    indicator.to_csv(paths[0], index=False)
    variables[["dimension", "variable", "city", "score"]].to_csv(paths[1], index=False)
    dimensions.rename_axis("city").reset_index().to_csv(paths[2], index=False)
    return paths
