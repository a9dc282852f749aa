"""Whether a workbook file may be replaced: not read-only, not open in Excel or LibreOffice.

A workbook open in Excel is the one the team is editing: replacing its file under Excel
loses whichever copy is saved last. Excel marks an open workbook with an owner file
``~$NAME`` beside it, LibreOffice with a lock file ``.~lock.NAME#`` (both are removed when
the workbook is closed, and left behind when the program crashes: deleting a stale one
is then the way out). A read-only file (no write permission bit, so also when the run has
the rights to write it anyway, as an administrator does) is one somebody protected.

Only the file a run would replace is checked: writing the result to another file
(``cityopp recalc BOOK -o OUT``) reads a workbook that is open elsewhere without harm.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import CityOppError

#: What the message asks the user to do (``{program}``: Excel or LibreOffice).
WHAT_TO_DO = "nothing was changed: close it in {program} (or write the result elsewhere with -o)"


class WorkbookInUseError(CityOppError):
    """Raised when the workbook to replace is read-only or open in Excel or LibreOffice."""


def owner_files(path: Path) -> list[Path]:
    """The owner or lock files of Excel and LibreOffice beside ``path`` that exist."""
    path = Path(path)
    candidates = (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#"))
    return [candidate for candidate in candidates if candidate.exists()]


def check_replaceable(path: Path) -> None:
    """Raise :class:`WorkbookInUseError` when the existing file ``path`` must not be
    replaced (read-only, or open in Excel or LibreOffice); a file that does not exist
    yet is fine."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise WorkbookInUseError(f"{path}: the workbook is read-only (protected, or held by a program); " + WHAT_TO_DO.format(program="Excel"))
    for owner in owner_files(path):
        program = "LibreOffice" if owner.name.startswith(".~lock.") else "Excel"
        raise WorkbookInUseError(f"{path}: the workbook is open in {program} (its owner file {owner.name} is beside it); " + WHAT_TO_DO.format(program=program))
