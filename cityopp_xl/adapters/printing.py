"""Print and screen polish of output sheets: column widths fitted to their text, wrapped and
merged notes, row heights, right-aligned number headers, print areas, orientation, scale
and page breaks (:func:`polish`), decided from a :class:`~.layout.SheetOutput` alone."""

from __future__ import annotations

import functools
import math
import re
import textwrap

from ..model import column_letter, column_number
from .layout import TITLE_FONT_SIZE, SheetOutput


#: Height in points of one line of text (Calibri 11 in Excel; LibreOffice's stand-in fits).
LINE_HEIGHT = 15.0
#: Excel's tallest row, in points: a taller height is refused by Excel (setting it fails)
#: and shows no more of a cell's text than this does.
MAX_ROW_HEIGHT = 409.0


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


@functools.lru_cache(maxsize=65536)
def text_lines(text, width: float, fill: float = WRAP_FILL) -> int:
    """How many lines ``text`` takes when wrapped in a column ``width`` characters wide
    (an estimate: a word longer than a line takes a line of its own). Cached: the same
    texts (headers, city names, notes) are measured for sizing and again for writing."""
    per_line = max(int(width * fill), 1)
    # A part no longer than a line (and no tab, which textwrap widens) is one line.
    return max(1, sum(1 if len(part) <= per_line and "\t" not in part else wrapped_lines(part, per_line) for part in str(text).split("\n")))


#: Where textwrap splits or drops text other than at a single space between words:
#: spaces at an end or side by side, and any other whitespace (textwrap widens or splits
#: at ASCII whitespace, and drops a piece of other whitespace at a break).
_NOT_PLAIN = re.compile(r"[^\S ]|  |^ | $")
#: textwrap's own pattern of the pieces a word breaks into after its hyphens.
_PIECES = textwrap.TextWrapper(break_on_hyphens=True).wordsep_re


def wrapped_lines(part: str, per_line: int) -> int:
    """``len(textwrap.wrap(part, per_line, break_long_words=False, break_on_hyphens=True)) or 1``.

    A part of words between single spaces (most texts) is counted by textwrap's own rule,
    piece by piece: a word is one piece, or the pieces textwrap's pattern breaks it into
    after its hyphens; a piece goes on the line when it fits (after a space, for a word's
    first piece), else it starts the next line, where a piece longer than a line stands
    alone. That is several times faster than textwrap, which splits the whole text with
    its pattern and builds each line; any other text goes through textwrap. A test
    compares the two on generated texts."""
    if _NOT_PLAIN.search(part):
        return len(textwrap.wrap(part, per_line, break_long_words=False, break_on_hyphens=True)) or 1
    lines, used = 1, -1
    for word in part.split(" "):
        space = 1
        for piece in [piece for piece in _PIECES.split(word) if piece] if "-" in word else (word,):
            if used < 0:
                used = len(piece)
            elif used + space + len(piece) <= per_line:
                used += space + len(piece)
            else:
                lines, used = lines + 1, len(piece)
            space = 0
    return lines


@functools.lru_cache(maxsize=65536)
def _areas(area: str):
    """The rows and columns (ranges, from 1) of an A1 area; cached, as the same areas are
    read again and again while a sheet is sized and written."""
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
    * No row is taller than Excel allows (:data:`MAX_ROW_HEIGHT`).
    * A table with repeated header rows fills whole pages (:func:`pages_tall`).
    * The print area is the table's columns; a table wider than
      :data:`PAGE_WIDTH_CHARACTERS` prints on several pages across, repeating the columns
      left of the frozen pane on each.

    Returns the same output, changed in place.
    """
    widths = {column_number(k): v for k, v in output.widths.items()}
    width_of = lambda column: widths.get(column, DEFAULT_WIDTH)  # noqa: E731
    table_columns = 0  # the last filled column of the rows holding two values or more
    for row in output.cells:
        if len(row) > table_columns and len(row) - row.count(None) > 1:  # a shorter row cannot reach further
            table_columns = max(table_columns, _last_filled(row))
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
    output.row_heights = {row: min(height, MAX_ROW_HEIGHT) for row, height in heights.items()}
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
    fitting: dict[int, int] = {}  # column → the longest text that fits it at its width now
    for number, row in enumerate(output.cells[:last_row], start=1):
        if number <= 3 or number in header_rows or len(row) - row.count(None) < 2:
            continue  # the title rows, headers (wrapped) and notes (merged by polish)
        for column in _text_columns(row, table_columns):
            value = row[column - 1]
            fits = fitting.get(column)
            if fits is None:
                fits = fitting[column] = _fitting(width_of(column))
            if len(value) <= fits:
                continue  # fits without the empty cells after it (most texts)
            if (output.formulas and value.startswith("=")) or (number, column) in wrapped:
                continue
            free = column + 1
            while free <= table_columns and (free > len(row) or row[free - 1] is None):
                free += 1
            spare = sum(width_of(c) for c in range(column + 1, free))
            needed = math.ceil(len(value) / NOTE_FILL) + 1 - spare
            if needed > width_of(column):
                widths[column] = min(needed, max(width_of(column), MAX_TEXT_WIDTH))
                fitting.pop(column, None)
    output.widths = {column_letter(c): w for c, w in sorted(widths.items())}


@functools.lru_cache(maxsize=1024)
def _fitting(width: float) -> int:
    """The longest text that fits a column ``width`` wide as :func:`_fit_columns` measures
    it (``ceil(length / NOTE_FILL) + 1 <= width``), found once per width."""
    length = max(int((width - 1) * NOTE_FILL) + 2, -1)
    while length >= 0 and math.ceil(length / NOTE_FILL) + 1 > width:
        length -= 1
    return length  # -1: not even an empty text


def _text_columns(row: list, limit: int) -> list[int]:
    """The columns (from 1, up to ``limit``) of ``row`` that hold a text. A row of the big
    sheets holds one text and hundreds of numbers: the texts are found by ``list.index``
    over the cells' types, not a test per cell."""
    if limit > 32:  # a short row: a test per cell costs less than the types' list
        types = list(map(type, row[:limit]))
        if not any(kind is not str and issubclass(kind, str) for kind in set(types)):
            columns, start = [], 0
            while True:
                try:
                    start = types.index(str, start) + 1
                except ValueError:
                    return columns
                columns.append(start)
    return [c for c, v in enumerate(row[:limit], start=1) if isinstance(v, str)]


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
    heights = [height_of(row) for row in range(1, last_row + 1)]
    height = sum(heights)
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
    breaks = _heading_breaks(output, heights, page_height / scale - title_height)
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
        while last < len(output.cells) and output.cells[last].count(None) != len(output.cells[last]):  # a row with a value
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
