"""The audit sheets: Indicator scores (values mode), Reconciliation, the Log and Problems."""

from __future__ import annotations

import datetime as _dt
import json

import pandas as pd

from .. import __version__
from ..errors import Problem
from ..model import column_letter
from ..pipeline import Pipeline, input_fingerprints
from ..reconcile import AGREES, summarise
from .layout import SCORE_FORMAT, SHEET_INDICATOR_SCORES, SHEET_LOG, SHEET_PROBLEMS, SHEET_RECONCILIATION, WIDTH_CITY, SheetOutput, _rect, _stamp, tab_color


#: Header of a one-indicator variable's own column on the Indicator scores sheet: under
#: the tie rule ``worst`` its indicator score (ties share the best score) is scored again,
#: so that tied cities share the lowest score of their group instead (3, 3 becomes 2, 2).
HEADER_SINGLE_WORST = "variable score (indicator score re-scored, ties worst)"


#: The note under the Indicator scores sheet's title.
NOTE_INDICATOR_SCORES = (
    "Each indicator scored by rank (best city N, ties share the best score, no value scores 1); a variable of 2 or 3 indicators "
    "re-scores their sum with its tie rule. A one-indicator variable takes its indicator score, except under the tie rule 'worst': "
    "then the indicator score is scored again so that tied cities share the lowest score of their group (indicator 3, 3 gives "
    "variable 2, 2), in its own column. Pre-scored variables show the score given as input."
)


#: Indicator scores when every variable is pre-scored: what the sheet holds, and what prints.
NOTE_ALL_PRESCORED = (
    "Every variable of this edition is pre-scored: the columns below repeat the given variable scores of the data sheets, "
    "so only these notes are printed."
)


#: The columns a printed note spans when the table under it is not printed.
PRINTED_NOTE_COLUMNS = 8


def indicator_sheet(pipeline: Pipeline, run_time: str, after: str) -> SheetOutput:
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
                header.append(f"variable score (sum re-scored, ties {variable.ties})" if len(variable.indicators) > 1 else HEADER_SINGLE_WORST)
                columns.append(variable_scores[variable.name])
    n = len(indicator_scores.index) or len(variable_scores.index)
    rows = [
        ["Indicator scores: every step from indicator to variable"],
        [NOTE_INDICATOR_SCORES],
        [_stamp(run_time)],
        dimension_row,
        variable_row,
        header,
    ]
    lists = [column.tolist() for column in columns]  # one conversion per column, not per cell
    for i, city in enumerate(variable_scores.index):
        rows.append([city, n, *[values[i] for values in lists]])
    last_col = column_letter(len(header))
    print_area = None
    if framework.variables and all(v.prescored for v in framework.variables):
        # Nothing is scored here: the columns repeat the data sheets' given scores, so
        # only the note prints (one page), not pages of copies.
        rows.insert(3, [NOTE_ALL_PRESCORED])
        print_area = f"A1:{column_letter(min(len(header), PRINTED_NOTE_COLUMNS))}4"
    top = len(rows) - len(variable_scores.index) - 2
    return SheetOutput(
        name=SHEET_INDICATOR_SCORES,
        after=after,
        cells=_rect(rows),
        bold=[f"A{top}:{last_col}{top + 2}"],
        wrap=[f"C{top}:{last_col}{top + 2}"],
        number_formats={f"C{top + 3}:{last_col}{top + 2 + len(variable_scores.index)}": SCORE_FORMAT},
        print_title_rows=None if print_area else f"{top}:{top + 2}",
        widths={"A": WIDTH_CITY, "B": 5} | {column_letter(3 + i): 14 for i in range(len(columns))},
        freeze=f"C{top + 3}",
        print_area=print_area,
    )


def reconciliation_sheet(reconciliation: pd.DataFrame, run_time: str, after: str) -> SheetOutput:
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
    printed = len(rows)  # the summary and the differences; the agreeing rows are not printed
    rows.append([])
    rows.append([f"All {len(reconciliation)} comparisons (not printed: every difference is listed above)"])
    all_header_row = len(rows) + 1
    rows.append(header)
    # A column at a time (itertuples walks the text columns value by value through pandas).
    fields = ("figure", "city", "computed", "published", "difference", "published_components", "status")
    rows += [list(row) for row in zip(*(reconciliation[c].to_numpy(dtype=object).tolist() for c in fields))]
    summary_rows = len(summary)
    diff_header_row = 4 + summary_rows + 3
    return SheetOutput(
        name=SHEET_RECONCILIATION,
        after=after,
        cells=_rect(rows),
        bold=[f"A4:E4", f"A{diff_header_row - 1}:G{diff_header_row}", f"A{all_header_row - 1}:G{all_header_row}"],
        # Differences signed (+4, -4), the figures as whole numbers.
        number_formats={
            f"C{diff_header_row + 1}:D{len(rows)}": "0",
            f"E{diff_header_row + 1}:E{len(rows)}": "+0;-0;0",
            f"F{diff_header_row + 1}:F{len(rows)}": "0",
        },
        wrap=[f"A{diff_header_row}:G{diff_header_row}", f"A{all_header_row}:G{all_header_row}"],
        widths={"A": 26, "B": WIDTH_CITY, "C": 11, "D": 11, "E": 11, "F": 13, "G": 64},
        freeze="A5",
        print_area=f"A1:G{printed}",
    )


def log_sheet(pipeline: Pipeline, problems: list[Problem], reconciliation: pd.DataFrame, run_time: str, source: str, after: str, formulas: bool = False) -> SheetOutput:
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
        ["output", "live formulas (score sheets recalculate in the spreadsheet)" if formulas else "values"],
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
    printed = len(rows)  # the run's facts; the steps' parameters and the copies below are for the add-in
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
        widths={"A": 48, "B": 40, "C": 18, "D": 18, "E": 40},
        print_area=f"A1:E{printed}",
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
        wrap=[f"A5:D{max(len(rows), 5)}"],  # what was found and expected, in full; each row level at the top
        freeze="A5",
        tab_color=tab_color(SHEET_PROBLEMS),
    )


def _user() -> str:
    import getpass  # once a run

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name on some hosts (containers, services)
        return ""
