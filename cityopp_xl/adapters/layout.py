"""The master workbook's layout: sheet names, header rows, the geometry of the score
sheets, table finding, and the description of an output sheet.

Sheet names are spelled only here. Readers hand this module the 2-D values of a sheet
(one bulk read) and get :class:`~cityopp_xl.model.SheetTable` objects back; writers get
:class:`SheetOutput` objects (a 2-D block of values plus a bounded list of formats) and
write each in one bulk call. The openpyxl and xlwings adapters therefore write exactly
the same cells. The renderers that make the output sheets import this module (it imports
none of them): :mod:`.render` lists them in order; :mod:`.printing` sizes each sheet for
screen and paper.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import Problem
from ..model import SheetTable, column_letter, column_number  # noqa: F401 (column_number: read as layout.column_number)

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
            # One object array (the frame's one block) made by NumPy: a third faster than
            # pandas reading the rows.
            frame = pd.DataFrame(np.array(body, dtype=object), columns=columns, dtype="object", copy=False) if body else pd.DataFrame(columns=columns, dtype="object")
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
    #: Cells shown bold dark red while their text starts with :data:`.stale_check.ALERT_PREFIX` (a
    #: conditional format given by :func:`.stale_check.alert_rule`).
    alert_cells: list[str] = field(default_factory=list)
    #: Row heights in points by row number (wrapped headers and notes; see :func:`.printing.polish`).
    row_heights: dict[int, float] = field(default_factory=dict)
    #: A1 ranges merged into one cell (a note wrapped across the width of the table).
    merged: list[str] = field(default_factory=list)
    #: Printed pages side by side (1: one page wide); wider sheets repeat
    #: ``print_title_columns`` on every page.
    pages_wide: int = 1
    print_title_columns: str | None = None
    #: Printed pages one under the other (0: as many as needed); see :func:`.printing.polish`.
    pages_tall: int = 0
    #: A4 paper ``"landscape"`` or ``"portrait"``, whichever prints the sheet on fewer pages
    #: at a readable size (:func:`.printing.page_fit`, set by :func:`.printing.polish`).
    orientation: str = "landscape"
    #: A1 ranges aligned right: the headers of number columns, so each stands over its
    #: numbers (see :func:`.printing.polish`).
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
        return None if math.isnan(value) else (int(value) if value.is_integer() and abs(value) < _EXACT else value)
    if hasattr(value, "item"):  # numpy scalar
        return cell_value(value.item())
    if value is pd.NA:
        return None
    return value


#: The types of the cells :func:`cell_value` keeps as they are.
_KEPT_TYPES = frozenset((int, str, type(None)))
_EXACT = 2**53  # floats whole and smaller than this are written as ints


def _rect(rows: list[list]) -> list[list]:
    width = max(len(r) for r in rows)
    rect = []
    for r in rows:
        # A row of ints, texts and blanks (most rows) is copied whole; other rows keep
        # those cells as they are without a call each.
        if _KEPT_TYPES.issuperset(map(type, r)):
            row = list(r)
        else:  # floats as cell_value makes them, inline
            row = [
                v
                if type(v) is int or type(v) is str or v is None
                else ((None if v != v else (int(v) if v.is_integer() and -_EXACT < v < _EXACT else v)) if type(v) is float else cell_value(v))
                for v in r
            ]
        if len(row) < width:
            row += [None] * (width - len(row))
        rect.append(row)
    return rect


def extended_rect(cells: list[list], rows: list[list]) -> list[list]:
    """``_rect(cells + rows)`` for ``cells`` that :func:`_rect` made: only the new rows are
    read, and the old ones padded again only when a new one is wider (the Log's output
    fingerprints go under its 1,200 rows)."""
    added = _rect(rows) if rows else []
    width = max(len(cells[0]) if cells else 0, len(added[0]) if added else 0)
    if cells and len(cells[0]) < width:
        cells = [row + [None] * (width - len(row)) for row in cells]
    return list(cells) + [row + [None] * (width - len(row)) for row in added]


def _sorted_by_rank(frame: pd.DataFrame, rank: pd.Series, order: list[str]) -> pd.DataFrame:
    # Ties keep edition order (the report's own order within ties is not published as data). One stable lexsort of the arrays
    # (rank, then edition position): assign, reindex and a two-key sort_values took about
    # 1 ms a sheet, 11 sheets a Recalculate.
    ranks = rank.reindex(frame.index).to_numpy()
    place = {city: i for i, city in enumerate(order)}
    positions = np.array([place.get(city, np.nan) for city in frame.index], dtype="float64")
    chosen = np.lexsort((positions, ranks))
    return frame.iloc[chosen].assign(_rank=ranks[chosen])


def _ranked_rows(columns: dict, rank: pd.Series, order: list[str]) -> list[list]:
    """``_table_rows(_sorted_by_rank(frame, rank, order), ["_rank", None, *columns])``
    for the frame whose columns are the Series of ``columns`` (all on one index), without
    building it: the rank, the city and each column's values, by the same stable lexsort."""
    series = list(columns.values())
    index = series[0].index
    on_index = lambda s: s if s.index.equals(index) else s.reindex(index)  # noqa: E731 - a pipeline's tables share their index
    ranks = on_index(rank).to_numpy()
    place = {city: i for i, city in enumerate(order)}
    labels = index.tolist()
    positions = np.array([place.get(city, np.nan) for city in labels], dtype="float64")
    chosen = np.lexsort((positions, ranks))
    lists = [ranks[chosen].tolist(), [labels[i] for i in chosen]]
    lists += [on_index(s).to_numpy()[chosen].tolist() for s in series]
    return [list(row) for row in zip(*lists)]


def _table_rows(frame: pd.DataFrame, columns: list) -> list[list]:
    """The rows of ``frame`` as lists of the given columns (None: the index), read a column
    at a time: row by row, pandas builds a Series for every row (3,000 cities x 20 sheets)."""
    lists = [frame.index.tolist() if column is None else frame[column].tolist() for column in columns]
    return [list(row) for row in zip(*lists)]


def _stamp(run_time: str) -> str:
    return f"Written by cityopp-xl {__version__} on {run_time}. Replaced on every Recalculate: edit the input sheets, not this one."


#: Sheets whose tables a diff names cells of (see :func:`cityopp_xl.diff.compare_inputs`).
DIFF_TABLE_SHEETS = {"framework": SHEET_FRAMEWORK, "cities": SHEET_CITIES, "settings": SHEET_SETTINGS}
