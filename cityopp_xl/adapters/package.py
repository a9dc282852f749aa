"""Checks of a workbook file before any XML parser sees it, and the files a run leaves.

A workbook (.xlsx/.xlsm) is a zip package of XML parts. A reviewer's copy is untrusted,
so :func:`check_package` reads only the zip's central directory and the first few
kilobytes of each XML part (never a whole part) and refuses, with a message naming the
part and the limit:

* a file that is not a zip package (an old .xls, an encrypted workbook, a CSV or HTML
  file renamed .xlsx, a truncated download) or a zip without a workbook part;
* more than :data:`MAX_PARTS` parts; a part whose declared uncompressed size is over
  :data:`MAX_PART_BYTES`, all parts together over :data:`MAX_PACKAGE_BYTES`, or a part
  of over 1 MB that expands more than :data:`MAX_RATIO` times (a zip bomb; Python's
  zipfile never inflates a part past its declared size, so declared sizes bound memory);
* an XML part with a document type declaration (``<!DOCTYPE``, which carries entity
  definitions: "billion laughs" expansion, external entities). Excel never writes one.
  openpyxl also parses through defusedxml, which refuses entity declarations anywhere;
* a worksheet whose ``<dimension>`` (its used range) is over the sheet size limits of
  :mod:`.integrity`, named by sheet.

Temporary files: a run writes ``.~<name>.<random><ext>`` beside the target and moves it
into place; a run killed while saving leaves that file behind. :func:`remove_stale_temporaries`
deletes such leftovers while the workbook's lock is held (so no other run owns them).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

from ..errors import CityOppError, OutputError, Problem
from ..model import column_number
from . import integrity

#: Limits on a workbook package (decimal units as printed in messages).
MAX_PART_BYTES = 64 * 1024 * 1024
MAX_PACKAGE_BYTES = 256 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024  # parts smaller than this are never refused for their ratio
MAX_PARTS = 10_000
#: How much of an XML part is read to find its prolog and (for a worksheet) its dimension.
HEAD_BYTES = 64 * 1024
#: What is read of a part first: its prolog and root, and a sheet's used range, are there
#: unless the part is written unusually (then up to :data:`HEAD_BYTES` is read).
FIRST_BYTES = 4 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s[^>]*?ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData[\s>/]")


class PackageError(CityOppError):
    """Raised when a workbook file is not a readable, safe Excel package (refused before parsing)."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _refuse(path: Path, found: str, expected: str) -> PackageError:
    return PackageError(str(Problem(path.name, found, expected)))


def check_package(path: Path) -> None:
    """Refuse a file that is not a safe workbook package; see the module docstring.

    Reads the central directory and at most :data:`HEAD_BYTES` of each XML part, so it
    takes milliseconds whatever the parts expand to.

    Raises
    ------
    PackageError
        Naming the file, the part (and sheet) at fault, what was found and the limit.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic == _OLE_MAGIC:
        raise _refuse(
            path,
            "an OLE compound file: an Excel 97-2003 .xls workbook, or a workbook encrypted with a password",
            "an .xlsx or .xlsm workbook without a password to open (save it as .xlsx/.xlsm, or remove the password, in Excel)",
        )
    if not zipfile.is_zipfile(path):
        shown = "an empty file" if not magic else "a file that is not a zip package (" + ("a truncated or damaged workbook" if magic.startswith(b"PK") else "perhaps a CSV, HTML or text file renamed") + ")"
        raise _refuse(path, shown, "an Excel workbook (.xlsx or .xlsm), which is a zip package")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(path, f"a damaged zip package ({exc})", "an Excel workbook (.xlsx or .xlsm) that Excel can open") from None
    with archive:
        infos = archive.infolist()
        _check_sizes(path, infos)
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names and not any(n.endswith("workbook.xml") for n in names):
            raise _refuse(path, "a zip package without a workbook part (xl/workbook.xml)", "an Excel workbook (.xlsx or .xlsm)")
        sheets = _sheet_names(archive, names)
        for info in infos:
            if info.is_dir() or not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            head = _head(path, archive, info, FIRST_BYTES)
            if len(head) == FIRST_BYTES and (not _ROOT_START.search(head) or (info.filename in sheets and not _SHEET_DATA.search(head))):
                head = _head(path, archive, info, HEAD_BYTES)
            root = _ROOT_START.search(head)
            if root is None and len(head) == HEAD_BYTES:
                raise _refuse(
                    path,
                    f"the part {info.filename} has no XML element in its first {HEAD_BYTES // 1024} KB",
                    "XML parts as Excel writes them (refused unread)",
                )
            prolog = head[: root.start()] if root else head
            if _DOCTYPE.search(prolog):
                raise _refuse(
                    path,
                    f"the part {info.filename} declares a document type (<!DOCTYPE>): entity definitions can expand to gigabytes or read other files",
                    "XML parts without a document type declaration, as Excel writes them (refused unread)",
                )
            sheet = sheets.get(info.filename)
            if sheet is not None:
                _check_dimension(path, sheet, info.filename, head)


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_PARTS:
        raise _refuse(path, f"{len(infos):,} parts in the package", f"at most {MAX_PARTS:,} parts")
    total = 0
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise _refuse(
                path,
                f"the part {info.filename} unpacks to {_mib(info.file_size)}",
                f"at most {_mib(MAX_PART_BYTES)} per part (refused unread; a workbook this large is not an edition's data)",
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _refuse(
                path,
                f"the part {info.filename} expands {ratio:,.0f} times ({_mib(info.compress_size)} to {_mib(info.file_size)}), the signature of a zip bomb",
                f"at most {MAX_RATIO} times for parts over 1 MB, as real workbooks compress (refused unread)",
            )
        total += info.file_size
    if total > MAX_PACKAGE_BYTES:
        raise _refuse(path, f"parts that unpack to {_mib(total)} in all", f"at most {_mib(MAX_PACKAGE_BYTES)} in all (refused unread)")


def _head(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of a part, inflating no more than that."""
    try:
        with archive.open(info) as part:
            return part.read(size)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: a part encrypted with a zip password; NotImplementedError: an
        # unsupported compression method.
        raise _refuse(path, f"the part {info.filename} cannot be read ({exc})", "an Excel workbook (.xlsx or .xlsm) that Excel can open") from None


def _small_xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    """Parse a small package part (the workbook and its relationships), or None."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > 4 * 1024 * 1024:
        return None
    data = archive.read(info)
    root = _ROOT_START.search(data)
    if _DOCTYPE.search(data[: root.start()] if root else data):
        return None  # refused by the prolog check with a clear message
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None


def _sheet_names(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Worksheet part → sheet name, from xl/workbook.xml and its relationships."""
    workbook = _small_xml(archive, "xl/workbook.xml")
    rels = _small_xml(archive, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id")] = part
    out = {}
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        part = targets.get(rid)
        if part in names:
            out[part] = element.get("name", part)
    return out


def _check_dimension(path: Path, sheet: str, part: str, head: bytes) -> None:
    data = _SHEET_DATA.search(head)
    match = _DIMENSION.search(head[: data.start()] if data else head)
    if not match:
        return  # no recorded used range: the reader checks the loaded sheet instead
    last_col, last_row = (match.group(3), match.group(4)) if match.group(3) else (match.group(1), match.group(2))
    problem = integrity.size_problem(sheet, int(last_row), column_number(last_col.decode("ascii")))
    if problem is not None:
        raise PackageError(f"{path.name}: {problem} (refused unread, part {part})")


# --------------------------------------------------------------------------- temporary files


def temporary_prefix(target: Path) -> str:
    """The name prefix of a run's temporary file for ``target`` (``.~<stem>.``)."""
    return f".~{Path(target).stem}."


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete temporary files an interrupted run left beside ``target``.

    Call only while holding the workbook's lock: no other run is then writing them.
    Returns the files removed.
    """
    target = Path(target)
    pattern = re.compile(re.escape(temporary_prefix(target)) + r"[A-Za-z0-9_]{8}" + re.escape(target.suffix) + r"\Z")
    removed = []
    with contextlib.suppress(OSError):
        for candidate in target.parent.iterdir():
            if pattern.match(candidate.name) and candidate.is_file():
                with contextlib.suppress(OSError):
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def check_output_folder(path: Path) -> None:
    """Raise :class:`OutputError` when the folder ``path`` is to be written in does not
    exist (checked before anything is read or written, so the message names the folder,
    not a temporary or lock file made in it)."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise OutputError(f"{path}: the folder '{folder}' does not exist, expected an existing folder; nothing was written")


def write_atomically(target: Path, like: Path, write: Callable[[Path], None]) -> None:
    """Write ``target`` whole or not at all: ``write`` fills a temporary file beside it
    (given the permissions of ``target``, or of ``like`` when ``target`` is new), which is
    flushed to disk and moved into place; a failed write leaves ``target`` as it was."""
    target = Path(target)
    handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(target), suffix=target.suffix, dir=target.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        # mkstemp makes the file private: give it the workbook's own permissions.
        existing = target if target.exists() else Path(like)
        os.chmod(temporary, stat.S_IMODE(existing.stat().st_mode))
        write(temporary)
        flush_to_disk(temporary)
        os.replace(temporary, target)
        flush_to_disk(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def flush_to_disk(path: Path) -> None:
    """fsync a file (or a folder, so a rename survives a power cut); where the system
    cannot sync folders, nothing is lost but that guarantee."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
