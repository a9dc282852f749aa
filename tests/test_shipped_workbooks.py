"""The shipped workbooks: built by the script (never by hand), ribbon and VBA intact, and
their VBA project and ribbon survive `cityopp recalc` byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from oletools.olevba import VBA_Parser

from conftest import MASTER, ROOT, TEMPLATE
from ooxml import ooxml_errors

MACRO_PARTS = ("xl/vbaProject.bin", "customUI/customUI14.xml")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name in MACRO_PARTS}


@pytest.mark.parametrize("path", [MASTER, TEMPLATE], ids=["master", "template"])
def test_shipped_workbook_has_the_ribbon_and_vba_and_passes_the_open_xml_check(path):
    found = parts(path)
    assert set(found) == set(MACRO_PARTS)
    ribbon = found["customUI/customUI14.xml"].decode("utf-8")
    for callback in ("CityOpp_Recalculate", "CityOpp_Validate", "CityOpp_Analyze", "CityOpp_Compare", "CityOpp_Share"):
        assert callback in ribbon
    parser = VBA_Parser(str(path))
    modules = {name: code for _, _, name, code in parser.extract_macros()}
    parser.close()
    assert "RunPython" in modules["xlwings.bas"] or any("Function RunPython" in c for c in modules.values())
    assert "cityopp_xl.adapters.book" in modules["CityOppRibbon.bas"]
    assert ooxml_errors(path) == []


def test_vba_and_ribbon_survive_recalc_byte_for_byte(master_copy, tmp_path):
    before = parts(master_copy)
    out = tmp_path / "scored.xlsm"
    result = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", str(master_copy), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert parts(out) == before
    # And again in place, on the already recalculated workbook.
    result = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert parts(out) == before
    assert ooxml_errors(out) == []


def test_shipped_workbooks_are_what_the_build_script_makes(tmp_path, shared_data):
    """Rebuild into a scratch copy of the repository and compare every sheet's cells."""
    scratch = tmp_path / "repo"
    (scratch / "scripts").mkdir(parents=True)
    (scratch / "scripts" / "build_workbooks.py").write_bytes((ROOT / "scripts" / "build_workbooks.py").read_bytes())
    (scratch / "cityopp_xl").symlink_to(ROOT / "cityopp_xl")
    # The script writes into <repo>/workbook and the packaged edition folder.
    edition_backup = {p: p.read_bytes() for p in (ROOT / "cityopp_xl" / "editions" / "cco2025").iterdir()}
    try:
        result = subprocess.run([sys.executable, str(scratch / "scripts" / "build_workbooks.py"), "--data", str(shared_data)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    finally:
        changed = {p for p, data in edition_backup.items() if p.read_bytes() != data}
        for p, data in edition_backup.items():
            p.write_bytes(data)
    assert not changed, f"the packaged edition files are out of date: {sorted(str(p) for p in changed)}"
    for shipped in (MASTER, TEMPLATE):
        rebuilt = scratch / "workbook" / shipped.name
        one, two = openpyxl.load_workbook(shipped), openpyxl.load_workbook(rebuilt)
        assert one.sheetnames == two.sheetnames
        for name in one.sheetnames:
            assert [list(r) for r in one[name].iter_rows(values_only=True)] == [list(r) for r in two[name].iter_rows(values_only=True)], (shipped.name, name)
        assert parts(shipped) == parts(rebuilt)


# OpenBLAS picks its kernel per CPU; OPENBLAS_CORETYPE forces one. A kernel the CPU cannot
# run stops the process (SkylakeX without AVX-512: "Illegal instruction"), so each
# candidate is probed first and threadpoolctl reports the kernel that really runs
# (Prescott runs as "Katmai"). These kernels give different last digits for the same
# eigenvalues: the rebuild check must pass under each of them.
KERNEL_CANDIDATES = ("Prescott", "Sandybridge", "Haswell", "SkylakeX", "ARMV8", "NEOVERSEN1")  # x86-64, then ARM64
KERNEL_PROBE = """
import json, numpy as np, threadpoolctl
kernels = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
rng = np.random.default_rng(1)
matrix = np.corrcoef(rng.normal(size=(60, 10)).T)
print(json.dumps({"kernels": kernels, "eigenvalue": repr(float(np.linalg.eigvalsh(matrix)[-1]))}))
"""


def runnable_kernels() -> dict[str, dict]:
    found = {}
    for coretype in KERNEL_CANDIDATES:
        env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
        result = subprocess.run([sys.executable, "-c", KERNEL_PROBE], capture_output=True, text=True, env=env)
        if result.returncode == 0:
            probe = json.loads(result.stdout)
            if probe["kernels"] and probe["kernels"][0] not in {p["kernels"][0] for p in found.values()}:
                found[coretype] = probe
    return found


def test_the_rebuild_check_passes_under_two_blas_kernels():
    kernels = runnable_kernels()
    assert len(kernels) >= 2, f"fewer than two OpenBLAS kernels run on this machine: {kernels}"
    # The probe shows that the kernels do differ in the last digits (otherwise this test
    # would prove nothing); the shipped figures are rounded, so the rebuild agrees anyway.
    assert len({p["eigenvalue"] for p in kernels.values()}) >= 2, kernels
    for coretype in list(kernels)[:2]:
        env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
        test = f"{Path(__file__).resolve()}::test_shipped_workbooks_are_what_the_build_script_makes"
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], capture_output=True, text=True, env=env, cwd=ROOT)
        assert result.returncode == 0, (coretype, kernels[coretype]["kernels"], result.stdout[-3000:])


def test_the_xlwings_pin_is_the_version_the_embedded_vba_declares():
    """The workbooks' VBA (xlwings' standalone module) calls ``xlwings64-<version>.dll``,
    the DLL that only that xlwings version installs: pyproject.toml must pin exactly it,
    and the installed xlwings (which the build reads the module from) must be it."""
    import re
    import tomllib
    from importlib.metadata import version

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"xlwings\b", d)]
    assert len(pins) == 1 and re.fullmatch(r"xlwings==(\d+\.\d+\.\d+)", pins[0].split(";")[0].strip()), pins
    pinned = pins[0].split("==")[1].strip()
    assert version("xlwings") == pinned
    for path in (MASTER, TEMPLATE):
        parser = VBA_Parser(str(path))
        code = {name: text for _, _, name, text in parser.extract_macros()}["xlwings.bas"]
        parser.close()
        declared = set(re.findall(r'"xlwings(?:32|64)-([\d.]+)\.dll"', code))
        assert declared == {pinned}, (path.name, declared)


def _build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_workbooks", ROOT / "scripts" / "build_workbooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_units_come_from_what_the_indicator_names_state(shared_data):
    build = _build_script()
    unit = build.indicator_unit
    assert unit("Effective invention patents per 10000 people") == "per 10,000 people"
    assert unit("Hospital beds per thousand people") == "per 1,000 people"
    assert unit("Total social R&D expenditure as a proportion of GDP") == "proportion of GDP"
    assert unit("Government debt balance / GDP") == "ratio to GDP"
    assert unit("Number of star-rated hotels") == "number" and unit("Unicorn companies") == "number"
    assert unit("Growth rate of market entities") == "growth rate"
    assert unit("Position in the World Cities 2024 classification") == "position in a ranking"
    assert unit("Annual per capita consumption expenditure of urban residents") == "per capita"
    # A name that states no unit keeps a blank one.
    assert unit("Total GDP") == "" and unit("Freight turnover volume") == ""
    frame = build.edition_framework(shared_data)
    assert (frame["unit"] != "").sum() == 49 and len(frame) == 66
    packaged = (ROOT / "cityopp_xl" / "editions" / "cco2025" / "framework.csv").read_text(encoding="utf-8").splitlines()
    assert packaged[13] == '13,Technological Innovation,Invention patent density,Effective invention patents per 10000 people,higher,best,,no,"per 10,000 people",2024,Statistical communiqué and official reports'
    master = openpyxl.load_workbook(MASTER)["Framework"]
    units = [row[8] for row in master.iter_rows(min_row=4, values_only=True)]
    assert units[12] == "per 10,000 people" and units[0] is None and sum(u is not None for u in units) == 49


def test_framework_print_area_leaves_out_columns_empty_in_every_row():
    import pandas as pd

    from cityopp_xl.adapters.xlsx import framework_print_columns

    frame = pd.DataFrame({"id": ["1", "2"], "points": ["", ""], "unit": ["", "number"], "data_year": ["", ""], "source": ["", " "]})
    assert framework_print_columns(frame) == 3  # up to unit; data_year and source empty in every row
    assert framework_print_columns(frame.assign(unit="")) == 1
    shipped = openpyxl.load_workbook(MASTER)["Framework"]
    assert shipped.print_area == "'Framework'!$A$1:$K$69"  # every column has a value in 2025
