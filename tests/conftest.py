"""Shared fixtures: the raw-value fixture, the 2025 edition data, tool locations."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

SHARED_DATA = ROOT.parent / "shared" / "data" / "cco2025"
MASTER = ROOT / "workbook" / "CityOpp2025.xlsm"
TEMPLATE = ROOT / "workbook" / "CityOpp-template.xlsm"
RAW_FIXTURE = TESTS / "data" / "raw_fixture.xlsx"
GOLDEN = TESTS / "golden"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.csv from the current output (review the diff)")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture
def example_inputs():
    from fixture_helpers import fixture_inputs

    return fixture_inputs()


@pytest.fixture
def build_example(example_inputs):
    """``build_example(up_to="variable_scores")`` returns that stage of the fixture's pipeline."""
    from cityopp_xl.pipeline import run

    def build(up_to: str = "overall"):
        return run(example_inputs)[up_to]

    return build


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the 2025 edition data is missing: expected {SHARED_DATA} (shared/ beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def published(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "published_totals.csv").set_index("city")


@pytest.fixture(scope="session")
def published_variables(shared_data) -> pd.DataFrame:
    return pd.read_csv(shared_data / "variable_scores.csv")


@pytest.fixture
def master_copy(tmp_path) -> Path:
    target = tmp_path / MASTER.name
    shutil.copy2(MASTER, target)
    return target


@pytest.fixture
def fixture_copy(tmp_path) -> Path:
    target = tmp_path / RAW_FIXTURE.name
    shutil.copy2(RAW_FIXTURE, target)
    return target
