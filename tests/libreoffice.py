"""LibreOffice headless as a real spreadsheet application, for tests.

``recalculated_values(path)`` opens a workbook in LibreOffice (a private profile per call,
set to always recalculate on load), lets it recalculate every formula, saves a copy in a
temporary folder (never the file under test) and returns the computed values;
``render_pdf`` and ``render_png`` turn a workbook into pages to look at.
Installed by scripts/install-test-tools.sh (Debian libreoffice-calc-nogui, poppler-utils).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import openpyxl

# Always recalculate formulas on load, whatever cached values the file carries.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class LibreOfficeMissing(RuntimeError):
    """Raised when soffice is not installed (run scripts/install-test-tools.sh)."""


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise LibreOfficeMissing("LibreOffice (soffice) is not installed: run bash scripts/install-test-tools.sh")
    return found


def convert(path: Path, target_format: str, out_dir: Path, timeout: int = 300) -> Path:
    """Convert ``path`` with LibreOffice headless into ``out_dir``; returns the new file.

    Raises when LibreOffice produced nothing (it exits 0 even when it cannot load a file).
    """
    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        user = Path(profile) / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        # A copy with a plain name, so the original is never touched.
        source = Path(profile) / f"input{path.suffix}"
        shutil.copy2(path, source)
        result = subprocess.run(
            [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", target_format, "--outdir", str(out_dir), str(source)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    extension = target_format.split(":")[0]
    produced = out_dir / f"input.{extension}"
    if not produced.exists():
        raise RuntimeError(f"LibreOffice did not convert {path.name} to {target_format}: {result.stdout} {result.stderr}")
    return produced


def recalculated_values(path: Path) -> dict[str, list[list]]:
    """Every sheet's values after LibreOffice recalculated the workbook: {sheet: rows}."""
    with tempfile.TemporaryDirectory(prefix="lo-out-") as folder:
        produced = convert(path, "xlsx", Path(folder))
        book = openpyxl.load_workbook(produced, data_only=True, read_only=True)
        try:
            return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
        finally:
            book.close()


def render_pdf(path: Path, out_dir: Path) -> Path:
    """The workbook printed to PDF by LibreOffice (every sheet, its print settings)."""
    return convert(path, "pdf", out_dir)


def render_png(pdf: Path, out_dir: Path, resolution: int = 60, first: int = 1, last: int | None = None) -> list[Path]:
    """PDF pages as PNG files (pdftoppm), in page order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = ["pdftoppm", "-r", str(resolution), "-png", "-f", str(first)]
    if last is not None:
        command += ["-l", str(last)]
    subprocess.run([*command, str(pdf), str(out_dir / "page")], check=True, capture_output=True, timeout=300)
    return sorted(out_dir.glob("page-*.png"))
