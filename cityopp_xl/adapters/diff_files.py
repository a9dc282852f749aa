"""``cityopp diff``: compare two workbook files, write the Diff sheet into a copy, or CSVs.

Reads both workbooks' packages (:mod:`.xlsxpackage`: no macro runs, no link is followed), scores
each with the core and compares the runs with :func:`cityopp_xl.diff.compare`. Neither
workbook is ever changed: the Diff sheet goes into a copy of the old one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..diff import Diff, compare
from ..errors import InputError, OutputError, Problem
from ..pipeline import Pipeline, run
from . import layout, recalculate
from .package import check_output_folder
from .xlsx import workbook_lock

#: Files written by ``cityopp diff --csv DIR``.
CSV_FILES = ("cells.csv", "structure.csv", "moves.csv")


def score_file(path: Path) -> Pipeline:
    """Read, check and score one workbook file. Raises :class:`InputError` naming the
    workbook in each problem (``[book.xlsx]D1 data!B5``) when a problem blocks scoring."""
    return score_file_with_warnings(path)[0]


def score_file_with_warnings(path: Path) -> tuple[Pipeline, list[Problem]]:
    """:func:`score_file`, with the warnings of reading and scoring the workbook, each
    naming the workbook (``[book.xlsx]D1 data!B5``)."""
    from .xlsxpackage import FileFront

    path = Path(path)
    front = FileFront(path)
    try:
        inputs, problems, _ = recalculate.read(front)  # the reading of every Recalculate
    finally:
        front.close()
    named = [dataclasses.replace(p, where=f"[{path.name}]{p.where}") for p in problems]
    if inputs is None:
        raise InputError(named)
    pipeline = run(inputs)
    named += [dataclasses.replace(p, where=f"[{path.name}]{p.where}") for p in pipeline.problems]
    return pipeline, named


def compare_files(old: Path, new: Path) -> Diff:
    """Compare two workbook files (old, then new): see :func:`cityopp_xl.diff.compare`."""
    return compare_files_with_warnings(old, new)[0]


def compare_files_with_warnings(old: Path, new: Path) -> tuple[Diff, list[Problem]]:
    """:func:`compare_files`, with the warnings of both workbooks (old first)."""
    (old_run, old_warnings), (new_run, new_warnings) = score_file_with_warnings(old), score_file_with_warnings(new)
    return compare(old_run, new_run, sheets=layout.DIFF_TABLE_SHEETS), old_warnings + new_warnings


def check_diff_copy_path(old: Path, out: Path) -> None:
    """Raise :class:`OutputError` unless ``out`` can take the Diff copy of ``old``: the
    same extension, an existing folder, and not ``old`` itself."""
    old, out = Path(old), Path(out)
    if out.suffix.lower() != old.suffix.lower():
        raise OutputError(f"{out}: the extension '{out.suffix}', expected {old.suffix} (the copy keeps the workbook's extension)")
    if out.exists() and out.resolve() == old.resolve():
        raise OutputError(f"{out}: write the Diff sheet into a new file, not into the workbook compared")
    check_output_folder(out)


def write_diff_copy(old: Path, out: Path, output: layout.SheetOutput) -> Path:
    """Write a copy of ``old`` with the Diff sheet ``output`` (replacing an older Diff
    sheet cityopp-xl wrote; a sheet of the team's named Diff is refused) to ``out``;
    ``old`` itself is not changed. ``out`` must keep ``old``'s extension; every part of
    ``old`` but the sheet list and the Diff sheet is copied byte for byte."""
    old, out = Path(old), Path(out)
    check_diff_copy_path(old, out)
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

