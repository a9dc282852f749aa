"""The master workbook's layout: sheet names, header rows, and what each output sheet holds.

Sheet names are spelled only here. Readers hand this module the 2-D values of a sheet
(one bulk read) and get :class:`~cityopp_xl.model.SheetTable` objects back; writers get
:class:`SheetOutput` objects (a 2-D block of values plus a bounded list of formats) and
write each in one bulk call. The openpyxl and xlwings adapters therefore write exactly
the same cells.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import getpass
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import Problem
from ..model import SheetTable, column_letter, column_number, quote_sheet
from ..pipeline import Pipeline, input_fingerprints
from ..provenance import TableCopy, stale_problems
from ..reconcile import AGREES, PUBLISHED_INCONSISTENT, reconcile, summarise

# --------------------------------------------------------------------------- sheet names

SHEET_ABOUT = "About"
SHEET_FRAMEWORK = "Framework"
SHEET_CITIES = "Cities"
SHEET_SETTINGS = "Settings"
SHEET_PUBLISHED = "Published"
#: Optional input sheet: the team's notes on figures of the printed report taken otherwise.
SHEET_TRANSCRIPTION = "Transcription notes"
SHEET_OVERALL = "Overall"
SHEET_RANKS = "Ranks"
SHEET_INDICATOR_SCORES = "Indicator scores"
SHEET_RECONCILIATION = "Reconciliation"
SHEET_DATA_NOTES = "Data notes"
SHEET_LOG = "Log"
SHEET_PROBLEMS = "Problems"
SHEET_ANALYSIS = "Analysis"
SHEET_INSIGHTS = "Insights"
SHEET_ROBUSTNESS = "Robustness"
SHEET_DIFF = "Diff"
#: Presentation sheets: made once with the workbook (never rewritten by Recalculate); their
#: formulas and charts read the owned sheets at fixed addresses.
SHEET_CITY_PROFILE = "City profile"
SHEET_CHARTS = "Charts"
PRESENTATION_SHEETS = (SHEET_CITY_PROFILE, SHEET_CHARTS)

#: Input sheets the research team edits, in workbook order (data sheets follow them).
INPUT_SHEETS = (SHEET_FRAMEWORK, SHEET_CITIES, SHEET_SETTINGS, SHEET_PUBLISHED, SHEET_TRANSCRIPTION)
#: Fixed output sheets the add-in owns and replaces on every run (after the score sheets).
FIXED_OUTPUT_SHEETS = (
    SHEET_OVERALL,
    SHEET_RANKS,
    SHEET_ANALYSIS,
    SHEET_INSIGHTS,
    SHEET_ROBUSTNESS,
    SHEET_INDICATOR_SCORES,
    SHEET_RECONCILIATION,
    SHEET_DATA_NOTES,
    SHEET_LOG,
    SHEET_PROBLEMS,
    SHEET_DIFF,
)

#: Tab colours by role (RGB hex): the team's inputs, the scores, the analysis, the audit
#: trail (the Log, reconciliation, problems, data notes).
TAB_COLORS = {"inputs": "1F4E79", "scores": "548235", "analysis": "7030A0", "audit": "7F7F7F"}
#: Each sheet's role by name (score sheets are "scores", data sheets "inputs": see
#: :func:`sheet_role`); a new sheet only needs its name added here.
SHEET_ROLES = {
    SHEET_ABOUT: "inputs",
    SHEET_FRAMEWORK: "inputs",
    SHEET_CITIES: "inputs",
    SHEET_SETTINGS: "inputs",
    SHEET_PUBLISHED: "inputs",
    SHEET_TRANSCRIPTION: "inputs",
    SHEET_OVERALL: "scores",
    SHEET_RANKS: "scores",
    SHEET_ANALYSIS: "analysis",
    SHEET_INSIGHTS: "analysis",
    SHEET_ROBUSTNESS: "analysis",
    SHEET_CITY_PROFILE: "analysis",
    SHEET_CHARTS: "analysis",
    SHEET_INDICATOR_SCORES: "audit",
    SHEET_RECONCILIATION: "audit",
    SHEET_DATA_NOTES: "audit",
    SHEET_LOG: "audit",
    SHEET_PROBLEMS: "audit",
    SHEET_DIFF: "audit",
}

_DATA_SHEET = re.compile(r"D(\d+) data")
_SCORE_SHEET = re.compile(r"D(\d+) scores")

#: First header cell of each input table (the header row is found by looking for it).
FIRST_HEADERS = {
    SHEET_FRAMEWORK: "id",
    SHEET_CITIES: "city",
    SHEET_SETTINGS: "setting",
    SHEET_PUBLISHED: "city",
    SHEET_TRANSCRIPTION: "note",
}
DATA_FIRST_HEADER = "city"
#: Header rows: title (row 1), a note (row 2), then headers. Data sheets have a row of
#: variable names (row 3) above the table header (row 4).
TABLE_HEADER_ROW = 3
DATA_HEADER_ROW = 4
HEADER_SEARCH_ROWS = 12

TITLE_FONT_SIZE = 14
WIDTH_CITY = 16
WIDTH_SCORE = 13
#: The one number format of scores, totals and ranks on every sheet. Every score the method
#: gives is a whole number (ties share the best or the lowest score of their group, never a
#: half; a pre-scored score must be a whole number; sums of whole numbers are whole), so
#: scores show as whole numbers without a thousands separator, as the report prints them
#: ("2446"). ``General`` would show whatever a hand edit typed; ``0.#`` leaves a dot after
#: every whole number.
SCORE_FORMAT = "0"
#: How tied cities are ordered on the score sheets and Overall, said on each of them.
TIES_ORDER = (
    "Tied cities share the better rank and are listed in edition order (the Cities sheet's order): "
    "the report's own order within ties is not published as data."
)


@dataclass(frozen=True)
class SheetGeometry:
    """Where the table of a score sheet (``Dn scores``), Overall or Ranks sits: title rows
    above, one header row, then one row per city; the rank and city columns first
    (:attr:`columns`, from A), the scores from the next column on. Values mode, live-formula
    mode, the audit trail, the placeholders of a new workbook and the presentation sheets'
    formulas all read it from here.

    ``column`` arguments are a name of :attr:`columns` (``"rank"``, ``"city"``) or the
    0-based position of a score column (0 is the first score, column C).
    """

    header_row: int = 4
    first_row: int = 5
    columns: tuple[str, ...] = ("rank", "city")
    #: Widths of the named columns (in :attr:`columns` order), of each score column and of
    #: a text column after the scores (Overall's Tier).
    widths: tuple[float, ...] = (6, WIDTH_CITY)
    score_width: float = WIDTH_SCORE
    text_width: float = 13

    def letter(self, column: str | int) -> str:
        """The column letter of a named column or of the 0-based score column ``column``."""
        return column_letter(self.index(column) + 1)

    def top(self, titles: list[list], header: list) -> list[list]:
        """The rows above the body: ``titles`` from row 1 (a title, a note, the stamp),
        then ``header`` on :attr:`header_row`."""
        if len(titles) != self.header_row - 1:
            raise ValueError(f"{len(titles)} title rows above a header on row {self.header_row}")
        return [*titles, header]

    def index(self, column: str | int) -> int:
        """The 0-based position of ``column`` in a body row read from column A."""
        return self.columns.index(column) if isinstance(column, str) else len(self.columns) + column

    def row(self, index: int) -> int:
        """The sheet row of the 0-based body row ``index`` (a city)."""
        return self.first_row + index

    def last_row(self, n: int) -> int:
        """The last body row of a table of ``n`` cities."""
        return self.first_row + n - 1

    def cell(self, index: int, column: str | int) -> str:
        """The A1 address of body row ``index`` (0-based) in ``column``."""
        return f"{self.letter(column)}{self.row(index)}"

    def data_range(self, column: str | int, n: int, to: str | int | None = None, *, absolute: bool = False) -> str:
        """The body of ``column`` (through column ``to``) for ``n`` cities: ``C5:C64``, or
        ``$C$5:$C$64`` when ``absolute``."""
        first, last = self.letter(column), self.letter(column if to is None else to)
        mark = "$" if absolute else ""
        return f"{mark}{first}{mark}{self.first_row}:{mark}{last}{mark}{self.last_row(n)}"

    def header_range(self, width: int, first: str | int = "rank") -> str:
        """The header row from ``first`` across a table ``width`` columns wide (from A)."""
        return f"{self.letter(first)}{self.header_row}:{column_letter(width)}{self.header_row}"

    @property
    def freeze(self) -> str:
        """The top-left cell of the scrolling pane: the first score of the first city."""
        return self.cell(0, 0)

    @property
    def print_title_rows(self) -> str:
        """The header row, repeated at the top of every printed page."""
        return f"{self.header_row}:{self.header_row}"

    def column_widths(self, scores: int, text: int = 0) -> dict[str, float]:
        """Widths by letter: the named columns, ``scores`` score columns and ``text`` text
        columns after them."""
        widths = {self.letter(name): width for name, width in zip(self.columns, self.widths)}
        widths |= {self.letter(k): self.score_width for k in range(scores)}
        return widths | {self.letter(scores + k): self.text_width for k in range(text)}


#: The score sheets and Overall: Rank in A, City in B, the scores from C; headers in row 4,
#: cities from row 5.
SCORE_GEOMETRY = SheetGeometry()
#: The Ranks sheet: the same rows and columns, a wider rank column ("Overall rank").
RANKS_GEOMETRY = SheetGeometry(widths=(9, WIDTH_CITY))


def data_sheet(position: int) -> str:
    """Name of dimension ``position``'s (1-based, framework order) input sheet."""
    return f"D{position} data"


def score_sheet(position: int) -> str:
    """Name of dimension ``position``'s score sheet, written right after its data sheet."""
    return f"D{position} scores"


#: One line on each sheet for the contents on the About sheet (data and score sheets are
#: described by their dimension; see :func:`workbook_contents`).
SHEET_DESCRIPTIONS = {
    SHEET_ABOUT: "what the workbook holds and how it works (this page)",
    SHEET_CITY_PROFILE: "one city's dimension scores, ranks and strongest and weakest variables",
    SHEET_CHARTS: "charts of the overall and dimension scores",
    SHEET_FRAMEWORK: "the indicators, variables and dimensions, with directions and tie rules (input)",
    SHEET_CITIES: "the cities of the edition, in edition order (input)",
    SHEET_SETTINGS: "overall tiers and the output mode (input)",
    SHEET_PUBLISHED: "the report's printed totals, overall scores and ranks, for checking (input)",
    SHEET_TRANSCRIPTION: "printed figures the workbook reads otherwise, and why (input)",
    SHEET_OVERALL: "overall scores, ranks and tiers, with the ten dimension scores",
    SHEET_RANKS: "each city's overall rank and its dimension ranks side by side",
    SHEET_ANALYSIS: "rank shifts, correlations between dimensions and contributions",
    SHEET_INSIGHTS: "what stands out in the scores, in sentences",
    SHEET_ROBUSTNESS: "how much each city's rank depends on the method's choices",
    SHEET_INDICATOR_SCORES: "each indicator's and variable's rank scores",
    SHEET_RECONCILIATION: "the computed figures against the printed ones",
    SHEET_DATA_NOTES: "published figures not taken as printed, each linked to its cell",
    SHEET_LOG: "the run: settings, steps, fingerprints of the inputs and outputs",
    SHEET_PROBLEMS: "problems found in the inputs (written only when there are any)",
    SHEET_DIFF: "the differences from another workbook (written by Compare with...)",
}


def workbook_contents(dimensions: list[str], published: bool = True, transcription: bool = False) -> list[tuple[str, str]]:
    """Every sheet a workbook has once recalculated, in workbook order, with one line on
    each: About, the presentation and input sheets, each data sheet followed by its score
    sheet, then the other output sheets (Reconciliation only with a Published sheet, the
    Transcription notes input sheet only when the workbook has one)."""
    absent = ({SHEET_PUBLISHED} if not published else set()) | ({SHEET_TRANSCRIPTION} if not transcription else set())
    sheets = [(SHEET_ABOUT, SHEET_DESCRIPTIONS[SHEET_ABOUT])]
    sheets += [(name, SHEET_DESCRIPTIONS[name]) for name in PRESENTATION_SHEETS]
    sheets += [(name, SHEET_DESCRIPTIONS[name]) for name in INPUT_SHEETS if name not in absent]
    for position, dimension in enumerate(dimensions, start=1):
        sheets.append((data_sheet(position), f"{dimension} values, one row per city (input)"))
        sheets.append((score_sheet(position), f"{dimension} variable scores and dimension score"))
    sheets += [
        (name, SHEET_DESCRIPTIONS.get(name, ""))
        for name in FIXED_OUTPUT_SHEETS
        if published or name != SHEET_RECONCILIATION
    ]
    return sheets


def sheet_role(sheet: str) -> str | None:
    """A sheet's role (a key of :data:`TAB_COLORS`): by :data:`SHEET_ROLES`, score sheets
    "scores", data sheets "inputs"; None for a sheet of the team's own."""
    if sheet in SHEET_ROLES:
        return SHEET_ROLES[sheet]
    if _SCORE_SHEET.fullmatch(sheet):
        return "scores"
    if _DATA_SHEET.fullmatch(sheet):
        return "inputs"
    return None


def tab_color(sheet: str) -> str | None:
    """The tab colour of a sheet by its role (:func:`sheet_role`), or None."""
    role = sheet_role(sheet)
    return TAB_COLORS[role] if role else None


def is_owned(sheet: str) -> bool:
    """Whether the add-in owns (and so may replace) a sheet of this name."""
    return sheet in FIXED_OUTPUT_SHEETS or bool(_SCORE_SHEET.fullmatch(sheet))


#: The hidden sheet-scoped defined name that records a sheet as written by cityopp-xl
#: (the file front end records the part's CRC-32 and size there).
OWNED_NAME = "CityOpp.Owned"
#: The stamp every output sheet carries in its first rows (a sheet without a record, written
#: in Excel or by an earlier version, is recognised by it).
LEGACY_MARKS = ("Written by cityopp-xl", "Not calculated yet: Recalculate")


def has_legacy_stamp(rows: list[list]) -> bool:
    """Whether a sheet's first three rows carry the stamp of an output sheet
    (:data:`LEGACY_MARKS`)."""
    texts = [str(row[0] or "") for row in rows[:3] if row]
    return any(mark in text for text in texts for mark in LEGACY_MARKS)


def foreign_sheet_problem(sheet: str) -> Problem:
    """The error for a sheet named like an output sheet that cityopp-xl did not write: a
    Recalculate would replace or delete it, and it is the team's."""
    return Problem(
        sheet,
        f"a sheet '{sheet}' that cityopp-xl did not write, named like one of its output sheets",
        f"output sheet names left to cityopp-xl: rename the sheet '{sheet}' (nothing was changed)",
    )


def data_table_name(position: int) -> str:
    return f"Data_D{position}"


# --------------------------------------------------------------------------- reading


def find_table(sheet: str, rows: list[list], first_header: str, excel_tables=()) -> SheetTable | None:
    """Locate a table in a sheet's values: the first row (of the first 12) whose first
    cell is ``first_header`` (case-insensitive) is the header.

    The table ends on the right where its Excel table ends (``excel_tables``: the sheet's
    :class:`~.integrity.TableRange` list), or, outside an Excel table, before the first
    blank header cell: a note typed beside the table is not part of it. The body runs to
    the last row with any value, or to the row above an Excel table's totals row (which
    is never read as data). A blank header inside an Excel table is labelled "" (plus
    spaces, to stay unique), which every reader trims: it is named by its cell, never by
    a made-up label."""
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if row and cell_text(row[0]).casefold() == first_header.casefold():
            header = [cell_text(v) for v in row]
            excel = next((t for t in excel_tables if t.min_row == number + 1 and t.min_col == 1), None)
            if excel is not None:
                header = (header + [""] * excel.max_col)[: excel.max_col]
            elif "" in header:
                header = header[: header.index("")]
            width = len(header)
            last = excel.max_row - excel.totals_rows if excel is not None and excel.totals_rows else len(rows)
            body = [list(r[:width]) + [None] * (width - len(r[:width])) for r in rows[number + 1 : last]]
            while body and all(_blank(v) for v in body[-1]):
                body.pop()
            # A header repeated (outside an Excel table, which would rename it) gets
            # trailing spaces to keep column labels unique: every reader trims them.
            columns = list(header)
            seen: set[str] = set()
            for i, label in enumerate(columns):
                while label in seen:
                    label += " "
                seen.add(label)
                columns[i] = label
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
    #: Rows repeated at the top of every printed page (e.g. "4:4").
    print_title_rows: str | None = None
    #: A1 ranges shaded as heatmaps (correlation matrices): a 3-colour scale, -1 red,
    #: 0 white, +1 green, on each range.
    color_scales: list[str] = field(default_factory=list)
    #: A1 ranges of scores shaded as heatmaps: lowest red, median yellow, highest green.
    heatmaps: list[str] = field(default_factory=list)
    #: A1 ranges of ranks shaded the other way round: rank 1 green, median yellow, last red.
    rank_scales: list[str] = field(default_factory=list)
    #: Formulas (A1 cell → text starting with "=") written over the values whatever
    #: ``formulas`` says: the stale check of the Log and its warnings. Their number never
    #: grows with the number of cities.
    formula_cells: dict[str, str] = field(default_factory=dict)
    #: Cells shown bold dark red while their text starts with :data:`ALERT_PREFIX` (a
    #: conditional format given by :func:`alert_rule`).
    alert_cells: list[str] = field(default_factory=list)
    #: Row heights in points by row number (wrapped headers and notes; see :func:`polish`).
    row_heights: dict[int, float] = field(default_factory=dict)
    #: A1 ranges merged into one cell (a note wrapped across the width of the table).
    merged: list[str] = field(default_factory=list)
    #: Printed pages side by side (1: one page wide); wider sheets repeat
    #: ``print_title_columns`` on every page.
    pages_wide: int = 1
    print_title_columns: str | None = None
    #: Printed pages one under the other (0: as many as needed); see :func:`polish`.
    pages_tall: int = 0
    #: A4 paper ``"landscape"`` or ``"portrait"``, whichever prints the sheet on fewer pages
    #: at a readable size (:func:`page_fit`, set by :func:`polish`).
    orientation: str = "landscape"
    #: A1 ranges aligned right: the headers of number columns, so each stands over its
    #: numbers (see :func:`polish`).
    align_right: list[str] = field(default_factory=list)
    #: The printed range (the table's columns: longer text past them is not printed).
    print_area: str | None = None
    #: In live-formula mode, what each formula cell of ``cells`` computes, as the engine
    #: scored it (rows from A1, None where unknown): a file writer saves them as the
    #: formulas' cached values, so a viewer that never recalculates shows the scores.
    formula_values: list[list] | None = None
    #: Links inside the workbook: A1 cell → the place it opens, as a sheet-qualified
    #: reference (``'D1 data'!C7``). The cell keeps its value as the link's text.
    links: dict[str, str] = field(default_factory=dict)
    #: Cell notes (Excel's notes, the legacy comments): A1 cell → text. Few per sheet:
    #: their number never grows with the number of cities.
    notes: dict[str, str] = field(default_factory=dict)
    #: The sheet tab's colour as RGB hex (``"1F4E79"``), by the sheet's role; see
    #: :data:`TAB_COLORS`.
    tab_color: str | None = None
    #: Manual page breaks: a new printed page starts after each of these rows (a section
    #: heading kept with its table).
    row_breaks: list[int] = field(default_factory=list)
    #: Live-formula mode: the formulas follow the inputs as the spreadsheet recalculates,
    #: so the sheet's values get no fingerprint (values mode's formulas keep the run's values).
    live: bool = False


#: The longest text an Excel cell holds; openpyxl cuts a longer one silently.
MAX_CELL_TEXT = 32_767


def split_text(text: str, separator: str = ", ", limit: int = MAX_CELL_TEXT) -> list[str]:
    """``text`` as pieces of at most ``limit`` characters, cut after a ``separator`` (a
    list of names stays whole names), so that each piece fits one cell and the pieces
    joined with no separator between them give ``text`` back. A part longer than
    ``limit`` with no separator in it is cut where the limit falls."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(separator, 0, limit - len(separator) + 1)
        cut = cut + len(separator) if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces + [text]


def check_cell_texts(output: "SheetOutput") -> None:
    """Raise ``ValueError`` naming the cell when a text of ``output`` is longer than an
    Excel cell holds (it would be cut silently on writing): a renderer that makes free
    text splits it first (:func:`split_text`)."""
    for r, row in enumerate(output.cells, start=1):
        for c, value in enumerate(row, start=1):
            if type(value) is str and len(value) > MAX_CELL_TEXT:
                raise ValueError(f"{output.name}!{column_letter(c)}{r}: a text of {len(value):,} characters, longer than a cell holds ({MAX_CELL_TEXT:,})")


def cell_value(value):
    """A value as a worksheet cell holds it: int, float, str, bool or None (for NaN)."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else (int(value) if value.is_integer() and abs(value) < 2**53 else value)
    if hasattr(value, "item"):  # numpy scalar
        return cell_value(value.item())
    if value is pd.NA:
        return None
    return value


def _rect(rows: list[list]) -> list[list]:
    width = max(len(r) for r in rows)
    # ints, texts and blanks (most cells) are kept as they are without a call each
    return [[v if type(v) is int or type(v) is str or v is None else cell_value(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _sorted_by_rank(frame: pd.DataFrame, rank: pd.Series, order: list[str]) -> pd.DataFrame:
    # Ties keep edition order (the report's own order within ties is not published as data). One stable lexsort of the arrays
    # (rank, then edition position): assign, reindex and a two-key sort_values took about
    # 1 ms a sheet, 11 sheets a Recalculate.
    ranks = rank.reindex(frame.index).to_numpy()
    place = {city: i for i, city in enumerate(order)}
    positions = np.array([place.get(city, np.nan) for city in frame.index], dtype="float64")
    chosen = np.lexsort((positions, ranks))
    return frame.iloc[chosen].assign(_rank=ranks[chosen])


def _table_rows(frame: pd.DataFrame, columns: list) -> list[list]:
    """The rows of ``frame`` as lists of the given columns (None: the index), read a column
    at a time: row by row, pandas builds a Series for every row (3,000 cities x 20 sheets)."""
    lists = [frame.index.tolist() if column is None else frame[column].tolist() for column in columns]
    return [list(row) for row in zip(*lists)]


def _stamp(run_time: str) -> str:
    return f"Written by cityopp-xl {__version__} on {run_time}. Replaced on every Recalculate: edit the input sheets, not this one."


def render_outputs(
    pipeline: Pipeline, problems: list[Problem], *, run_time: str | None = None, source: str = "", formulas: bool | None = None
) -> list[SheetOutput]:
    """Every output sheet of a run, in the order they are placed.

    ``run_time`` is the ISO time to stamp (now, by default); ``source`` names the workbook
    in the log. ``formulas``: write the Indicator scores, score and Overall sheets as live
    formulas over the input cells (see :mod:`.formulas`); None follows the Settings sheet.
    """
    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    framework = pipeline.framework
    cities = list(pipeline["raw"].index)
    formulas = pipeline.settings.formulas if formulas is None else formulas
    live: dict[str, SheetOutput] = {}
    if formulas:
        from .formulas import render_formula_sheets  # formulas imports this module

        live = render_formula_sheets(pipeline, run_time)
    outputs: list[SheetOutput] = []
    for position, dimension in enumerate(framework.dimensions, start=1):
        outputs.append(live.get(score_sheet(position)) or _dimension_sheet(pipeline, position, dimension, cities, run_time))
    last = score_sheet(len(framework.dimensions))
    reconciliation = reconcile(pipeline)
    outputs.append(live.get(SHEET_OVERALL) or _overall_sheet(pipeline, cities, run_time, after=last, reconciliation=reconciliation))
    from .trail import add_audit_trail, ranks_sheet  # trail imports this module

    outputs.append(ranks_sheet(pipeline, outputs, run_time))
    from .analysis_sheets import render_analysis  # analysis_sheets imports this module

    analysis = render_analysis(pipeline, run_time, after=SHEET_RANKS)
    outputs += analysis
    from .robustness_sheet import render_robustness  # robustness_sheet imports this module

    outputs.append(render_robustness(pipeline, run_time, after=analysis[-1].name if analysis else SHEET_RANKS))
    indicator_after = SHEET_ROBUSTNESS
    if formulas:
        outputs.append(dataclasses.replace(live[SHEET_INDICATOR_SCORES], after=indicator_after))
    else:
        outputs.append(_indicator_sheet(pipeline, run_time, after=indicator_after))
    add_audit_trail(outputs, pipeline)  # values mode: the score sheets as formulas with their values
    after = SHEET_INDICATOR_SCORES
    if len(reconciliation):
        outputs.append(_reconciliation_sheet(reconciliation, run_time, after=after))
        after = SHEET_RECONCILIATION
    from .data_notes_sheet import render_data_notes  # data_notes_sheet imports this module

    data_notes = render_data_notes(pipeline, reconciliation, outputs, run_time, after=after)
    if data_notes is not None:
        outputs.append(data_notes)
        after = SHEET_DATA_NOTES
    outputs.append(_log_sheet(pipeline, problems, reconciliation, run_time, source, after=after, formulas=formulas))
    add_stale_check(outputs, pipeline.inputs)
    for output in outputs:
        output.tab_color = output.tab_color or tab_color(output.name)
    from .integrity import add_output_fingerprints  # integrity imports this module

    # Every sheet but the Log is polished (sized, merged, aligned) before the Log records
    # the fingerprints of the other sheets' values and formats, then the Log itself.
    log = next(output for output in outputs if output.name == SHEET_LOG)
    outputs = [output if output is log else polish(output) for output in outputs]
    add_output_fingerprints(outputs)  # last: it fingerprints the other sheets as written
    polish(log)
    if problems:
        outputs.append(polish(problems_sheet(problems, run_time, after=SHEET_LOG)))
    return outputs


def _dimension_sheet(pipeline: Pipeline, position: int, dimension: str, cities: list[str], run_time: str) -> SheetOutput:
    framework = pipeline.framework
    variables = [v.name for v in framework.variables_of(dimension)]
    n = len(cities)
    scores = pipeline["variable_scores"][variables].copy()
    scores["Total"] = pipeline["dimension_scores"][dimension]
    ranked = _sorted_by_rank(scores, pipeline["dimension_ranks"][dimension], cities)
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
    rows += _table_rows(ranked, ["_rank", None, *variables, "Total"])
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


def _overall_sheet(pipeline: Pipeline, cities: list[str], run_time: str, after: str, reconciliation: pd.DataFrame | None = None) -> SheetOutput:
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
        output.widths[g.letter(total + 2)] = 40  # the Note column
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
    for row in inconsistent.itertuples(index=False):
        figure = "overall" if row.figure == "overall" else row.figure
        what = parts.get(row.figure, "its variable scores sum to")
        flags.setdefault(row.city, []).append(f"published {figure} {_whole(row.published)}; {what} {_whole(row.published_components)}")
    return {city: "; ".join(texts) for city, texts in flags.items()}


def _whole(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


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


def _log_sheet(pipeline: Pipeline, problems: list[Problem], reconciliation: pd.DataFrame, run_time: str, source: str, after: str, formulas: bool = False) -> SheetOutput:
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
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name on some hosts (containers, services)
        return ""


# --------------------------------------------------------------------------- provenance and the stale check

#: Blank rows and columns copied around each input table, so that a city or a column added
#: next to a table counts as a change in the workbook's own stale check.
COPY_MARGIN_ROWS = 10
COPY_MARGIN_COLUMNS = 2
#: The workbook's warnings start with this text (and a conditional format turns them red).
ALERT_PREFIX = "Inputs"
STALE_WARNING = "Inputs changed since last Recalculate: "
STALE_UNCHECKED = "Inputs not checked (the Log sheet is missing or was edited): Recalculate. "
#: Log labels of the stale check.
LOG_STALE_SUMMARY = "inputs changed since this Recalculate"
LOG_STALE_HEADER = ["Stale check", "Changed cells", "Input table", "Copy on this sheet"]


def copy_table(sheet: str, rows: list[list], table: SheetTable) -> TableCopy:
    """The cells of an input table as a sheet's values hold them: the header row, the
    body, then :data:`COPY_MARGIN_ROWS` rows below and :data:`COPY_MARGIN_COLUMNS` columns
    to the right (blank unless something is there)."""
    header_row = table.first_row - 1
    width = len(table.frame.columns) + table.first_col - 1 + COPY_MARGIN_COLUMNS
    height = 1 + len(table.frame.index) + COPY_MARGIN_ROWS
    cells = []
    for number in range(header_row - 1, header_row - 1 + height):
        row = rows[number] if number < len(rows) else []
        cells.append(tuple(_copied(row[c]) if c < len(row) else None for c in range(width)))
    return TableCopy(sheet, header_row, tuple(cells))


def _copied(value):
    # A copy keeps what the cell showed: numbers, text, booleans, dates; NaN is a blank.
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def fingerprint_sheets(framework) -> dict[str, str]:
    """The sheet each input fingerprint comes from (see :func:`pipeline.input_fingerprints`)."""
    sheets = {"framework": SHEET_FRAMEWORK, "cities": SHEET_CITIES, "settings": SHEET_SETTINGS, "published": SHEET_PUBLISHED}
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheets[dimension] = data_sheet(position)
    return sheets


def read_log(rows: list[list]) -> tuple[str, dict[str, str]]:
    """The run time and the input fingerprints a Log sheet recorded (its values from A1).

    Reads the item/value block under the ``Item`` header, down to its first blank row.
    Returns ``("", {})`` when the sheet holds no run log.
    """
    run_time, prints = "", {}
    started = False
    for row in rows:
        first = cell_text(row[0]) if row else ""
        if not started:
            started = first == "Item"
            continue
        if not first:
            break
        value = cell_text(row[1]) if len(row) > 1 else ""
        if first == "run time":
            run_time = value
        elif first.startswith("fingerprint: "):
            prints[first[len("fingerprint: "):]] = value
    return run_time, prints


def find_stale_problems(inputs, log_rows: list[list] | None) -> list[Problem]:
    """Warnings for the inputs changed since the run a Log sheet recorded, one per input
    sheet (``D3 data: inputs changed since the last Recalculate (...)``); none when there
    is no Log sheet (``log_rows`` None or empty)."""
    if not log_rows:
        return []
    run_time, stored = read_log(log_rows)
    return stale_problems(stored, input_fingerprints(inputs), run_time=run_time, where=fingerprint_sheets(inputs.framework))


def _reference(sheet: str, area: str, absolute: bool = False) -> str:
    if absolute:
        area = ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in area.split(":"))
    return f"{quote_sheet(sheet)}!{area}"


def _text_literal(text: str) -> str:
    """A text as a formula literal; Excel allows at most 255 characters in one literal."""
    text = text.replace('"', '""')
    parts = [text[i : i + 250] for i in range(0, len(text), 250)] or [""]
    return "&".join(f'"{part}"' for part in parts)


def alert_rule(cell: str) -> str:
    """The conditional-format formula (without "=") true while ``cell`` shows a warning."""
    column = "".join(ch for ch in cell if ch.isalpha())
    row = "".join(ch for ch in cell if ch.isdigit())
    return f'LEFT(${column}${row},{len(ALERT_PREFIX)})="{ALERT_PREFIX}"'


def add_stale_check(outputs: list[SheetOutput], inputs) -> None:
    """Give the workbook its own "inputs changed" warning, computed by native formulas.

    The Log gets a copy of every input table (cell for cell, as read) and, per input
    sheet, a formula counting the cells that differ from the copy,
    ``=IFERROR(SUMPRODUCT(1-EXACT(table&"",copy&"")),-1)`` (-1: the table cannot be
    compared, e.g. rows were inserted into it), and a summary cell naming the sheets whose
    count is not 0. Cell A3 of the Overall, score and Indicator scores sheets (the "Written
    by" line) becomes a formula that puts the warning in front of that line while the
    summary is not empty. Nothing is added when the inputs carry no table copies (they did
    not come from a workbook).
    """
    copies = list(getattr(inputs, "table_copies", {}).values())
    log = next((o for o in outputs if o.name == SHEET_LOG), None)
    if log is None or not copies:
        return
    rows = [list(r) for r in log.cells]
    rows.append([])
    rows.append(list(LOG_STALE_HEADER))
    header = len(rows)
    # The values under the formulas are what they show while nothing changed (a file
    # writer saves them as the formulas' cached values).
    rows.append([LOG_STALE_SUMMARY, "", "up to date"])
    summary = f"B{len(rows)}"
    first_count = len(rows) + 1
    placed = []
    top = first_count + len(copies) + 2  # after the count rows, a blank row and a title
    for copy in copies:
        top += 1  # the copy's own title row
        area = f"A{top}:{column_letter(max(copy.width, 1))}{top + copy.height - 1}"
        placed.append((copy, area))
        top += copy.height + 1
    formulas = {}
    for offset, (copy, area) in enumerate(placed):
        row = first_count + offset
        rows.append([copy.sheet, 0, _reference(copy.sheet, copy.area), _reference(SHEET_LOG, area)])
        formulas[f"B{row}"] = f'=IFERROR(SUMPRODUCT(1-EXACT({_reference(copy.sheet, copy.area)}&"",{_reference(SHEET_LOG, area)}&"")),-1)'
    names = "&".join(f'IF(B{first_count + k}<>0,{_text_literal(", " + copy.sheet)},"")' for k, (copy, _) in enumerate(placed))
    formulas[summary] = f"=MID({names},3,2000)"
    status = f"C{header + 1}"
    formulas[status] = f'=IF({summary}="","up to date",{_text_literal(STALE_WARNING)}&{summary})'
    rows.append([])
    rows.append(["Copies of the input tables at this Recalculate (the stale check compares each input table with its copy)"])
    titles = [len(rows)]
    for copy, area in placed:
        rows.append([f"Copy of {_reference(copy.sheet, copy.area)}"])
        titles.append(len(rows))
        rows += [list(r) for r in copy.cells]
        rows.append([])
    log.cells = _rect(rows)
    log.bold = log.bold + [f"A{header}:D{header}"] + [f"A{t}:A{t}" for t in titles]
    log.formula_cells = {**log.formula_cells, **formulas}
    log.alert_cells = log.alert_cells + [status]
    warning_of = _reference(SHEET_LOG, summary, absolute=True)
    for output in outputs:
        if output.name not in (SHEET_OVERALL, SHEET_RANKS, SHEET_INDICATOR_SCORES) and not _SCORE_SHEET.fullmatch(output.name):
            continue
        stamp = cell_text(output.cells[2][0]) if len(output.cells) > 2 and output.cells[2] else ""
        stamp_literal = _text_literal(stamp)
        output.formula_cells = {
            **output.formula_cells,
            "A3": f'=IFERROR(IF({warning_of}="",{stamp_literal},{_text_literal(STALE_WARNING)}&{warning_of}'
            f'&{_text_literal(". These sheets are out of date: Recalculate. ")}&{stamp_literal}),{_text_literal(STALE_UNCHECKED)}&{stamp_literal})',
        }
        output.alert_cells = output.alert_cells + ["A3"]


# --------------------------------------------------------------------------- print and screen polish

#: Height in points of one line of text (Calibri 11 in Excel; LibreOffice's stand-in fits).
LINE_HEIGHT = 15.0
#: Width of a column that has none set (Excel's default, in characters).
DEFAULT_WIDTH = 8.43
#: Characters of wrapped text a line holds per character of column width (a width counts
#: digits): bold headers run wider than digits, plain sentences narrower. Measured on the
#: rendered 2025 master (Carlito, metric-compatible with Calibri): a line of prose holds
#: about 1.25 characters per unit of width; 1.15 leaves a margin, so no line is cut.
WRAP_FILL = 0.9
NOTE_FILL = 1.15
#: The widest table (in characters) printed one page across at a readable size; wider
#: tables print on several pages across.
PAGE_WIDTH_CHARACTERS = 240
#: Table rows a landscape page holds at full size: a table with repeated header rows is
#: scaled to fill whole pages (60 cities: two pages, not two and a few rows).
ROWS_PER_PAGE = 32
#: The printable part of an A4 page inside the margins every writer sets (0.5 inch left and
#: right, 0.6 inch top and bottom), in points, by orientation: (width, height).
PRINTABLE = {"portrait": (595.3 - 72, 841.9 - 86.4), "landscape": (841.9 - 72, 595.3 - 86.4)}
#: The smallest print scale a sheet is shrunk to when it would otherwise take more pages
#: (Calibri 11 prints at 6.8 pt, about the size of the report's own tables).
MIN_PRINT_SCALE = 0.62


def pages_tall(rows: int) -> int:
    """Pages one under the other for a table of ``rows`` rows under its header."""
    return max(1, math.ceil(rows / ROWS_PER_PAGE))


def column_points(width: float) -> float:
    """The printed width in points of a column ``width`` characters wide (Excel: a
    character is 7 pixels of Calibri 11, plus 5 pixels of padding; 0.75 point a pixel)."""
    return (width * 7 + 5) * 0.75


def page_fit(width: float, height: float, title_height: float = 0.0, *, pages_wide: int = 1) -> tuple[str, int]:
    """The orientation and the pages tall that print a block ``width`` points wide and
    ``height`` points tall on the fewest A4 pages without shrinking it below
    :data:`MIN_PRINT_SCALE` (or below what its width needs, when even landscape needs
    more); among as few pages, the larger print. ``title_height``: the points of header
    rows repeated on every page (counted once in ``height``)."""
    width = width / max(pages_wide, 1)
    body = max(height - title_height, 0.0)
    choices = []
    for orientation, (page_width, page_height) in PRINTABLE.items():
        by_width = min(1.0, page_width / width) if width else 1.0
        floor = min(MIN_PRINT_SCALE, by_width)
        scale_of = lambda tall: min(by_width, tall * page_height / (body + tall * title_height))  # noqa: E731
        tall = max(1, math.ceil(body * floor / (page_height - title_height * floor)) - 1) if page_height > title_height * floor else 1
        while scale_of(tall) < floor - 1e-9:
            tall += 1
        cramped = by_width < MIN_PRINT_SCALE - 1e-9  # then the larger print first
        scale = scale_of(tall)
        choices.append((cramped, -scale if cramped else tall, tall if cramped else -scale, orientation == "portrait", orientation, tall))
    best = min(choices)
    return best[4], best[5]


def print_scale(output: SheetOutput) -> int | None:
    """The fixed print scale (per cent) of a sheet with manual page breaks, or None for a
    sheet printed "fit to pages". Excel and LibreOffice ignore manual page breaks on a
    sheet fitted to pages, so such a sheet is scaled instead: as large as lets its printed
    columns fit ``pages_wide`` pages across (at most 100 %, at least 10 %)."""
    if not output.row_breaks:
        return None
    if output.print_area:
        first, _, last = output.print_area.partition(":")
        columns = range(column_number("".join(c for c in first if c.isalpha())), column_number("".join(c for c in (last or first) if c.isalpha())) + 1)
    else:
        columns = range(1, max((len(row) for row in output.cells), default=1) + 1)
    widths = {column_number(k): v for k, v in output.widths.items()}
    points = sum(column_points(widths.get(c, DEFAULT_WIDTH)) for c in columns)
    return max(10, min(100, math.floor(100 * PRINTABLE[output.orientation][0] * output.pages_wide / points)))


def text_lines(text, width: float, fill: float = WRAP_FILL) -> int:
    """How many lines ``text`` takes when wrapped in a column ``width`` characters wide
    (an estimate: a word longer than a line takes a line of its own)."""
    import textwrap

    per_line = max(int(width * fill), 1)
    return max(1, sum(len(textwrap.wrap(part, per_line, break_long_words=False, break_on_hyphens=True)) or 1 for part in str(text).split("\n")))


def _areas(area: str):
    first, _, last = area.partition(":")
    last = last or first
    split = lambda a: (column_number("".join(c for c in a if c.isalpha())), int("".join(c for c in a if c.isdigit())))  # noqa: E731
    (c1, r1), (c2, r2) = split(first), split(last)
    return range(r1, r2 + 1), range(c1, c2 + 1)


def _last_filled(row: list) -> int:
    """The number of the last cell of ``row`` that is not None (0 for none)."""
    for index in range(len(row) - 1, -1, -1):
        if row[index] is not None:
            return index + 1
    return 0


def polish(output: SheetOutput) -> SheetOutput:
    """Size what a reader would otherwise find cut off, from the cells and column widths.

    * Each row of a ``wrap`` area is as tall as its tallest wrapped header.
    * The header of a column of numbers is aligned right, over its numbers.
    * A note (a row from row 2 down holding one text, in column A, wider than the column)
      is merged across the table and wrapped, and its row is as tall as its lines: text
      running past the table would otherwise be cut off on screen or shrink the printed
      page to fit it.
    * A table with repeated header rows fills whole pages (:func:`pages_tall`).
    * The print area is the table's columns; a table wider than
      :data:`PAGE_WIDTH_CHARACTERS` prints on several pages across, repeating the columns
      left of the frozen pane on each.

    Returns the same output, changed in place.
    """
    widths = {column_number(k): v for k, v in output.widths.items()}
    width_of = lambda column: widths.get(column, DEFAULT_WIDTH)  # noqa: E731
    table_columns = max((_last_filled(row) for row in output.cells if len(row) - row.count(None) > 1), default=0)
    if output.print_area:  # the printed columns: a note spans them, text fits in them
        table_columns = min(table_columns, _areas(output.print_area.split(",")[0])[1][-1])
    _fit_columns(output, widths, table_columns)
    table_width = sum(width_of(c) for c in range(1, table_columns + 1))
    heights = dict(output.row_heights)
    bold_rows = {row for area in output.bold for row in _areas(area)[0]}
    span = {}  # a merged cell wraps across its columns
    for area in output.merged:
        rows, columns = _areas(area)
        span[rows[0], columns[0]] = sum(width_of(c) for c in columns)

    def size(areas: list[str]) -> None:
        """Heights of the rows of wrapped ``areas``."""
        for area in areas:
            rows, columns = _areas(area)
            for row in rows:
                if row > len(output.cells):
                    continue
                cells = output.cells[row - 1]
                fill = WRAP_FILL if row in bold_rows else NOTE_FILL  # bold headers run wider
                lines = max((text_lines(cells[c - 1], span.get((row, c)) or width_of(c), fill) for c in columns if c - 1 < len(cells) and isinstance(cells[c - 1], str)), default=1)
                # Every row of the area, of one line or more: the number of heights must
                # not depend on the text (one formatting call each in Excel).
                heights[row] = max(heights.get(row, LINE_HEIGHT), lines * LINE_HEIGHT)

    size(output.wrap)
    merged = list(output.merged)
    if table_columns > 1:
        last = column_letter(table_columns)
        for number, row in enumerate(output.cells[1:], start=2):
            # One text in column A and nothing else (counted in C: a score sheet has
            # thousands of rows). Every text wider than column A, not only those wider
            # than the table: the number of formatting calls must not depend on the
            # numbers in the text.
            if not row or not isinstance(row[0], str) or row.count(None) != len(row) - 1 or len(row[0]) <= width_of(1):
                continue
            merged.append(f"A{number}:{last}{number}")
            heights[number] = text_lines(row[0], table_width, NOTE_FILL) * LINE_HEIGHT
    output.row_heights = heights
    output.merged = merged
    number_headers = _number_headers(output)
    output.align_right = output.align_right + number_headers
    _space_text_after_numbers(output, number_headers)
    if table_columns > 1 and output.print_area is None:
        # Text running past the table would otherwise widen the printed page (and shrink
        # everything on it) in some applications.
        output.print_area = f"A1:{column_letter(table_columns)}{len(output.cells)}"
    if table_width > PAGE_WIDTH_CHARACTERS and output.pages_wide == 1:
        output.pages_wide = math.ceil(table_width / PAGE_WIDTH_CHARACTERS)
        frozen = "".join(c for c in (output.freeze or "") if c.isalpha())
        if frozen and column_number(frozen) > 1:
            output.print_title_columns = f"A:{column_letter(column_number(frozen) - 1)}"
    _fit_pages(output, width_of, table_columns)
    return output


#: The widest a column grows to hold its longest text; longer text wraps.
MAX_TEXT_WIDTH = 40


def _header_areas(output: SheetOutput) -> list[str]:
    """Bold areas of header rows (at most 3 rows tall, at least 2 columns wide)."""
    return [area for area in output.bold if len(_areas(area)[0]) <= 3 and len(_areas(area)[1]) >= 2]


def _longest_word(text: str) -> int:
    """The longest piece of ``text`` a wrapped line cannot break (as :func:`text_lines`)."""
    return max((len(word) for word in re.split(r"\s+|(?<=-)", text)), default=0)


def _fit_columns(output: SheetOutput, widths: dict[int, float], table_columns: int) -> None:
    """Size the printed columns to their content, so no printed text is cut off.

    * Header rows wrap, and a header's column is as wide as its longest word.
    * A column widens, up to :data:`MAX_TEXT_WIDTH`, for a text longer than it and the
      empty cells to its right inside the table (a renderer wraps or merges longer text).

    Only widths change here, never the number of merged or wrapped areas, which must not
    depend on the data (one formatting call each in Excel). Only the printed rows count
    (the print area, when the renderer set one). Widths only grow; ``widths`` is changed in
    place and written back to ``output.widths``.
    """
    if table_columns < 2:
        return
    last_row = len(output.cells)
    if output.print_area:
        last_row = min(last_row, _areas(output.print_area.split(",")[0])[0][-1])
    width_of = lambda column: widths.get(column, DEFAULT_WIDTH)  # noqa: E731
    headers = _header_areas(output)
    header_rows = {row for area in headers for row in _areas(area)[0]}
    wrapped = {(row, column) for area in output.wrap + output.merged for row in _areas(area)[0] for column in _areas(area)[1]}
    for area in headers:
        rows, columns = _areas(area)
        for row in rows:
            cells = output.cells[row - 1] if row <= last_row else []
            for column in columns:
                value = cells[column - 1] if column - 1 < len(cells) else None
                if isinstance(value, str) and not value.startswith("="):
                    widths[column] = max(width_of(column), min(math.ceil(_longest_word(value) / WRAP_FILL), MAX_TEXT_WIDTH))
    output.wrap = output.wrap + [area for area in headers if area not in output.wrap]
    for number, row in enumerate(output.cells[:last_row], start=1):
        if number <= 3 or number in header_rows or len(row) - row.count(None) < 2:
            continue  # the title rows, headers (wrapped) and notes (merged by polish)
        for column in range(1, min(len(row), table_columns) + 1):
            value = row[column - 1]
            if not isinstance(value, str) or (output.formulas and value.startswith("=")) or (number, column) in wrapped:
                continue
            free = column + 1
            while free <= table_columns and (free > len(row) or row[free - 1] is None):
                free += 1
            spare = sum(width_of(c) for c in range(column + 1, free))
            needed = math.ceil(len(value) / NOTE_FILL) + 1 - spare
            if needed > width_of(column):
                widths[column] = min(needed, max(width_of(column), MAX_TEXT_WIDTH))
    output.widths = {column_letter(c): w for c, w in sorted(widths.items())}


def _fit_pages(output: SheetOutput, width_of, table_columns: int) -> None:
    """Orientation and pages tall from the printed block (:func:`page_fit`): the print
    area's rows and columns (the table's columns when there is none), at their heights."""
    last_row, last_column = len(output.cells), table_columns
    if output.print_area:
        rows, columns = _areas(output.print_area.split(",")[0])
        last_row, last_column = min(rows[-1], last_row), columns[-1]
    height_of = lambda row: output.row_heights.get(row, TITLE_FONT_SIZE * 1.35 if row == 1 else LINE_HEIGHT)  # noqa: E731
    last_row = max(last_row, 1)
    width = sum(column_points(width_of(c)) for c in range(1, max(last_column, 1) + 1))
    height = sum(height_of(row) for row in range(1, last_row + 1))
    title_height = 0.0
    if output.print_title_rows:
        first, _, last = output.print_title_rows.partition(":")
        title_height = sum(height_of(row) for row in range(int(first), int(last or first) + 1))
    orientation, tall = page_fit(width, height, title_height, pages_wide=output.pages_wide)
    output.orientation = orientation
    if output.pages_tall:
        return
    page_width, page_height = PRINTABLE[orientation]
    body = height - title_height
    scale = min(1.0, page_width * output.pages_wide / width if width else 1.0, tall * page_height / (body + tall * title_height))
    breaks = _heading_breaks(output, [height_of(row) for row in range(1, last_row + 1)], page_height / scale - title_height)
    output.row_breaks = sorted(set(output.row_breaks) | set(breaks))
    output.pages_tall = tall + len(breaks)


#: Rows of a table kept on the page of its heading: the header and this many rows under it.
KEEP_WITH_HEADING = 3


def _heading_breaks(output: SheetOutput, heights: list[float], capacity: float) -> list[int]:
    """Page breaks that keep each section heading with its table: a heading (a bold row
    holding one text in column A) whose heading rows, header and first rows would not fit
    on the rest of the page starts a new page. ``capacity``: the points a printed page
    holds (at the sheet's print scale, less the repeated header rows)."""
    bold_rows = {row for area in output.bold for row in _areas(area)[0]}
    header_rows = {row for area in _header_areas(output) for row in _areas(area)[0]}
    breaks, used = [], 0.0
    for row in range(1, len(heights) + 1):
        cells = output.cells[row - 1]
        heading = row > 3 and row in bold_rows and row not in header_rows and cells and isinstance(cells[0], str) and all(v is None for v in cells[1:])
        if heading and used > 0:
            end = row
            while end < len(heights) and end - row < 4 and end not in header_rows:
                end += 1  # the heading, its note and its header
            block = sum(heights[row - 1 : min(end + KEEP_WITH_HEADING, len(heights))])
            if used + block > capacity:
                breaks.append(row - 1)
                used = 0.0
        used += heights[row - 1]
        if used > capacity:  # the page ended on its own
            used = heights[row - 1]
    return breaks


# --------------------------------------------------------------------------- diff


#: Sheets whose tables a diff names cells of (see :func:`cityopp_xl.diff.compare_inputs`).
DIFF_TABLE_SHEETS = {"framework": SHEET_FRAMEWORK, "cities": SHEET_CITIES, "settings": SHEET_SETTINGS}


def diff_sheet(diff, old_name: str, new_name: str, *, run_time: str | None = None, after: str = SHEET_LOG) -> SheetOutput:
    """The Diff sheet: counts, the cities and indicators added, removed or renamed, every
    changed input cell (its address in each workbook, old and new value), then every score
    and rank that moved, level by level, largest moves first. ``diff`` is a
    :class:`cityopp_xl.diff.Diff` of ``old_name`` (old) against ``new_name`` (new)."""
    from ..diff import LEVELS

    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    rows: list[list] = [
        [f"Diff: {old_name} → {new_name}"],
        [f"Old: {old_name}. New: {new_name}. Input cells that differ, then every score and rank that moved as a result (change = new - old; a negative rank change is a move up)."],
        [f"Written by cityopp-xl {__version__} on {run_time}. Replaced by the next comparison; Recalculate deletes it."],
        ["Summary", "Count"],
    ]
    rows += [[key, value] for key, value in diff.counts().items()]
    bold = ["A4:B4"]

    def table(title: str, header: list[str], body: list[list]) -> None:
        rows.append([])
        rows.append([f"{title} ({len(body)})" if body else f"{title}: none"])
        rows.append(header)
        bold.append(f"A{len(rows) - 1}:{column_letter(len(header))}{len(rows)}")
        rows.extend(body)

    table("Cities and indicators added, removed or renamed", ["Kind", "Change", "Old", "New"], [list(r) for r in diff.structure.itertuples(index=False)])
    table(
        "Changed input cells",
        ["Old cell", "New cell", "Kind", "Item", "Field", "Old value", "New value"],
        [[r.old_address, r.new_address, r.kind, r.item, r.field, r.old, r.new] for r in diff.cells.itertuples(index=False)],
    )
    moves = diff.moves.assign(_level=diff.moves["level"].map({level: k for k, level in enumerate(LEVELS)})).sort_values("_level", kind="stable")
    table(
        "Score and rank moves",
        ["Level", "Item", "City", "Old", "New", "Change"],
        [[r.level, r.item, r.city, r.old, r.new, r.change] for r in moves.itertuples(index=False)],
    )
    return SheetOutput(
        name=SHEET_DIFF,
        after=after,
        cells=_rect(rows),
        bold=bold,
        widths={"A": 30, "B": 26, "C": 18, "D": 18, "E": 24, "F": 14, "G": 14},
        tab_color=tab_color(SHEET_DIFF),
    )


#: The number format of a text column right of a column of numbers: a space before the
#: text, so a right-aligned number does not run into it ("2446 First tier").
TEXT_AFTER_NUMBERS = '"  "@'


def _space_text_after_numbers(output: SheetOutput, number_headers: list[str]) -> None:
    """Give the text column right of each run of number headers :data:`TEXT_AFTER_NUMBERS`,
    from its header down to the table's last row (the first blank row)."""
    for area in number_headers:
        rows, columns = _areas(area)
        row, column = rows[0], columns[-1] + 1
        header = output.cells[row - 1]
        if column > len(header) or not isinstance(header[column - 1], str):
            continue
        if not any(row in rows_ and column in columns_ for rows_, columns_ in map(_areas, output.bold)):
            continue  # not a header of the same table (a bar, a chart's labels)
        last = row
        while last < len(output.cells) and any(v is not None for v in output.cells[last]):
            last += 1
        # Decided from the headers alone: the number of formats must not depend on the data
        # (a text format leaves numbers as they are).
        output.number_formats = {**output.number_formats, f"{column_letter(column)}{row}:{column_letter(column)}{last}": TEXT_AFTER_NUMBERS}


def _number_headers(output: SheetOutput) -> list[str]:
    """The header cells (rows of bold areas at most 3 rows tall) standing over numbers, as
    runs of columns."""

    def number(value) -> bool:
        if isinstance(value, bool):
            return False
        return isinstance(value, (int, float)) or (output.formulas and isinstance(value, str) and value.startswith("="))

    areas = []
    for area in output.bold:
        rows, columns = _areas(area)
        if len(columns) < 2 or len(rows) > 3:  # header rows, not a bold column of totals
            continue
        for row in rows:
            if row >= len(output.cells):
                continue
            areas += _runs_over_numbers(output.cells[row - 1], output.cells[row : row + 3], columns, row, number)
    return areas


def _runs_over_numbers(header: list, below: list[list], columns, row: int, number) -> list[str]:
    """Runs of header cells in ``row`` that have a number under them in ``below``."""
    areas = []
    run: list[int] = []
    for column in [*columns, None]:
        over_numbers = (
            column is not None
            and column - 1 < len(header)
            and isinstance(header[column - 1], str)
            and any(column - 1 < len(cells) and number(cells[column - 1]) for cells in below)
        )
        if over_numbers:
            run.append(column)
        elif run:
            areas.append(f"{column_letter(run[0])}{row}:{column_letter(run[-1])}{row}")
            run = []
    return areas
