"""The openpyxl adapter's promises about the file itself: nothing is lost when a run is
killed while it saves, two runs on one workbook cannot both write it, and temporary files
a killed run leaves are cleaned up by the next run."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cityopp_xl.adapters.xlsx import WorkbookLockedError, recalc_file, workbook_lock

CITIES = 300  # enough that a run spends a second or more saving


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cityopp_xl", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def temporaries(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(f".~{path.stem}.") and p.suffix == path.suffix)


@pytest.fixture(scope="module")
def big_workbook(tmp_path_factory) -> Path:
    """The 2025 framework with raw values for 600 cities."""
    from cityopp_xl.adapters.template import load_framework
    from cityopp_xl.adapters.xlsx import write_input_workbook

    framework = load_framework(None)
    rng = np.random.default_rng(11)
    names = [(f"City {i:04d}", "P") for i in range(CITIES)]
    columns = framework.input_columns()
    values = pd.DataFrame(rng.integers(1, 40, size=(CITIES, len(columns))).astype(float), index=[c for c, _ in names], columns=columns)
    values["39"] = rng.integers(1, 8, size=CITIES).astype(float)  # the tiers indicator
    path = tmp_path_factory.mktemp("big") / "big.xlsx"
    write_input_workbook(path, framework, names, values=values)
    return path


@pytest.fixture
def big_copy(big_workbook, tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return shutil.copy2(big_workbook, folder / big_workbook.name)


def test_a_run_killed_while_saving_leaves_the_workbook_intact(big_copy):
    before = digest(big_copy)
    process = start("recalc", big_copy)
    deadline = time.monotonic() + 300
    killed_while_saving = False
    while time.monotonic() < deadline and process.poll() is None:
        found = temporaries(big_copy)
        if found and found[0].stat().st_size > 0:  # the save has begun writing
            process.send_signal(signal.SIGKILL)
            killed_while_saving = True
            break
        time.sleep(0.002)
    process.communicate(timeout=60)
    assert killed_while_saving, "the run ended before its save could be interrupted"
    assert process.returncode == -signal.SIGKILL
    assert digest(big_copy) == before  # the original, byte for byte
    openpyxl.load_workbook(big_copy, read_only=True).close()
    # What the killed run left is a hidden temporary file, never a file named like the workbook.
    leftovers = [p for p in big_copy.parent.iterdir() if p != big_copy]
    assert leftovers and all(p.name.startswith(".~") for p in leftovers)
    # The next run removes it, says so, and succeeds.
    done = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", big_copy], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "a temporary file left by an interrupted run" in done.stderr
    assert [p.name for p in big_copy.parent.iterdir()] == [big_copy.name]
    assert "Overall" in openpyxl.load_workbook(big_copy, read_only=True).sheetnames


def test_two_runs_at_once_one_writes_the_other_is_refused(big_copy):
    # Started together, both reach the lock within moments of each other; the winner holds
    # it for seconds (reading, scoring and saving 300 cities), so the other is refused.
    runs = [start("recalc", big_copy) for _ in range(2)]
    results = [(run.returncode, err) for run in runs for _, err in [run.communicate(timeout=300)]]
    assert sorted(code for code, _ in results) == [0, 2], results
    lock = big_copy.with_name(f".~{big_copy.name}.cityopp.lock")
    refused = next(err for code, err in results if code == 2)
    assert refused.splitlines() == [
        f"cityopp: {big_copy}: another cityopp run is writing this workbook (lock file {lock.name}); nothing was changed: try again when it has finished"
    ]
    book = openpyxl.load_workbook(big_copy, read_only=True)
    assert "Overall" in book.sheetnames and "Log" in book.sheetnames
    book.close()
    assert [p.name for p in big_copy.parent.iterdir()] == [big_copy.name]


def test_a_refused_run_changes_nothing_and_leaves_the_lock_to_its_holder(fixture_copy):
    before = digest(fixture_copy)
    lock = fixture_copy.with_name(f".~{fixture_copy.name}.cityopp.lock")
    with workbook_lock(fixture_copy):
        for _ in range(2):  # a refused run must not remove the holder's lock file
            done = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", fixture_copy], capture_output=True, text=True, timeout=120)
            assert done.returncode == 2 and "another cityopp run is writing this workbook" in done.stderr
            assert lock.exists()
        with pytest.raises(WorkbookLockedError):
            with workbook_lock(fixture_copy):
                pass
    assert not lock.exists()
    assert digest(fixture_copy) == before


def test_stale_temporaries_are_removed_but_not_other_files(fixture_copy):
    folder = fixture_copy.parent
    stale = folder / f".~{fixture_copy.stem}.ab12_xyz{fixture_copy.suffix}"
    stale.write_bytes(b"half a zip")
    keep = [folder / f".~{fixture_copy.stem}.notes.txt", folder / f"{fixture_copy.stem}.backup.xlsx", folder / f".~other.ab12_xyz{fixture_copy.suffix}"]
    for path in keep:
        path.write_bytes(b"mine")
    result = recalc_file(fixture_copy)
    assert result.removed == [stale]
    assert not stale.exists() and all(p.exists() for p in keep)


def test_a_failed_save_leaves_no_temporary_file(fixture_copy, monkeypatch):
    from cityopp_xl.adapters import xlsx

    before = digest(fixture_copy)

    def broken_replace(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(xlsx.os, "replace", broken_replace)
    with pytest.raises(OSError):
        recalc_file(fixture_copy)
    assert digest(fixture_copy) == before
    assert [p.name for p in fixture_copy.parent.iterdir()] == [fixture_copy.name]
