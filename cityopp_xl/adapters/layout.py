"""The master workbook's layout: sheet names, header rows, and what each output sheet holds.

Sheet names are spelled only here. Readers hand this module the 2-D values of a sheet
(one bulk read) and get :class:`~cityopp_xl.model.SheetTable` objects back; writers get
:class:`SheetOutput` objects (a 2-D block of values plus a bounded list of formats) and
write each in one bulk call. The openpyxl and xlwings adapters therefore write exactly
the same cells.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from .. import __version__
from ..errors import Problem
from ..model import SheetTable, column_letter
from ..pipeline import Pipeline, input_fingerprints
from ..reconcile import AGREES, reconcile, summarise

# --------------------------------------------------------------------------- sheet names

SHEET_ABOUT = "About"
SHEET_FRAMEWORK = "Framework"
SHEET_CITIES = "Cities"
SHEET_SETTINGS = "Settings"
SHEET_PUBLISHED = "Published"
SHEET_OVERALL = "Overall"
SHEET_INDICATOR_SCORES = "Indicator scores"
SHEET_RECONCILIATION = "Reconciliation"
SHEET_LOG = "Log"
SHEET_PROBLEMS = "Problems"
SHEET_ANALYSIS = "Analysis"
SHEET_INSIGHTS = "Insights"

#: Input sheets the research team edits, in workbook order (data sheets follow them).
INPUT_SHEETS = (SHEET_FRAMEWORK, SHEET_CITIES, SHEET_SETTINGS, SHEET_PUBLISHED)
#: Fixed output sheets the add-in owns and replaces on every run (after the score sheets).
FIXED_OUTPUT_SHEETS = (
    SHEET_OVERALL,
    SHEET_ANALYSIS,
    SHEET_INSIGHTS,
    SHEET_INDICATOR_SCORES,
    SHEET_RECONCILIATION,
    SHEET_LOG,
    SHEET_PROBLEMS,
)

_DATA_SHEET = re.compile(r"D(\d+) data")
_SCORE_SHEET = re.compile(r"D(\d+) scores")

#: First header cell of each input table (the header row is found by looking for it).
FIRST_HEADERS = {
    SHEET_FRAMEWORK: "id",
    SHEET_CITIES: "city",
    SHEET_SETTINGS: "setting",
    SHEET_PUBLISHED: "city",
}
DATA_FIRST_HEADER = "city"
#: Header rows: title (row 1), a note (row 2), then headers. Data sheets have a row of
#: variable names (row 3) above the table header (row 4).
TABLE_HEADER_ROW = 3
DATA_HEADER_ROW = 4
HEADER_SEARCH_ROWS = 12

TITLE_FONT_SIZE = 14
WIDTH_CITY = 16
WIDTH_SCORE = 12


def data_sheet(position: int) -> str:
    """Name of dimension ``position``'s (1-based, framework order) input sheet."""
    return f"D{position} data"


def score_sheet(position: int) -> str:
    """Name of dimension ``position``'s score sheet, written right after its data sheet."""
    return f"D{position} scores"


def is_owned(sheet: str) -> bool:
    """Whether the add-in owns (and so may replace) a sheet of this name."""
    return sheet in FIXED_OUTPUT_SHEETS or bool(_SCORE_SHEET.fullmatch(sheet))


def data_table_name(position: int) -> str:
    return f"Data_D{position}"


# --------------------------------------------------------------------------- reading


def find_table(sheet: str, rows: list[list], first_header: str) -> SheetTable | None:
    """Locate a table in a sheet's values: the first row (of the first 12) whose first
    cell is ``first_header`` (case-insensitive) is the header; the body runs to the last
    row with any value. Columns are the header texts (blank headers get ``_colN``)."""
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if row and cell_text(row[0]).casefold() == first_header.casefold():
            header = [cell_text(v) for v in row]
            while header and not header[-1]:
                header.pop()
            width = len(header)
            body = [list(r[:width]) + [None] * (width - len(r[:width])) for r in rows[number + 1 :]]
            while body and all(_blank(v) for v in body[-1]):
                body.pop()
            columns = [h if h else f"_col{i + 1}" for i, h in enumerate(header)]
            frame = pd.DataFrame(body, columns=columns, dtype="object") if body else pd.DataFrame(columns=columns, dtype="object")
            return SheetTable(sheet=sheet, frame=frame, first_row=number + 2, first_col=1)
    return None


def missing_table_problem(sheet: str, first_header: str) -> Problem:
    return Problem(
        f"{sheet}!A1",
        f"no header row starting with '{first_header}' in the first {HEADER_SEARCH_ROWS} rows",
        f"a table whose first header cell is '{first_header}'",
    )


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and math.isnan(value))


# --------------------------------------------------------------------------- writing


@dataclass
class SheetOutput:
    """One output sheet: values from A1, and a bounded set of formats.

    ``after`` names the sheet it follows. ``number_formats`` and ``bold`` hold A1 ranges;
    ``widths`` maps column letters to widths; ``freeze`` is the top-left cell of the
    scrolling pane.
    """

    name: str
    after: str
    cells: list[list]
    bold: list[str] = field(default_factory=list)
    number_formats: dict[str, str] = field(default_factory=dict)
    widths: dict[str, float] = field(default_factory=dict)
    freeze: str | None = None
    title_size: int = TITLE_FONT_SIZE
    #: Header ranges whose text wraps (long variable and dimension names).
    wrap: list[str] = field(default_factory=list)
    #: True when strings starting with "=" are formulas (live-formula mode); otherwise
    #: every string is written as text.
    formulas: bool = False
    #: Rows repeated at the top of every printed page (e.g. "4:4"); pages are landscape,
    #: one page wide.
    print_title_rows: str | None = None
    #: A1 ranges shaded as heatmaps (correlation matrices): a 3-colour scale, -1 red,
    #: 0 white, +1 green, on each range.
    color_scales: list[str] = field(default_factory=list)
    #: A1 ranges of scores shaded as heatmaps: lowest red, median yellow, highest green.
    heatmaps: list[str] = field(default_factory=list)


def cell_value(value):
    """A value as a worksheet cell holds it: int, float, str, bool or None (for NaN)."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else (int(value) if value.is_integer() and abs(value) < 2**53 else value)
    if hasattr(value, "item"):  # numpy scalar
        return cell_value(value.item())
    if value is pd.NA:
        return None
    return value


def _rect(rows: list[list]) -> list[list]:
    width = max(len(r) for r in rows)
    return [[cell_value(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _sorted_by_rank(frame: pd.DataFrame, rank: pd.Series, order: list[str]) -> pd.DataFrame:
    # Ties keep edition order, as the report lists them.
    position = pd.Series(range(len(order)), index=order)
    return frame.assign(_rank=rank, _pos=position.reindex(frame.index)).sort_values(["_rank", "_pos"], kind="stable")


def _stamp(run_time: str) -> str:
    return f"Written by cityopp-xl {__version__} on {run_time}. Replaced on every Recalculate: edit the input sheets, not this one."


def render_outputs(pipeline: Pipeline, problems: list[Problem], *, run_time: str | None = None, source: str = "") -> list[SheetOutput]:
    """Every output sheet of a run, in the order they are placed.

    ``run_time`` is the ISO time to stamp (now, by default); ``source`` names the workbook
    in the log.
    """
    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    framework = pipeline.framework
    cities = list(pipeline["raw"].index)
    outputs: list[SheetOutput] = []
    for position, dimension in enumerate(framework.dimensions, start=1):
        outputs.append(_dimension_sheet(pipeline, position, dimension, cities, run_time))
    last = score_sheet(len(framework.dimensions))
    outputs.append(_overall_sheet(pipeline, cities, run_time, after=last))
    from .analysis_sheets import render_analysis  # analysis_sheets imports this module

    analysis = render_analysis(pipeline, run_time, after=SHEET_OVERALL)
    outputs += analysis
    outputs.append(_indicator_sheet(pipeline, run_time, after=analysis[-1].name if analysis else SHEET_OVERALL))
    after = SHEET_INDICATOR_SCORES
    reconciliation = reconcile(pipeline)
    if len(reconciliation):
        outputs.append(_reconciliation_sheet(reconciliation, run_time, after=after))
        after = SHEET_RECONCILIATION
    outputs.append(_log_sheet(pipeline, problems, reconciliation, run_time, source, after=after))
    if problems:
        outputs.append(problems_sheet(problems, run_time, after=SHEET_LOG))
    return outputs


def _dimension_sheet(pipeline: Pipeline, position: int, dimension: str, cities: list[str], run_time: str) -> SheetOutput:
    framework = pipeline.framework
    variables = [v.name for v in framework.variables_of(dimension)]
    n = len(cities)
    scores = pipeline["variable_scores"][variables].copy()
    scores["Total"] = pipeline["dimension_scores"][dimension]
    ranked = _sorted_by_rank(scores, pipeline["dimension_ranks"][dimension], cities)
    header = ["Rank", "City", *variables, "Total"]
    rows = [
        [f"{dimension}: scores"],
        [f"Variable scores 1 to {n} (best city {n}); total = sum of the {len(variables)} variable scores (at most {n * len(variables)}). Tied totals share the better rank."],
        [_stamp(run_time)],
        header,
    ]
    for city, row in ranked.iterrows():
        rows.append([row["_rank"], city, *[row[v] for v in variables], row["Total"]])
    last_col = column_letter(len(header))
    return SheetOutput(
        name=score_sheet(position),
        after=data_sheet(position),
        cells=_rect(rows),
        bold=[f"A4:{last_col}4", f"{last_col}5:{last_col}{4 + n}"],
        widths={"A": 6, "B": WIDTH_CITY} | {column_letter(3 + i): WIDTH_SCORE for i in range(len(variables) + 1)},
        freeze="C5",
        wrap=[f"A4:{last_col}4"],
        heatmaps=[f"{column_letter(3 + i)}5:{column_letter(3 + i)}{4 + n}" for i in range(len(variables) + 1)],
        print_title_rows="4:4",
    )


def _overall_sheet(pipeline: Pipeline, cities: list[str], run_time: str, after: str) -> SheetOutput:
    framework = pipeline.framework
    dimensions = list(framework.dimensions)
    n = len(cities)
    overall = pipeline["overall"]
    table = pipeline["dimension_scores"].copy()
    table["Total"] = overall["overall"]
    table["Tier"] = overall["tier"]
    ranked = _sorted_by_rank(table, overall["rank"], cities)
    tiers = "; ".join(f"{label}: {int(minimum) if float(minimum).is_integer() else minimum} or more" for label, minimum in pipeline.settings.tiers)
    header = ["Rank", "City", *dimensions, "Total", "Tier"]
    rows = [
        ["Overall scores"],
        [f"{len(dimensions)} dimension scores (each at most {n * len(framework.variables_of(dimensions[0]))}); total = their sum, no weights. Tied totals share the better rank. Tiers: {tiers}; otherwise {pipeline.settings.other_tier}."],
        [_stamp(run_time)],
        header,
    ]
    for city, row in ranked.iterrows():
        rows.append([row["_rank"], city, *[row[d] for d in dimensions], row["Total"], row["Tier"]])
    total_col = column_letter(len(header) - 1)
    return SheetOutput(
        name=SHEET_OVERALL,
        after=after,
        cells=_rect(rows),
        bold=[f"A4:{column_letter(len(header))}4", f"{total_col}5:{total_col}{4 + n}"],
        wrap=[f"A4:{column_letter(len(header))}4"],
        heatmaps=[f"{column_letter(3 + i)}5:{column_letter(3 + i)}{4 + n}" for i in range(len(dimensions) + 1)],
        print_title_rows="4:4",
        widths={"A": 6, "B": WIDTH_CITY} | {column_letter(3 + i): WIDTH_SCORE for i in range(len(dimensions) + 1)} | {column_letter(len(header)): 13},
        freeze="C5",
    )


def _indicator_sheet(pipeline: Pipeline, run_time: str, after: str) -> SheetOutput:
    framework = pipeline.framework
    indicator_scores = pipeline["indicator_scores"]
    variable_scores = pipeline["variable_scores"]
    dimension_row, variable_row, header = ["", ""], ["", ""], ["City", "N"]
    columns: list[pd.Series] = []
    for dimension in framework.dimensions:
        for variable in framework.variables_of(dimension):
            if variable.prescored:
                dimension_row.append(dimension)
                variable_row.append(variable.name)
                header.append("given variable score")
                columns.append(variable_scores[variable.name])
                continue
            for indicator in variable.indicators:
                dimension_row.append(dimension)
                variable_row.append(variable.name)
                header.append(f"{indicator.id} {indicator.name} [{indicator.direction}]")
                columns.append(indicator_scores[indicator.id])
            if len(variable.indicators) > 1 or variable.ties == "worst":
                dimension_row.append(dimension)
                variable_row.append(variable.name)
                header.append(f"variable score (sum re-scored, ties {variable.ties})" if len(variable.indicators) > 1 else "variable score (ties worst)")
                columns.append(variable_scores[variable.name])
    n = len(indicator_scores.index) or len(variable_scores.index)
    rows = [
        ["Indicator scores: every step from indicator to variable"],
        ["Each indicator scored by rank (best city N, ties share the best score, no value scores 1); a variable of 2 or 3 indicators re-scores their sum. Pre-scored variables show the score given as input."],
        [_stamp(run_time)],
        dimension_row,
        variable_row,
        header,
    ]
    for i, city in enumerate(variable_scores.index):
        rows.append([city, n, *[column.iloc[i] for column in columns]])
    last_col = column_letter(len(header))
    return SheetOutput(
        name=SHEET_INDICATOR_SCORES,
        after=after,
        cells=_rect(rows),
        bold=[f"A4:{last_col}6"],
        wrap=[f"C4:{last_col}6"],
        print_title_rows="4:6",
        widths={"A": WIDTH_CITY, "B": 5} | {column_letter(3 + i): 14 for i in range(len(columns))},
        freeze="C7",
    )


def _reconciliation_sheet(reconciliation: pd.DataFrame, run_time: str, after: str) -> SheetOutput:
    summary = summarise(reconciliation)
    differences = reconciliation[reconciliation["status"] != AGREES]
    header = ["Figure", "City", "Computed", "Published", "Difference", "Published components", "Status"]
    rows = [
        ["Reconciliation: computed against published figures"],
        ["Every published dimension total, overall score and overall rank compared with the computed one. 'Published components' is what the published figure's own parts add up to (variable scores, dimension totals, or the rank of the published overall score)."],
        [_stamp(run_time)],
        ["Figures", "Compared", "Agree", "Differ", "Published inconsistent"],
    ]
    for _, row in summary.iterrows():
        rows.append([row["figures"], row["compared"], row["agree"], row["differ"], row["published inconsistent"]])
    rows.append([])
    rows.append([f"Differences ({len(differences)})" if len(differences) else "Differences: none"])
    rows.append(header)
    for _, row in differences.iterrows():
        rows.append([row[c] for c in ("figure", "city", "computed", "published", "difference", "published_components", "status")])
    rows.append([])
    rows.append([f"All {len(reconciliation)} comparisons"])
    all_header_row = len(rows) + 1
    rows.append(header)
    for row in reconciliation.itertuples(index=False):
        rows.append([row.figure, row.city, row.computed, row.published, row.difference, row.published_components, row.status])
    summary_rows = len(summary)
    diff_header_row = 4 + summary_rows + 3
    return SheetOutput(
        name=SHEET_RECONCILIATION,
        after=after,
        cells=_rect(rows),
        bold=[f"A4:E4", f"A{diff_header_row - 1}:G{diff_header_row}", f"A{all_header_row - 1}:G{all_header_row}"],
        number_formats={f"C{diff_header_row + 1}:F{len(rows)}": "0;-0;0"},
        widths={"A": 26, "B": WIDTH_CITY, "C": 11, "D": 11, "E": 11, "F": 13, "G": 58},
        freeze="A5",
    )


def _log_sheet(pipeline: Pipeline, problems: list[Problem], reconciliation: pd.DataFrame, run_time: str, source: str, after: str) -> SheetOutput:
    inputs = pipeline.inputs
    prints = input_fingerprints(inputs)
    errors = sum(p.blocking for p in problems)
    rows = [
        ["Run log"],
        ["Written on every Recalculate. The fingerprints identify the inputs that produced these scores."],
        [_stamp(run_time)],
        ["Item", "Value"],
        ["run time", run_time],
        ["user", _user()],
        ["package", f"cityopp-xl {__version__}"],
        ["workbook", source],
        ["cities (N)", len(inputs.values.index)],
        ["dimensions", len(pipeline.framework.dimensions)],
        ["variables", len(pipeline.framework.variables)],
        ["indicators", len(pipeline.framework.indicators)],
        ["pre-scored variables", sum(v.prescored for v in pipeline.framework.variables)],
        ["problems: errors", errors],
        ["problems: warnings", len(problems) - errors],
        ["reconciliation: differences", int((reconciliation["status"] != AGREES).sum()) if len(reconciliation) else 0],
        ["tiers", json.dumps(pipeline.settings.to_dict(), ensure_ascii=False)],
    ]
    for name, value in prints.items():
        rows.append([f"fingerprint: {name}", value])
    rows.append([])
    rows.append(["Step", "Parameters", "Inputs", "Output", "Rows", "Columns", "Missing", "Warnings"])
    step_header = len(rows)
    for record in pipeline.log:
        params = json.dumps(record.params, ensure_ascii=False)
        rows.append(
            [record.step, params[:32000], ", ".join(record.inputs), record.output, record.shape[0], record.shape[1], record.missing, " | ".join(record.warnings)[:32000]]
        )
    rows.append([])
    rows.append(["Variable", "Dimension", "Tie rule", "Pre-scored", "Indicators and directions"])
    rules_header = len(rows)
    for variable in pipeline.framework.variables:
        rows.append(
            [
                variable.name,
                variable.dimension,
                variable.ties,
                "yes" if variable.prescored else "no",
                "; ".join(
                    f"{i.id} {i.direction}" + (f" points {','.join(str(int(p)) if float(p).is_integer() else str(p) for p in i.direction.points)}" if i.direction.points else "")
                    for i in variable.indicators
                ),
            ]
        )
    return SheetOutput(
        name=SHEET_LOG,
        after=after,
        cells=_rect(rows),
        bold=["A4:B4", f"A{step_header}:H{step_header}", f"A{rules_header}:E{rules_header}"],
        widths={"A": 30, "B": 40, "C": 18, "D": 18, "E": 40},
    )


def problems_sheet(problems: list[Problem], run_time: str | None = None, after: str = SHEET_LOG) -> SheetOutput:
    """The Problems sheet: every problem with its cell, errors first."""
    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    ordered = sorted(problems, key=lambda p: not p.blocking)
    errors = sum(p.blocking for p in problems)
    rows = [
        ["Problems"],
        [f"{errors} error(s) block scoring; {len(problems) - errors} warning(s) do not. Fix each cell named below, then Recalculate."],
        [_stamp(run_time)],
        ["Cell", "Found", "Expected", "Severity"],
    ]
    rows += [[p.where, p.found, p.expected, p.severity] for p in ordered]
    return SheetOutput(
        name=SHEET_PROBLEMS,
        after=after,
        cells=_rect(rows),
        bold=["A4:D4"],
        widths={"A": 24, "B": 50, "C": 60, "D": 10},
        freeze="A5",
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name on some hosts (containers, services)
        return ""
