"""``cityopp diff``: compare two workbook files, write the Diff sheet into a copy, or CSVs.

Reads both workbooks' packages (:mod:`.xlsxpackage`: no macro runs, no link is followed), scores
each with the core and compares the runs with :func:`cityopp_xl.diff.compare`. Neither
workbook is ever changed: the Diff sheet goes into a copy of the old one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..diff import Diff, compare
from ..errors import CityOppError, InputError
from ..pipeline import Pipeline, run
from . import layout
from .xlsx import read_front, workbook_lock

#: Files written by ``cityopp diff --csv DIR``.
CSV_FILES = ("cells.csv", "structure.csv", "moves.csv")


def score_file(path: Path) -> Pipeline:
    """Read, check and score one workbook file. Raises :class:`InputError` naming the
    workbook in each problem (``[book.xlsx]D1 data!B5``) when a problem blocks scoring."""
    from .xlsxpackage import FileFront

    path = Path(path)
    front = FileFront(path)
    try:
        inputs, problems = read_front(front)
    finally:
        front.close()
    if inputs is None:
        raise InputError([dataclasses.replace(p, where=f"[{path.name}]{p.where}") for p in problems])
    return run(inputs)


def compare_files(old: Path, new: Path) -> Diff:
    """Compare two workbook files (old, then new): see :func:`cityopp_xl.diff.compare`."""
    return compare(score_file(old), score_file(new), sheets=layout.DIFF_TABLE_SHEETS)


def write_diff_copy(old: Path, out: Path, output: layout.SheetOutput) -> Path:
    """Write a copy of ``old`` with the Diff sheet ``output`` (replacing an older Diff
    sheet cityopp-xl wrote; a sheet of the team's named Diff is refused) to ``out``;
    ``old`` itself is not changed. ``out`` must keep ``old``'s extension; every part of
    ``old`` but the sheet list and the Diff sheet is copied byte for byte."""
    old, out = Path(old), Path(out)
    if out.suffix.lower() != old.suffix.lower():
        raise CityOppError(f"{out}: the copy must keep the workbook's extension {old.suffix}")
    if out.exists() and out.resolve() == old.resolve():
        raise CityOppError(f"{out}: write the Diff sheet into a new file, not into the workbook compared")
    from .xlsxpackage import FileFront

    with workbook_lock(out):
        # The package of OLD edited: its Diff sheet (one cityopp-xl wrote) replaced or
        # added, every other part copied byte for byte.
        front = FileFront(old)
        try:
            front.write([output], [])
            front.save(out, active=output.name)
        finally:
            front.close()
    return out


def write_diff_csvs(diff: Diff, folder: Path) -> list[Path]:
    """Write the diff's frames as ``cells.csv``, ``structure.csv`` and ``moves.csv``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in zip(CSV_FILES, (diff.cells, diff.structure, diff.moves)):
        path = folder / name
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths

