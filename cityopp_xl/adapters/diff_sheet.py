"""The Diff sheet: the differences of one workbook from another (written by Compare with...)."""

from __future__ import annotations

import datetime as _dt

from .. import __version__
from ..model import column_letter
from .layout import SHEET_DIFF, SHEET_LOG, SheetOutput, _rect, tab_color


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
