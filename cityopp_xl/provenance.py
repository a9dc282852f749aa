"""Provenance of a run: which inputs changed since the scores were made.

Two records of the inputs are kept with every run (the Log sheet holds both):

* a fingerprint of each input (:func:`cityopp_xl.pipeline.input_fingerprints`): the
  framework, the cities, the settings, each dimension's data and the published figures,
  as read and checked. :func:`find_stale_inputs` compares the stored fingerprints with
  those of the current inputs; :func:`stale_problems` words the result as warnings.
* a :class:`TableCopy` of each input table, cell for cell as the workbook held it, which
  the workbook's own formulas compare with the input sheets (so a spreadsheet application
  shows the warning without Python), and which names the cells of a diff.

Standard library and pandas only, like the rest of the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Problem
from .model import column_letter

#: The fingerprint that sums up all the others (not an input of its own).
ALL = "all"


@dataclass(frozen=True)
class TableCopy:
    """An input table's cells as the workbook held them when it was read.

    ``cells`` is a rectangle of cell values (numbers, text, booleans, dates or None for a
    blank) whose top-left cell is column A of sheet row ``first_row``: the table's header
    row first, then its body, then a few rows below and columns to the right (blank at the
    time), so that a city or a column added next to the table counts as a change.
    """

    sheet: str
    first_row: int
    cells: tuple[tuple, ...]

    @property
    def height(self) -> int:
        return len(self.cells)

    @property
    def width(self) -> int:
        return max((len(row) for row in self.cells), default=0)

    @property
    def area(self) -> str:
        """The A1 area the copy covers on its sheet, such as ``A4:L74``."""
        return f"A{self.first_row}:{column_letter(max(self.width, 1))}{self.first_row + max(self.height, 1) - 1}"

    def address(self, key: str, header: str, occurrence: int = 0) -> str:
        """``Sheet!C7`` of the cell in the column headed ``header`` on the row whose first
        cell is ``key`` (its ``occurrence``-th such row, from 0); "" when there is none.
        Texts are compared trimmed and case-insensitively."""
        if not self.cells:
            return ""
        headers = [_text(v).casefold() for v in self.cells[0]]
        if header.casefold() not in headers:
            return ""
        column = headers.index(header.casefold())
        seen = 0
        for offset, row in enumerate(self.cells[1:], start=1):
            if row and _text(row[0]).casefold() == key.strip().casefold():
                if seen == occurrence:
                    return f"{self.sheet}!{column_letter(column + 1)}{self.first_row + offset}"
                seen += 1
        return ""


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_stale_inputs(stored: dict[str, str], current: dict[str, str]) -> list[str]:
    """The inputs whose fingerprint differs between the last run and now.

    Parameters
    ----------
    stored : fingerprints recorded by the last run (input name → fingerprint); empty when
        there was no run.
    current : fingerprints of the inputs as they are now.

    Returns
    -------
    The names of the changed inputs: those of ``current`` first, in its order, then the
    inputs the last run had and the current inputs have not. Empty when nothing changed
    or when nothing was stored. The ``all`` fingerprint is a summary, never listed.
    """
    if not stored:
        return []
    names = [name for name in current if name != ALL] + [name for name in stored if name != ALL and name not in current]
    return [name for name in names if stored.get(name) != current.get(name)]


def stale_problems(stored: dict[str, str], current: dict[str, str], *, run_time: str = "", where: dict[str, str] | None = None) -> list[Problem]:
    """One warning per input changed since the last run (see :func:`find_stale_inputs`).

    ``where`` maps an input name to the sheet it comes from (``"D3 data"``); ``run_time``
    is when the last run was made, as its log recorded it.
    """
    where = where or {}
    when = f" ({run_time})" if run_time else ""
    return [
        Problem(
            where.get(name, name),
            f"inputs changed since the last Recalculate{when}; the score sheets are out of date",
            "score sheets made from the current inputs (Recalculate)",
            "warning",
        )
        for name in find_stale_inputs(stored, current)
    ]
