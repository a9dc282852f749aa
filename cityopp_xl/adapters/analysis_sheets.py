"""The Analysis and Insights sheets: the report statistics, audit checks and draft insights.

Rendering only: :func:`cityopp_xl.analysis.build_analysis` computes every number, and this
module lays the tables out as :class:`~cityopp_xl.adapters.layout.SheetOutput` blocks (values
from A1 plus bounded formats), so the openpyxl and xlwings writers write the same cells.

The Analysis sheet stacks titled sections one under the other, listed with their first row
at the top of the sheet. Column A holds a short code (``D1`` for the first dimension, a
rank, an indicator id), column B the name, and the numbers start in column C; a second
long name, when a table has one, is its last column, so it can spill to the right.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
import math

import pandas as pd

from ..analysis import SIGNIFICANT_DIGITS, Analysis, build_analysis, records
from ..model import column_letter, tuples
from ..pipeline import Pipeline
from . import layout

SHEET_ANALYSIS = layout.SHEET_ANALYSIS
SHEET_INSIGHTS = layout.SHEET_INSIGHTS

FORMAT_R = "0.00"
FORMAT_ONE_DECIMAL = "0.0"
FORMAT_SHARE = "0%"
FORMAT_WEIGHT = "0.00%"
FORMAT_SCORE = "#,##0"

WIDTH_CODE = 6
WIDTH_NAME = 32
WIDTH_VALUE = 9
WIDTH_SENTENCE = 80
#: Columns the Analysis sheet sizes (A, B, then this many value columns).
VALUE_COLUMNS = 24
#: The last column of the widest table (the correlation matrices: code, name, 10 dimensions).
LAST_COLUMN = 12


class _Section:
    """A titled table block whose cells, bold areas and formats are relative to its top row."""

    def __init__(self, title: str, note: str = ""):
        self.title = title
        self.rows: list[list] = [[title]]
        if note:
            self.rows.append([note])
        self.bold: list[tuple[int, int, int, int]] = [(0, 1, 0, 1)]
        self.formats: list[tuple[tuple[int, int, int, int], str]] = []
        self.scales: list[tuple[int, int, int, int]] = []
        #: Boxes merged into one wrapped cell: a long text that ends its row runs on
        #: over the sheet's last columns.
        self.merges: list[tuple[int, int, int, int]] = []
        #: Column B holds names of the framework (dimensions, variables, indicators) that
        #: wrap; False for a section with a row per city (city names fit).
        self.names_wrap = True
        #: Body rows (first, last; relative) that wrap in every column.
        self.rows_wrap: tuple[int, int] | None = None

    def run_on(self, rows: tuple[int, int], column: int) -> None:
        """Each of ``rows`` wraps its text in ``column`` across the rest of the table."""
        self.merges += [(row, column, row, LAST_COLUMN) for row in range(rows[0], rows[1] + 1)]
        self.rows_wrap = rows  # its rows wrap whole, so that their cells stand level at the top

    def header(self, values: list) -> None:
        self.rows.append(list(values))
        row = len(self.rows) - 1
        self.bold.append((row, 1, row, max(1, len(values))))

    def body(self, rows: list[list]) -> tuple[int, int]:
        """Append rows; returns the first and last relative row (0-based) they took."""
        first = len(self.rows)
        self.rows.extend(list(r) for r in rows)
        return first, len(self.rows) - 1

    def line(self, text: str) -> None:
        self.rows.append([text])

    def format(self, rows: tuple[int, int], first_col: int, last_col: int, number_format: str) -> None:
        if rows[1] >= rows[0]:
            self.formats.append(((rows[0], first_col, rows[1], last_col), number_format))

    def scale(self, rows: tuple[int, int], first_col: int, last_col: int) -> None:
        if rows[1] >= rows[0]:
            self.scales.append((rows[0], first_col, rows[1], last_col))


def _area(offset: int, box: tuple[int, int, int, int]) -> str:
    top, left, bottom, right = box
    return f"{column_letter(left)}{offset + top}:{column_letter(right)}{offset + bottom}"


def _value(value):
    """A cell value as a plain Python scalar (numpy scalars unwrapped), None for NaN."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cells(rows: list[list], width: int) -> list[list]:
    """The cells of a sheet: each value as a cell holds it (:func:`_value`, then
    :func:`layout.cell_value`), each row ``width`` long. Whole numbers, texts and blanks
    are kept as they are, without two calls each."""
    return [[v if type(v) is int or type(v) is str or v is None else layout.cell_value(_value(v)) for v in r] + [None] * (width - len(r)) for r in rows]


def _codes(analysis_dimensions: list[str]) -> dict[str, str]:
    return {d: f"D{i}" for i, d in enumerate(analysis_dimensions, start=1)}


def _assemble(name: str, after: str, head: list[list], sections: list[_Section]) -> layout.SheetOutput:
    """Stack the sections under ``head`` and a contents list naming each section's row."""
    contents_rows = len(sections) + 2  # "Contents", one line per section, a blank line
    offset = len(head) + contents_rows + 1  # 1-based row of the first section
    starts = []
    for section in sections:
        starts.append(offset)
        offset += len(section.rows) + 1
    rows: list[list] = [list(r) for r in head]
    rows.append(["Contents"])
    for section, start in zip(sections, starts):
        rows.append([f"row {start}", section.title])
    rows.append([])
    bold = [f"A{len(head) + 1}:A{len(head) + 1}"]
    formats: dict[str, str] = {}
    scales: list[str] = []
    merged: list[str] = []
    wrap: list[str] = []
    for section, start in zip(sections, starts):
        rows.extend(section.rows)
        rows.append([])
        bold += [_area(start, box) for box in section.bold]
        merged += [_area(start, box) for box in section.merges]
        if section.rows_wrap:
            wrap.append(_area(start, (section.rows_wrap[0], 1, section.rows_wrap[1], LAST_COLUMN)))
        elif section.names_wrap and len(section.rows) > 1:  # names wrap in column B
            wrap.append(f"B{start + 1}:B{start + len(section.rows) - 1}")
        for box, number_format in section.formats:
            formats[_area(start, box)] = number_format
        scales += [_area(start, box) for box in section.scales]
    width = max(len(r) for r in rows)
    cells = _cells(rows, width)
    widths = {"A": WIDTH_CODE, "B": WIDTH_NAME} | {column_letter(3 + i): WIDTH_VALUE for i in range(max(VALUE_COLUMNS, width - 2))}
    return layout.SheetOutput(
        name=name,
        after=after,
        cells=cells,
        bold=bold,
        number_formats=formats,
        widths=widths,
        freeze="C1",
        color_scales=scales,
        wrap=wrap + merged,
        merged=merged,
    )


# --------------------------------------------------------------------------- sections


def _dimension_section(analysis: Analysis, codes: dict[str, str]) -> _Section:
    section = _Section(
        "Dimension statistics",
        "Across cities: mean, sample standard deviation (SD), minimum and maximum of each dimension score. SD rank 1 = the most uneven dimension. "
        "r with overall: Pearson with the overall score; 'with the rest' leaves the dimension itself out of the overall score.",
    )
    section.header(["Code", "Dimension", "Mean", "SD", "Min", "Max", "SD rank", "r with overall", "rho with overall", "r with the rest"])
    stats = analysis.dimension_stats
    sd_rank = stats["sd"].rank(method="min", ascending=False)
    overall = dict(records(analysis.overall_correlations))
    sd_ranks = sd_rank.to_dict()
    rows = [
        [
            codes[d],
            d,
            row["mean"],
            row["sd"],
            row["min"],
            row["max"],
            _value(sd_ranks[d]),
            overall[d]["pearson"],
            overall[d]["spearman"],
            overall[d]["pearson_rest"],
        ]
        for d, row in records(stats)
    ]
    span = section.body(rows)
    section.format(span, 3, 4, FORMAT_ONE_DECIMAL)
    section.format(span, 5, 7, "0")
    section.format(span, 8, 10, FORMAT_R)
    return section


def _matrix_section(title: str, note: str, matrix: pd.DataFrame, codes: dict[str, str]) -> _Section:
    section = _Section(title, note)
    section.header(["Code", "Dimension", *[codes[d] for d in matrix.columns]])
    values = matrix.to_numpy().tolist()  # one read, not one .at per cell
    span = section.body([[codes[d], d, *row] for d, row in zip(matrix.index, values)])
    section.format(span, 3, 2 + len(matrix.columns), FORMAT_R)
    section.scale(span, 3, 2 + len(matrix.columns))
    return section


def _cities_section(analysis: Analysis) -> _Section:
    top = analysis.params["top"]
    section = _Section(
        "Cities: overall standing, balance and strongest lift",
        f"SD: sample standard deviation of the city's dimension scores (small = balanced). Top {top}: dimensions in which the city ranks {top}th or better (ties included). "
        "Lift = overall rank minus rank in the dimension, in places; the strongest lift is the dimension that puts the city furthest above its overall rank.",
    )
    section.names_wrap = False  # a row per city
    section.header(["Rank", "City", "Overall", "Tier", "SD", f"Top {top} count", "Lift (places)", "Dimension rank", "Strongest lift"])
    # Looked up in dicts: a row Series per city (.loc) and .at per cell took 0.01 s of a
    # Recalculate of the 2025 master.
    sd, top_count = analysis.city_balance["sd"].to_dict(), analysis.city_balance["top_count"].to_dict()
    first_lift = dict(records(analysis.city_lifts[analysis.city_lifts["order"] == 1].set_index("city")))
    rows = []
    for city, row in records(analysis.tiers):
        lift = first_lift.get(city)
        rows.append(
            [
                row["rank"],
                city,
                row["overall"],
                row["tier"],
                sd[city],
                top_count[city],
                None if lift is None else lift["lift"],
                None if lift is None else lift["dimension_rank"],
                "none above its overall rank" if lift is None else lift["dimension"],
            ]
        )
    span = section.body(rows)
    section.format(span, 3, 3, FORMAT_SCORE)
    section.format(span, 5, 5, FORMAT_ONE_DECIMAL)
    return section


def _lift_section(analysis: Analysis, codes: dict[str, str]) -> _Section:
    strong = analysis.params["strong_lift"]
    section = _Section(
        "Lift of every dimension (places)",
        f"Overall rank minus rank in the dimension: +{strong} or more (a quarter of the cities, rounded up) is read as 'well above its overall rank'; "
        "a negative lift means the dimension holds the city back.",
    )
    lifts = analysis.lifts
    section.names_wrap = False  # a row per city
    section.header(["Rank", "City", *[codes[d] for d in lifts.columns]])
    cities = analysis.tiers.index
    values = lifts.reindex(cities).to_numpy(dtype=object).tolist()  # one read, not one per cell
    rows = [[rank, city, *row] for rank, city, row in zip(analysis.tiers["rank"].tolist(), cities, values)]
    span = section.body(rows)
    section.format(span, 3, 2 + len(lifts.columns), "+0;-0;0")
    return section


def _leaders_section(analysis: Analysis, codes: dict[str, str], dimension_of: dict[str, str]) -> _Section:
    top = analysis.params["leaders_top"]
    # At most as many leaders as the sheet's table is wide: a tie of dozens of cities (the
    # common case with a few thousand) would otherwise widen the whole sheet, its notes
    # and its printed page. The last cell then counts the rest; `cityopp analyze` writes
    # every leader to leaders.csv.
    shown = LAST_COLUMN - 3
    section = _Section(
        f"Top {top} of every dimension and variable",
        f"Every city ranked {top}th or better, ties included (so a tie can list more than {top}); '=' marks a shared place. "
        f"A list of more than {shown} cities shows the first {shown - 1} and how many more there are (every one is in leaders.csv of `cityopp analyze`).",
    )
    leaders = analysis.leaders
    # Grouped in plain Python (first-appearance order, as groupby(sort=False) gives): a
    # groupby and a value_counts per group took 0.018 s of a Recalculate of the 2025
    # master, for 60 groups of about 5 rows.
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for level, name, rank, city in zip(*(leaders[c].tolist() for c in ("level", "name", "rank", "city"))):
        groups.setdefault((level, name), []).append((rank, city))
    widest = min(max(map(len, groups.values())), shown) if groups else top
    section.header(["Code", "Dimension or variable", "Level", *[ordinal_heading(i) for i in range(1, widest + 1)]])
    rows = []
    for (level, name), group in groups.items():
        counts = Counter(rank for rank, _ in group)
        cells = [f"{rank}{'=' if counts[rank] > 1 else ''} {city}" for rank, city in group]
        if len(cells) > shown:
            cells = cells[: shown - 1] + [f"and {len(cells) - shown + 1} more"]
        code = codes[name] if level == "dimension" else codes[dimension_of[name]]
        rows.append([code, name, level, *cells])
    section.body(rows)
    return section


def ordinal_heading(position: int) -> str:
    return f"#{position}"


def _tiers_section(analysis: Analysis) -> _Section:
    section = _Section("Overall tiers", f"Tier minimums come from the {layout.SHEET_SETTINGS} sheet: a city is in the first tier whose minimum its overall score reaches.")
    section.header(["", "Tier", "Minimum", "Cities", "Highest", "Lowest", "Members (by rank)"])
    rows, continued = [], []
    for label, row in records(analysis.tier_summary):
        # A list longer than a cell holds goes on in rows under the table, whole names in
        # each. They are plain rows (not merged, wrapped or sized): the table keeps a row
        # per tier, and so its formatting calls in Excel, however many cities there are.
        first, *rest = layout.split_text(row["members"].replace("; ", ", "))
        rows.append(["", label, row["minimum"], row["cities"], row["highest"], row["lowest"], first])
        continued += [["", f"{label} (continued)", None, None, None, None, piece] for piece in rest]
    span = section.body(rows)
    section.format(span, 3, 3, FORMAT_SCORE)
    section.format(span, 5, 6, FORMAT_SCORE)
    section.run_on(span, 7)
    if continued:
        section.body(continued)
    return section


def _coverage_sections(analysis: Analysis, codes: dict[str, str]) -> list[_Section]:
    threshold = analysis.params["coverage_threshold"]
    coverage = analysis.indicator_coverage
    rows = [
        [
            codes[row["dimension"]],
            row["variable"],
            "score" if row["label"] == "given variable score" else key,
            row["with_value"],
            row["cities"],
            row["share"],
            "below threshold" if row["below_threshold"] else "",
            row["basis"] if row["label"] == "given variable score" else f"{key} {row['label']}: {row['basis']}",
        ]
        for key, row in records(coverage)
    ]
    note = f"Share of cities with a value; flagged below {threshold:.0%}. Pre-scored variables are measured on their given scores: their raw indicator values are not in the inputs."
    section = _Section("Audit: data coverage per input column", note + _same_basis(rows))
    section.header(["Code", "Variable", "Input", "With value", "Cities", "Share", "Flag", "Basis"][: len(rows[0]) if rows else 8])
    span = section.body(rows)
    section.format(span, 6, 6, FORMAT_SHARE)
    rows = [
        ["", city, row["with_value"], row["columns"], row["share"], "below threshold" if row["below_threshold"] else "", row["basis"]]
        for city, row in records(analysis.city_coverage)
    ]
    cities = _Section("Audit: data coverage per city", f"Share of the framework's input columns in which the city has a value; flagged below {threshold:.0%}." + _same_basis(rows))
    cities.names_wrap = False  # a row per city
    cities.header(["", "City", "With value", "Columns", "Share", "Flag", "Basis"][: len(rows[0]) if rows else 7])
    span = cities.body(rows)
    cities.format(span, 5, 5, FORMAT_SHARE)
    return [section, cities]


def _same_basis(rows: list[list]) -> str:
    """When every row has the same basis (its last cell), the sentence that says it once,
    and the rows without it: one line of the note instead of a column repeating it."""
    bases = {row[-1] for row in rows}
    if len(rows) < 2 or len(bases) != 1:
        return ""
    for row in rows:
        del row[-1]
    return f" Basis of every row: {bases.pop()}."


def _pairs_section(analysis: Analysis, codes: dict[str, str]) -> _Section:
    params = analysis.params
    section = _Section(
        "Audit: correlations inside each dimension",
        f"Pearson's r between the variable scores (and the indicator scores, where raw values were scored) of each dimension. "
        f"Flags: negative (r < {params['negative_below']:g}) pulls the dimension apart; near-duplicate (r >= {params['duplicate_above']:g}) counts one thing twice.",
    )
    section.header(["Code", "First", "r", "Flag", "Level", "Second"])
    span = section.body(
        [[codes[row.dimension], row.first, row.r, row.flag, row.level, row.second] for row in tuples(analysis.item_correlations)]
    )
    section.format(span, 3, 3, FORMAT_R)
    return section


def _reliability_section(analysis: Analysis, codes: dict[str, str]) -> _Section:
    section = _Section(
        "Audit: internal consistency of each dimension",
        f"Items: the dimension's variable scores. Cronbach's alpha (flagged below {analysis.params['alpha_minimum']:g}); principal components of their correlation matrix: "
        "the first component's share of the variance, and the first two eigenvalues (a second eigenvalue above 1 suggests more than one underlying factor).",
    )
    section.header(["Code", "Dimension", "Items", "Alpha", "PC1 share", "PC1 eigenvalue", "PC2 eigenvalue", "Flag"])
    span = section.body(
        [
            [codes[d], d, row["items"], row["alpha"], row["pc1_share"], row["pc1_eigenvalue"], row["pc2_eigenvalue"], row["flag"]]
            for d, row in records(analysis.reliability)
        ]
    )
    section.format(span, 4, 4, FORMAT_R)
    section.format(span, 5, 5, FORMAT_SHARE)
    section.format(span, 6, 7, FORMAT_R)
    section.run_on(span, 8)
    return section


def _weights_section(analysis: Analysis, codes: dict[str, str]) -> _Section:
    weights = analysis.implicit_weights
    per_dimension = sorted({round(1 / (w * k)) for w, k in zip(weights["dimension_weight"], weights["indicators_in_variable"])})
    dimensions = len(analysis.dimension_stats.index)
    section = _Section(
        "Audit: implicit weight of every indicator",
        f"No weights are set, but an indicator in a variable of k indicators weighs 1/k of it; a variable weighs 1/{' or 1/'.join(str(v) for v in per_dimension)} of its dimension "
        f"and a dimension 1/{dimensions} of the overall score, because scores are added. These are the nominal weights of each sum before it is re-scored by rank.",
    )
    section.header(["Id", "Indicator", "Code", "Indicators in variable", "In variable", "In dimension", "In overall", "Variable"])
    span = section.body(
        [
            [key, row["name"], codes[row["dimension"]], row["indicators_in_variable"], row["variable_weight"], row["dimension_weight"], row["overall_weight"], row["variable"]]
            for key, row in records(weights)
        ]
    )
    section.format(span, 5, 7, FORMAT_WEIGHT)
    section.run_on(span, 8)
    return section


# --------------------------------------------------------------------------- the sheets


def analysis_sheet(pipeline: Pipeline, analysis: Analysis, run_time: str, after: str = layout.SHEET_OVERALL) -> layout.SheetOutput:
    """The Analysis sheet of a run (see the module docstring for its layout)."""
    dimensions = list(analysis.dimension_stats.index)
    codes = _codes(dimensions)
    dimension_of = {v.name: v.dimension for v in pipeline.framework.variables}
    n = analysis.params["cities"]
    head = [
        ["Analysis: report statistics and audit checks"],
        [
            f"Computed from the dimension and variable scores of {n} cities. Standard deviations are sample SDs; r is Pearson's correlation, rho Spearman's (Pearson on ranks). "
            f"Figures that are not whole numbers are stored rounded to {SIGNIFICANT_DIGITS} significant digits, so that every computer writes the same ones. "
            f"Codes: {'; '.join(f'{code} {d}' for d, code in codes.items())}."
        ],
        [layout._stamp(run_time)],
    ]
    sections = [
        _dimension_section(analysis, codes),
        _matrix_section(
            "Correlation between dimensions (Pearson r)",
            "Pearson's r between the dimension scores of the cities; shaded from -1 (red) through 0 (white) to +1 (green).",
            analysis.dimension_correlations,
            codes,
        ),
        _matrix_section(
            "Rank correlation between dimensions (Spearman rho)",
            "Pearson's r between the cities' ranks in each dimension (tied cities share the mean of their ranks).",
            analysis.dimension_rank_correlations,
            codes,
        ),
        _cities_section(analysis),
        _lift_section(analysis, codes),
        _leaders_section(analysis, codes, dimension_of),
        _tiers_section(analysis),
        *_coverage_sections(analysis, codes),
        _pairs_section(analysis, codes),
        _reliability_section(analysis, codes),
        _weights_section(analysis, codes),
    ]
    return _assemble(SHEET_ANALYSIS, after, head, sections)


def insights_sheet(analysis: Analysis, run_time: str, after: str = SHEET_ANALYSIS) -> layout.SheetOutput:
    """The Insights sheet: one draft sentence per row, by topic."""
    rows = [
        ["Insights: draft sentences from this run's numbers"],
        ["Generated from the Analysis sheet on every Recalculate: a starting point for the writers, to be checked and reworded. Copy what you keep elsewhere."],
        [layout._stamp(run_time)],
        ["Topic", "Subject", "Sentence"],
    ]
    for row in tuples(analysis.insights):
        # A sentence longer than a cell holds goes on in the rows below.
        first, *rest = layout.split_text(row.sentence)
        rows.append([row.topic, row.subject, first])
        rows += [[row.topic, f"{row.subject} (continued)", piece] for piece in rest]
    width = 3
    cells = _cells(rows, width)
    return layout.SheetOutput(
        name=SHEET_INSIGHTS,
        after=after,
        cells=cells,
        bold=["A4:C4"],
        # The sentences wrap in a column a landscape page prints at full size.
        widths={"A": 22, "B": 28, "C": WIDTH_SENTENCE},
        wrap=[f"A5:C{max(len(cells), 5)}"],
        freeze="A5",
        print_title_rows="4:4",
    )


def render_analysis(pipeline: Pipeline, run_time: str | None = None, *, after: str = layout.SHEET_OVERALL, **options) -> list[layout.SheetOutput]:
    """The Analysis and Insights sheets of a run, in the order they are placed.

    Parameters
    ----------
    pipeline : Pipeline
        A scored run.
    run_time : str
        ISO time stamped on the sheets (now, by default).
    after : str
        The sheet the Analysis sheet follows (Insights follows Analysis).
    options
        Passed to :func:`cityopp_xl.analysis.build_analysis` (e.g. ``coverage_threshold``).
    """
    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    analysis = build_analysis(pipeline, **options)
    outputs = [analysis_sheet(pipeline, analysis, run_time, after=after), insights_sheet(analysis, run_time, after=SHEET_ANALYSIS)]
    for output in outputs:  # free text: never cut silently at a cell's limit
        layout.check_cell_texts(output)
    return outputs
