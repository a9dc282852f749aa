"""``cityopp analyze BOOK --out DIR`` on copies of workbooks: the CSV contract, the numbers,
and the failures a user can meet."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from cityopp_xl.adapters.analysis_csv import analyze
from cityopp_xl.adapters.xlsx import write_input_workbook
from cityopp_xl.model import SheetTable, check_framework, framework_from_table
from fixture_data import CITIES

FILES = [
    "dimension_stats.csv",
    "dimension_correlations.csv",
    "dimension_rank_correlations.csv",
    "city_balance.csv",
    "leaders.csv",
    "tiers.csv",
    "lifts.csv",
    "audit.csv",
    "insights.txt",
]
WORST_TIES = ("Business carrying capacity", "Passenger and freight transport scale")


def invoke(*args):
    return CliRunner().invoke(analyze, [str(a) for a in args], catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def book_2025(tmp_path_factory, shared_data) -> Path:
    """A plain .xlsx holding the 2025 published variable scores as pre-scored inputs."""
    frame = pd.read_csv(shared_data / "framework.csv", dtype=str, keep_default_na=False)
    frame["ties"] = frame["variable"].map(lambda v: "worst" if v in WORST_TIES else "best")
    frame["points"] = frame["direction"].map(lambda d: "60,50,40,30,20,10,5" if d == "tiers" else "")
    frame["prescored"] = "yes"
    framework, problems = framework_from_table(SheetTable("framework.csv", frame))
    framework = check_framework(framework, problems)
    cities = pd.read_csv(shared_data / "cities.csv")
    names = cities["city"].tolist()
    values = pd.read_csv(shared_data / "variable_scores.csv").pivot(index="city", columns="variable", values="score").reindex(names)
    published = pd.read_csv(shared_data / "published_totals.csv").set_index("city").reindex(names)
    path = tmp_path_factory.mktemp("book") / "cco2025.xlsx"
    write_input_workbook(path, framework, list(zip(names, cities["province"])), values=values.astype("float64"), published=published)
    return path


def test_the_default_threshold_is_the_core_default():
    from cityopp_xl import analysis
    from cityopp_xl.adapters import analysis_csv

    assert analysis_csv.DEFAULT_COVERAGE_THRESHOLD == analysis.DEFAULT_COVERAGE_THRESHOLD == 0.65


def test_the_command_has_help():
    assert analyze.help and "BOOK" in analyze.help
    result = CliRunner().invoke(analyze, ["--help"])
    assert result.exit_code == 0 and "--coverage-threshold" in result.output


def test_2025_workbook_tables(book_2025, shared_data, tmp_path):
    before = digest(book_2025)
    out = tmp_path / "analysis"
    result = invoke(book_2025, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert digest(book_2025) == before  # the workbook is only read

    long = pd.read_csv(shared_data / "variable_scores.csv")
    order = list(dict.fromkeys(long["dimension"]))
    names = pd.read_csv(shared_data / "cities.csv")["city"].tolist()
    totals = long.groupby(["city", "dimension"])["score"].sum().unstack()[order].reindex(names)
    data = totals.to_numpy(dtype=float)

    stats = pd.read_csv(out / "dimension_stats.csv")
    assert list(stats.columns) == ["dimension", "mean", "sd", "min", "max"]
    assert stats["dimension"].tolist() == order
    np.testing.assert_allclose(stats["sd"], data.std(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(stats["mean"], data.mean(axis=0), rtol=1e-9)

    correlations = pd.read_csv(out / "dimension_correlations.csv")
    assert list(correlations.columns) == ["dimension", *order]
    np.testing.assert_allclose(correlations[order].to_numpy(), np.corrcoef(data, rowvar=False), atol=1e-9)

    balance = pd.read_csv(out / "city_balance.csv")
    assert list(balance.columns) == ["city", "sd", "top10_count"]
    assert balance["city"].tolist() == names
    counts = {c: sum(1 + int((totals[d] > totals.at[c, d]).sum()) <= 10 for d in order) for c in names}
    assert dict(zip(balance["city"], balance["top10_count"])) == counts

    leaders = pd.read_csv(out / "leaders.csv")
    assert list(leaders.columns) == ["level", "name", "rank", "city"]
    assert set(leaders["level"]) == {"dimension", "variable"}
    assert leaders.groupby(["level", "name"]).ngroups == 60
    assert (leaders["rank"] <= 5).all()
    economic = leaders[leaders["name"] == "Economic Strength"]["city"].tolist()
    assert economic == totals["Economic Strength"].sort_values(ascending=False, kind="stable").index[:5].tolist()

    tiers = pd.read_csv(out / "tiers.csv")
    assert list(tiers.columns) == ["city", "overall", "tier"]
    # The sum of the published variable scores (the report prints one overall total that
    # disagrees with its own parts: see the Reconciliation sheet).
    assert dict(zip(tiers["city"], tiers["overall"])) == totals.sum(axis=1).to_dict()
    assert tiers["city"].tolist()[:3] == ["Shanghai", "Beijing", "Shenzhen"]
    assert tiers["tier"].value_counts().to_dict() == {"Other": 33, "Third tier": 17, "Second tier": 7, "First tier": 3}

    audit = pd.read_csv(out / "audit.csv", keep_default_na=False)
    assert list(audit.columns) == ["check", "dimension", "item", "other", "statistic", "value", "threshold", "flag", "note"]
    assert set(audit["check"]) == {"coverage", "correlation", "reliability", "implicit weight", "dimension vs overall"}
    coverage = audit[audit["check"] == "coverage"]
    assert len(coverage) == 50 + 60 and (coverage["flag"] == "").all()
    assert coverage["note"].str.contains("not in the inputs").sum() == 50

    text = (out / "insights.txt").read_text(encoding="utf-8")
    assert "Shanghai and Hangzhou are in the top 10 of all ten dimensions." in text
    assert "the most uneven dimensions are Technological Innovation" in text
    for heading in ("Overall", "Dimensions", "Cities", "Audit", *order):
        assert f"\n{heading}\n{'-' * len(heading)}\n" in "\n" + text


def test_raw_workbook_with_gaps_and_a_coverage_threshold(fixture_copy, tmp_path):
    out = tmp_path / "out"
    result = invoke(fixture_copy, "--out", out, "--coverage-threshold", "0.8")
    assert result.exit_code == 0, result.output
    audit = pd.read_csv(out / "audit.csv", keep_default_na=False, dtype={"item": str})
    flagged = audit[(audit["check"] == "coverage") & (audit["flag"] != "")]
    # b7 (PM2.5) has 5 values of 7 (71%); Cor has 11 of 14 input columns (79%).
    assert flagged["item"].tolist() == ["b7 PM2.5", "Cor"]
    assert flagged["threshold"].tolist() == ["0.8", "0.8"]
    # Every value of Museums is tied, so Culture is constant: its pairs have no correlation.
    constant = audit[(audit["check"] == "correlation") & (audit["flag"].str.startswith("constant"))]
    assert set(constant["item"]) | set(constant["other"]) >= {"Culture"}
    indicator_pairs = audit[audit["statistic"] == "indicator pair: pearson r"]
    assert len(indicator_pairs) > 0
    tiers = pd.read_csv(out / "tiers.csv")
    assert sorted(tiers["city"]) == sorted(CITIES)
    assert tiers["tier"].tolist()[:2] == ["High", "High"]


def test_default_threshold_is_65_percent(fixture_copy, tmp_path):
    result = invoke(fixture_copy, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    audit = pd.read_csv(tmp_path / "out" / "audit.csv", keep_default_na=False)
    assert (audit[audit["check"] == "coverage"]["flag"] == "").all()
    assert set(audit[audit["check"] == "coverage"]["threshold"]) == {"0.65"}


def test_a_blocking_problem_fails_with_exit_2(fixture_copy, tmp_path):
    book = openpyxl.load_workbook(fixture_copy)
    sheet = book["D1 data"]
    sheet["B5"] = "1.2万"
    book.save(fixture_copy)
    out = tmp_path / "out"
    result = CliRunner().invoke(analyze, [str(fixture_copy), "--out", str(out)])
    assert result.exit_code == 2
    assert "block scoring" in result.stderr and "D1 data!B5" in result.stderr
    assert not out.exists()


def test_a_file_that_is_not_a_workbook_fails_with_exit_2(tmp_path):
    fake = tmp_path / "notes.xlsx"
    fake.write_text("not a workbook")
    result = CliRunner().invoke(analyze, [str(fake), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "cityopp:" in result.stderr
