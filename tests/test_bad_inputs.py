"""The corpus of broken workbooks (tests/data/bad/, made by make_bad.py): every case gives
its exact messages and exit codes, and leaves its file byte for byte as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

BAD = Path(__file__).resolve().parent / "data" / "bad"
CASES = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))


#: Cases also run as a separate process, exactly as a user runs the command.
IN_A_PROCESS = {"not_a_zip_csv", "part_500_mb", "chinese_unit", "output_sheet_edited", "open_in_excel", "read_only_workbook"}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_in_a_process(*args) -> Ran:
    done = subprocess.run([sys.executable, "-m", "cityopp_xl", *map(str, args)], capture_output=True, text=True, timeout=120)
    return Ran(done.returncode, done.stdout, done.stderr)


def run_in_this_process(*args) -> Ran:
    """The same command through click's runner (the corpus runs in seconds, not minutes);
    any exception that is not an exit fails the test."""
    from cityopp_xl.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_corpus_is_large_and_small():
    assert len(CASES) >= 30
    assert len({c["name"] for c in CASES}) == len(CASES)
    for entry in CASES:
        path = BAD / entry["file"]
        assert path.is_file(), entry["name"]
        assert path.stat().st_size < 1024 * 1024, entry["name"]
    # Every kind of outcome is covered: refused files, blocking errors, warnings, clean reads.
    assert {c["validate_exit"] for c in CASES} == {0, 1, 2}


@pytest.fixture
def workbook(request, tmp_path) -> tuple[dict, Path]:
    entry = request.param
    folder = tmp_path / "work"
    folder.mkdir()
    target = folder / entry["file"]
    shutil.copyfile(BAD / entry["file"], target)
    for name in entry.get("beside", []):  # an owner file of Excel or LibreOffice
        (folder / name.replace("{file}", target.name)).write_bytes(b"")
    if entry.get("read_only"):
        target.chmod(0o444)
    return entry, target


RUNS = [pytest.param(c, run_in_this_process, id=c["name"]) for c in CASES] + [
    pytest.param(c, run_in_a_process, id=f"{c['name']}-process") for c in CASES if c["name"] in IN_A_PROCESS
]


@pytest.mark.parametrize("workbook,cityopp", RUNS, indirect=["workbook"])
def test_case(workbook, cityopp, tmp_path):
    entry, path = workbook
    before = digest(path)
    message = entry["message"].replace("{file}", path.name) if entry["message"] else None
    errors = [line.split(": ", 1)[1] for line in entry["problems"] if line.startswith("error: ")]
    warnings = [line.split(": ", 1)[1] for line in entry["problems"] if line.startswith("warning: ")]

    checked = cityopp("validate", path)
    assert checked.returncode == entry["validate_exit"], checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr
    if message:
        assert checked.stderr.splitlines() == [message]
    else:
        lines = [line for line in checked.stdout.splitlines() if line.startswith(("error: ", "warning: "))]
        assert lines == entry["problems"]
        verdict = "; scoring is blocked" if errors else "; ready to score"
        assert checked.stdout.splitlines()[-1] == f"{path}: {len(errors)} error(s), {len(warnings)} warning(s){verdict}"
    assert digest(path) == before

    if entry["recalc_exit"] == 0:
        out = tmp_path / ("out" + path.suffix)
        ran = cityopp("recalc", path, "-o", out)
        assert ran.returncode == 0, ran.stderr
        assert ran.stderr.splitlines() == [f"warning: {w}" for w in warnings]
        assert out.is_file()
    elif entry.get("recalc_message"):  # refused in place, done with -o to another file
        ran = cityopp("recalc", path)
        assert (ran.returncode, ran.stderr.splitlines()) == (entry["recalc_exit"], [entry["recalc_message"].replace("{path}", str(path)).replace("{file}", path.name)])
        elsewhere = cityopp("recalc", path, "-o", tmp_path / ("out" + path.suffix))
        assert elsewhere.returncode == 0, elsewhere.stderr
    else:
        ran = cityopp("recalc", path)  # in place: a failed run must change nothing
        assert ran.returncode == entry["recalc_exit"], ran.stdout + ran.stderr
        if message:
            assert ran.stderr.splitlines() == [message]
        else:
            listed = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
            head = "cityopp: 1 problem blocks scoring:" if len(errors) == 1 else f"cityopp: {len(errors)} problems block scoring:"
            assert ran.stderr.splitlines() == [head, *listed]
    assert "Traceback" not in ran.stderr
    assert digest(path) == before
    # No lock file or temporary file is left beside the workbook.
    beside = [name.replace("{file}", path.name) for name in entry.get("beside", [])]
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, *beside])


@pytest.mark.parametrize(
    "error,code,line",
    [
        (RuntimeError("boom"), 3, "cityopp: internal error (RuntimeError: boom); this is a bug in cityopp-xl, please report it with the workbook "
         "(set CITYOPP_DEBUG=1 to see the traceback); a workbook is only ever replaced whole, never left half-written"),
        (MemoryError(), 2, "cityopp: out of memory: the workbook is too large to read on this computer; nothing was changed"),
    ],
)
def test_an_unexpected_failure_is_one_line_never_a_traceback(error, code, line, fixture_copy, monkeypatch):
    from cityopp_xl.adapters import recalculate

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(recalculate, "read", fail)
    before = digest(fixture_copy)
    for command in ("recalc", "validate"):
        ran = run_in_this_process(command, fixture_copy)
        assert (ran.returncode, ran.stderr.splitlines()) == (code, [line])
    assert digest(fixture_copy) == before


#: Cases Excel cannot show as they are: files refused as a whole (Excel would not open
#: them), refusals of a file in place (Excel has the workbook open: it writes it itself),
#: and a formula with no saved value (Excel calculates every formula it holds).
NOT_IN_EXCEL = {c["name"] for c in CASES if c["message"] or c.get("recalc_message")} | {"formula_without_saved_value"}


@pytest.mark.parametrize("entry", [pytest.param(c, id=c["name"]) for c in CASES if c["name"] not in NOT_IN_EXCEL])
def test_case_in_excel(entry, tmp_path):
    """The ribbon's Validate (the Excel front end, through xlwings' remote engine) lists
    exactly the lines ``cityopp validate`` prints, merged cells and hidden rows included
    (the payload carries them: see remote_harness.payload_from_xlsx)."""
    from remote_harness import run_macro

    from cityopp_xl.adapters import book as book_adapter

    results = []
    run_macro(BAD / entry["file"], lambda book: results.append(book_adapter.run_validate(book)), layout_features=True)
    (result,) = results
    assert [f"{p.severity}: {p}" for p in result.problems] == entry["problems"]
