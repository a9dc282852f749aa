"""The score sheets (``Dn scores``) and Overall in values mode, placed by
:data:`~.layout.SCORE_GEOMETRY`."""

from __future__ import annotations

import math

import pandas as pd

from ..model import tuples
from ..pipeline import Pipeline
from ..reconcile import PUBLISHED_INCONSISTENT
from .layout import SCORE_FORMAT, SCORE_GEOMETRY, SHEET_OVERALL, SHEET_RECONCILIATION, TIES_ORDER, SheetOutput, data_sheet, _ranked_rows, _rect, score_sheet, _sorted_by_rank, _stamp, _table_rows
from .printing import NOTE_FILL


def dimension_sheet(pipeline: Pipeline, position: int, dimension: str, cities: list[str], run_time: str) -> SheetOutput:
    """Dimension ``position``'s score sheet: each city's variable scores, Total and rank,
    sorted by rank (ties in edition order)."""
    framework = pipeline.framework
    variables = [v.name for v in framework.variables_of(dimension)]
    n = len(cities)
    variable_scores = pipeline["variable_scores"]
    columns = {name: variable_scores[name] for name in variables}
    columns["Total"] = pipeline["dimension_scores"][dimension]
    header = ["Rank", "City", *variables, "Total"]
    rows = SCORE_GEOMETRY.top(
        [
            [f"{dimension}: scores"],
            [
                f"Variable scores 1 to {n} (best city {n}); total = SUM of the {len(variables)} variable scores (at most {n * len(variables)}); "
                f"Rank = RANK of the total. Formulas: trace a total to its variable scores and a given score to its data cell. {TIES_ORDER}"
            ],
            [_stamp(run_time)],
        ],
        header,
    )
    rows += _ranked_rows(columns, pipeline["dimension_ranks"][dimension], cities)
    return score_table_output(score_sheet(position), data_sheet(position), _rect(rows), n, scores=len(variables) + 1)


def score_table_output(name: str, after: str, cells: list[list], n: int, *, scores: int, text: int = 0, **fields) -> SheetOutput:
    """A score sheet or Overall (:data:`SCORE_GEOMETRY`) of ``n`` cities: ``scores`` score
    columns (the last one the Total, in bold) and ``text`` text columns after them; the
    header row wraps, ranks and scores show as whole numbers, each score column is a
    heatmap. ``fields``: the other :class:`SheetOutput` fields (``formulas``, ``notes``...)."""
    g = SCORE_GEOMETRY
    header = g.header_range(len(g.columns) + scores + text)
    total = scores - 1
    return SheetOutput(
        name=name,
        after=after,
        cells=cells,
        bold=[header, g.data_range(total, n)],
        number_formats={g.data_range("rank", n): SCORE_FORMAT, g.data_range(0, n, total): SCORE_FORMAT},
        widths=g.column_widths(scores, text),
        freeze=g.freeze,
        wrap=[header],
        heatmaps=[g.data_range(k, n) for k in range(scores)],
        print_title_rows=g.print_title_rows,
        **fields,
    )


def overall_sheet(pipeline: Pipeline, cities: list[str], run_time: str, after: str, reconciliation: pd.DataFrame | None = None) -> SheetOutput:
    """The Overall sheet: each city's dimension scores, Total, rank and tier, sorted by
    rank, with a Note column when a published figure disagrees with its own components."""
    framework = pipeline.framework
    dimensions = list(framework.dimensions)
    n = len(cities)
    overall = pipeline["overall"]
    table = pipeline["dimension_scores"].copy()
    table["Total"] = overall["overall"]
    table["Tier"] = overall["tier"]
    flags = published_inconsistencies(reconciliation) if reconciliation is not None else {}
    table["Note"] = pd.Series(flags, dtype="object").reindex(table.index)
    ranked = _sorted_by_rank(table, overall["rank"], cities)
    tiers = "; ".join(f"{label}: {int(minimum) if float(minimum).is_integer() else minimum} or more" for label, minimum in pipeline.settings.tiers)
    header = ["Rank", "City", *dimensions, "Total", "Tier"] + (["Note"] if flags else [])
    rows = SCORE_GEOMETRY.top(
        [
            ["Overall scores"],
            [
                f"{len(dimensions)} dimension scores (each at most {n * len(framework.variables_of(dimensions[0]))}), each the Total of its score sheet; "
                f"total = their SUM, no weights; Rank = RANK of the total. Tiers: {tiers}; otherwise {pipeline.settings.other_tier}. {TIES_ORDER}"
            ],
            [_stamp(run_time)],
        ],
        header,
    )
    rows += _table_rows(ranked, ["_rank", None, *dimensions, "Total", "Tier"] + (["Note"] if flags else []))
    g = SCORE_GEOMETRY
    total = len(dimensions)
    # The flag in the Note column, and a cell note on the city's Total where a reviewer looks.
    notes = {
        g.cell(i, total): f"{flags[city]}. This total is the sum of the dimension scores; see the {SHEET_RECONCILIATION} sheet."
        for i, city in enumerate(ranked.index)
        if city in flags
    }
    output = score_table_output(SHEET_OVERALL, after, _rect(rows), n, scores=total + 1, text=1 + bool(flags), notes=notes)
    if flags:
        # The Note column: as wide as its longest flag (a flag never wraps: a wrapped column
        # would give every city's row a height of its own, one Excel call each).
        output.widths[g.letter(total + 2)] = max(40, min(80, math.ceil(max(map(len, flags.values())) / NOTE_FILL) + 2))
    return output


def published_inconsistencies(reconciliation: pd.DataFrame) -> dict[str, str]:
    """City → a short flag for each published figure of the city that disagrees with its own
    published components ("published overall 1062; its dimensions sum to 1066"), from the
    Reconciliation's rows; empty when nothing was published or every figure adds up."""
    if reconciliation is None or not len(reconciliation):
        return {}
    inconsistent = reconciliation[reconciliation["status"] == PUBLISHED_INCONSISTENT]
    parts = {"overall": "its dimensions sum to", "overall rank": "its published overall score ranks"}
    flags: dict[str, list[str]] = {}
    for row in tuples(inconsistent):
        figure = "overall" if row.figure == "overall" else row.figure
        what = parts.get(row.figure, "its variable scores sum to")
        flags.setdefault(row.city, []).append(f"published {figure} {_whole(row.published)}; {what} {_whole(row.published_components)}")
    return {city: "; ".join(texts) for city, texts in flags.items()}


def _whole(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
