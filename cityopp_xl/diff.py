"""Compare two runs: which inputs changed, and how every score and rank moved as a result.

``compare(old, new) -> Diff`` takes two :class:`~cityopp_xl.pipeline.Pipeline` objects (say
the master workbook and a reviewer's copy) and returns frames:

* ``cells``: every input that differs, one row per cell, with the cell's address in each
  workbook (they differ when a row or column moved): data values matched by city and
  input column, framework fields by indicator id, settings by position, renamed cities;
* ``structure``: cities and indicators added, removed or renamed;
* ``moves``: every indicator, variable and dimension score, dimension rank, overall score,
  overall rank and tier that moved, largest moves first within each level.

A city present in only one workbook is matched with nothing, except that a city removed
and a city added at the same position of the Cities list count as one city renamed (its
scores are compared under the new name). :func:`format_diff` words a Diff as text.
Standard library, numpy and pandas only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .pipeline import Pipeline
from .validate import Inputs

#: Levels of ``Diff.moves``, in the order they are listed.
LEVELS = ("overall rank", "overall score", "tier", "dimension rank", "dimension score", "variable score", "indicator score")
CELL_COLUMNS = ["kind", "item", "field", "old_address", "new_address", "old", "new"]
STRUCTURE_COLUMNS = ["kind", "change", "old", "new"]
MOVE_COLUMNS = ["level", "item", "city", "old", "new", "change"]


@dataclass
class Diff:
    """What differs between two runs (see the module docstring).

    ``cells``: columns ``kind`` (``value``, ``framework``, ``setting`` or ``city``),
    ``item`` (the city of a value, the indicator id of a framework field, ``tier 1``...),
    ``field`` (the input column label, framework column or setting field),
    ``old_address``/``new_address`` (``Sheet!C7``, "" when unknown or absent) and
    ``old``/``new`` (None for a blank). ``structure``: columns ``kind`` (``city`` or
    ``indicator``), ``change`` (``added``, ``removed``, ``renamed``), ``old``, ``new``.
    ``moves``: columns ``level`` (one of :data:`LEVELS`), ``item`` (indicator ``id name``,
    variable, dimension or ``overall``), ``city`` (its name in the new run), ``old``,
    ``new``, ``change`` (new - old: for a rank, negative is a move up; None for a tier).
    ``cities``: old city name → new city name for every city in both runs.
    """

    cells: pd.DataFrame
    structure: pd.DataFrame
    moves: pd.DataFrame
    cities: dict[str, str]

    @property
    def rank_moves(self) -> pd.DataFrame:
        """The overall rank moves (a slice of ``moves``)."""
        return self.moves[self.moves["level"] == "overall rank"]

    def counts(self) -> dict[str, int]:
        """How many cells, structural changes and moves of each level."""
        counts = {"changed input cells": len(self.cells), "cities compared": len(self.cities)}
        for kind in ("city", "indicator"):
            for change in ("added", "removed", "renamed"):
                found = int(((self.structure["kind"] == kind) & (self.structure["change"] == change)).sum())
                if found or change != "renamed" or kind == "city":
                    counts[f"{'cities' if kind == 'city' else 'indicators'} {change}"] = found
        for level in LEVELS:
            counts[f"{level} moves"] = int((self.moves["level"] == level).sum())
        return counts


def _plain(value):
    """A cell value for the frames: None for NaN, ints for whole floats."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def _same(a, b) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b


def match_cities(old: list[str], new: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Pair the cities of two runs: by name, then a removed and an added city at the same
    position of the edition order as one renamed city.

    Returns ``(pairs, removed, added)``: ``pairs`` maps each old name to its new name.
    """
    new_set, old_set = set(new), set(old)
    pairs = {city: city for city in old if city in new_set}
    removed = [city for city in old if city not in new_set]
    added = [city for city in new if city not in old_set]
    for position, city in enumerate(old):
        if city in removed and position < len(new) and new[position] in added:
            pairs[city] = new[position]
            removed.remove(city)
            added.remove(new[position])
    return pairs, removed, added


def _copy(inputs: Inputs, kind: str, sheets: dict[str, str]):
    return inputs.table_copies.get(sheets.get(kind, ""))


def _address(inputs: Inputs, kind: str, sheets: dict[str, str], key: str, field: str, occurrence: int = 0) -> str:
    copy = _copy(inputs, kind, sheets)
    return copy.address(key, field, occurrence) if copy is not None else ""


def compare_inputs(old: Inputs, new: Inputs, *, sheets: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The changed input cells and the structural changes between two runs' inputs.

    ``sheets`` names the sheets of the ``framework``, ``cities`` and ``settings`` tables,
    to give their cells addresses (from :attr:`Inputs.table_copies`); without it those
    cells have no address. Returns ``(cells, structure, city pairs)`` (see :class:`Diff`).
    """
    sheets = sheets or {}
    pairs, removed, added = match_cities(list(old.values.index), list(new.values.index))
    cells: list[list] = []
    structure: list[list] = []
    for city in removed:
        structure.append(["city", "removed", city, None])
    for city in added:
        structure.append(["city", "added", None, city])
    for before, after in pairs.items():
        if before != after:
            structure.append(["city", "renamed", before, after])
            cells.append(["city", before, "city", _address(old, "cities", sheets, before, "city"), _address(new, "cities", sheets, after, "city"), before, after])

    old_frame = old.framework.to_frame().set_index("id")
    new_frame = new.framework.to_frame().set_index("id")
    names = {**{i: old_frame.at[i, "indicator"] for i in old_frame.index}, **{i: new_frame.at[i, "indicator"] for i in new_frame.index}}
    for identifier in old_frame.index:
        if identifier not in new_frame.index:
            structure.append(["indicator", "removed", f"{identifier} {names[identifier]}", None])
    for identifier in new_frame.index:
        if identifier not in old_frame.index:
            structure.append(["indicator", "added", None, f"{identifier} {names[identifier]}"])
            continue
        for field in new_frame.columns:
            before, after = old_frame.at[identifier, field], new_frame.at[identifier, field]
            if not _same(before, after):
                cells.append(
                    ["framework", identifier, field, _address(old, "framework", sheets, identifier, field), _address(new, "framework", sheets, identifier, field), _plain(before), _plain(after)]
                )

    old_settings, new_settings = old.settings.to_frame(), new.settings.to_frame()
    seen: dict[tuple, int] = {}
    for position in range(max(len(old_settings), len(new_settings))):
        before = old_settings.iloc[position] if position < len(old_settings) else None
        after = new_settings.iloc[position] if position < len(new_settings) else None
        setting = (after if after is not None else before)["setting"]
        occurrence = seen.get(setting, 0)
        seen[setting] = occurrence + 1
        item = f"{setting} {occurrence + 1}" if setting == "tier" else setting
        for field in ("label", "value"):
            a = before[field] if before is not None else None
            b = after[field] if after is not None else None
            if not _same(a, b):
                cells.append(
                    ["setting", item, field, _address(old, "settings", sheets, setting, field, occurrence) if before is not None else "",
                     _address(new, "settings", sheets, setting, field, occurrence) if after is not None else "", _plain(a), _plain(b)]
                )

    labels = new.framework.column_labels()
    columns = [c for c in new.framework.input_columns() if c in set(old.values.columns)]
    for column in columns:
        for before, after in pairs.items():
            a, b = old.values.at[before, column], new.values.at[after, column]
            if not _same(a, b):
                cells.append(
                    ["value", after, labels.get(column, column), old.addresses.get((before, column), ""), new.addresses.get((after, column), ""), _plain(a), _plain(b)]
                )
    return _objects(cells, CELL_COLUMNS), _objects(structure, STRUCTURE_COLUMNS), pairs


def _objects(rows: list[list], columns: list[str]) -> pd.DataFrame:
    # Object columns keep each cell as it was (ints, floats, text) and None for a blank.
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.astype(object).where(frame.notna(), None)


def _moves(level: str, old: pd.DataFrame, new: pd.DataFrame, pairs: dict[str, str], items: dict[str, str]) -> list[list]:
    old = old.rename(index=pairs)
    cities = [city for city in new.index if city in set(old.index)]
    found = []
    for column in new.columns:
        if column not in old.columns:
            continue
        for city in cities:
            a, b = _plain(old.at[city, column]), _plain(new.at[city, column])
            if a is None and b is None or _same(a, b):
                continue
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
            change = _plain(float(b) - float(a)) if numbers else None
            found.append([level, items.get(column, column), city, a, b, change])
    order = {city: k for k, city in enumerate(new.index)}
    columns = {items.get(c, c): k for k, c in enumerate(new.columns)}
    found.sort(key=lambda r: (-(abs(r[5]) if r[5] is not None else math.inf), columns.get(r[1], 0), order.get(r[2], 0)))
    return found


def compare(old: Pipeline, new: Pipeline, *, sheets: dict[str, str] | None = None) -> Diff:
    """Compare two runs: changed inputs (see :func:`compare_inputs`) and every score and
    rank that moved, as a :class:`Diff`. Neither run is changed."""
    cells, structure, pairs = compare_inputs(old.inputs, new.inputs, sheets=sheets)
    indicators = {i.id: f"{i.id} {i.name}" for i in new.framework.indicators}
    rows: list[list] = []
    rows += _moves("overall rank", old["overall"][["rank"]].rename(columns={"rank": "overall"}), new["overall"][["rank"]].rename(columns={"rank": "overall"}), pairs, {})
    rows += _moves("overall score", old["overall"][["overall"]], new["overall"][["overall"]], pairs, {})
    rows += _moves("tier", old["overall"][["tier"]].rename(columns={"tier": "overall"}), new["overall"][["tier"]].rename(columns={"tier": "overall"}), pairs, {})
    rows += _moves("dimension rank", old["dimension_ranks"], new["dimension_ranks"], pairs, {})
    rows += _moves("dimension score", old["dimension_scores"], new["dimension_scores"], pairs, {})
    rows += _moves("variable score", old["variable_scores"], new["variable_scores"], pairs, {})
    rows += _moves("indicator score", old["indicator_scores"], new["indicator_scores"], pairs, indicators)
    return Diff(cells, structure, pd.DataFrame(rows, columns=MOVE_COLUMNS), pairs)


# --------------------------------------------------------------------------- text


def _shown(value) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _signed(change) -> str:
    change = _plain(change)
    if change is None:
        return ""
    text = f"{change:+.10g}" if isinstance(change, float) else f"{change:+d}"
    return f" ({text})"


#: How the report reads the sign of a change (printed under its title).
SIGN_NOTE = (
    "A change in brackets is new minus old: a score change of +3 is 3 points more; a rank change of +3 "
    "is 3 places lower (rank 1 is the best), -3 is 3 places higher."
)


def format_diff(diff: Diff, old_name: str = "old", new_name: str = "new", *, limit: int = 50) -> str:
    """The diff as readable text: counts, then the cities and indicators added, removed or
    renamed, the changed cells, the overall rank moves, then the moves of each level,
    largest first (each list cut at ``limit`` lines)."""
    lines = [f"Comparing {old_name} (old) with {new_name} (new)", SIGN_NOTE, ""]
    counts = diff.counts()
    width = max(len(k) for k in counts)
    lines += [f"  {key.ljust(width)}  {value}" for key, value in counts.items()]

    def section(title: str, entries: list[str]) -> None:
        lines.append("")
        lines.append(f"{title}: {len(entries) if entries else 'none'}")
        lines.extend(f"  {entry}" for entry in entries[:limit])
        if len(entries) > limit:
            lines.append(f"  ... and {len(entries) - limit} more")

    section(
        "Cities and indicators added, removed or renamed",
        [
            f"{row.kind} {row.change}: " + (f"{row.old} → {row.new}" if row.change == "renamed" else str(row.new if row.change == "added" else row.old))
            for row in diff.structure.itertuples(index=False)
        ],
    )
    cells = []
    for row in diff.cells.itertuples(index=False):
        where = row.new_address or row.old_address or row.kind
        if row.old_address and row.new_address and row.old_address != row.new_address:
            where = f"{row.old_address} → {row.new_address}"
        cells.append(f"{where}: {row.item}, {row.field}: {_shown(row.old)} → {_shown(row.new)}")
    section("Changed input cells (old → new)", cells)
    overall = diff.moves[diff.moves["level"] == "overall score"].set_index("city")
    ranks = []
    for row in diff.rank_moves.itertuples(index=False):
        step = "up" if row.change is not None and row.change < 0 else "down"
        score = f"; overall score {_shown(overall.at[row.city, 'old'])} → {_shown(overall.at[row.city, 'new'])}" if row.city in overall.index else ""
        ranks.append(f"{row.city}: rank {_shown(row.old)} → {_shown(row.new)} ({step} {_shown(_plain(abs(row.change)))}){score}")
    section("Overall rank moves", ranks)
    for level in LEVELS[1:]:
        moves = diff.moves[diff.moves["level"] == level]
        section(
            f"{level[0].upper()}{level[1:]} moves" + ("" if level == "tier" else ", largest first"),
            [
                f"{row.city}: {_shown(row.old)} → {_shown(row.new)}{_signed(row.change)}" if row.item == "overall"
                else f"{row.item}, {row.city}: {_shown(row.old)} → {_shown(row.new)}{_signed(row.change)}"
                for row in moves.itertuples(index=False)
            ],
        )
    return "\n".join(lines)
