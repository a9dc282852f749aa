"""The benchmark suite's generator and output format (bench/; timings belong to the benchmark only)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import make_big  # noqa: E402

from cityopp_xl.pipeline import run  # noqa: E402
from cityopp_xl.validate import Inputs  # noqa: E402

LINE = re.compile(r"BENCH (\w+) (\S+) (\S+) target (<=|==) (\S+)")


def test_big_framework_has_the_benchmark_shape():
    framework = make_big.big_framework()
    assert len(framework.dimensions) == 20
    assert len(framework.variables) == 100
    assert len(framework.indicators) == 300
    assert all(len(framework.variables_of(d)) == 5 for d in framework.dimensions)
    assert {len(v.indicators) for v in framework.variables} <= {1, 2, 3}
    assert {v.ties for v in framework.variables} == {"best", "worst"}
    assert {i.direction.kind for i in framework.indicators} == {"higher", "lower", "target", "tiers"}


def test_big_values_have_ties_and_a_tenth_missing():
    framework = make_big.big_framework()
    cities = make_big.big_cities(3000)
    values = make_big.big_values(framework, cities)
    assert values.shape == (3000, 300)
    assert list(values.columns) == framework.input_columns()
    assert 0.09 <= values.isna().mean().mean() <= 0.11
    assert values.iloc[:, 0].dropna().duplicated().any()  # tied values
    tiers = [i.id for i in framework.indicators if i.direction.kind == "tiers"]
    assert set(values[tiers].stack().dropna().unique()) <= set(range(1, len(make_big.TIER_POINTS) + 1))
    pipeline = run(Inputs(framework, values))
    assert pipeline["overall"].shape == (3000, 3)
    assert pipeline["variable_scores"].min().min() >= 1
    assert pipeline["variable_scores"].max().max() <= 3000


def test_big_workbook_scores_like_its_frames(tmp_path):
    from cityopp_xl.adapters.xlsx import read_book, load_book

    path = make_big.write_big_workbook(tmp_path / "big.xlsx", cities=40)
    inputs, problems = read_book(load_book(path), path)
    assert inputs is not None, problems
    framework = make_big.big_framework()
    expected = make_big.big_values(framework, make_big.big_cities(40))
    assert (inputs.values.fillna(-1).to_numpy() == expected.fillna(-1).to_numpy()).all()


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_child_process_peak_memory_is_its_own_not_the_benchmarks():
    """The benchmark's own memory (it writes the big workbook) does not count in the peak
    of the processes it measures, and a child's own peak does."""
    bench = load_bench()
    ballast = bytearray(b"x") * (300 << 20)  # the benchmark at 300 MiB, every page written
    small = bench.run_child(["-c", "pass"])
    large = bench.run_child(["-c", "ballast = bytearray(b'x') * (150 << 20)"])
    assert len(ballast) == 300 << 20
    assert small.peak_mib < 100, small
    assert 150 <= large.peak_mib < 250, large
    assert 0 < small.seconds < large.seconds + 5


def test_bench_prints_one_line_per_figure_and_the_failed_count():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "engine_vs_rank_floor", "--only", "rankscore_call_overhead"],
        capture_output=True, text=True, timeout=600,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH")]
    figures = [LINE.fullmatch(line) for line in lines[:-1]]
    assert all(figures), lines
    assert [f.group(1) for f in figures] == ["engine_vs_rank_floor", "rankscore_call_overhead"]
    failed = re.fullmatch(r"BENCH failed (\d+)", lines[-1])
    assert failed, lines
    assert result.returncode == (1 if int(failed.group(1)) else 0)
    assert all(float(f.group(2)) > 0 for f in figures)


@pytest.mark.parametrize("option", ["--help"])
def test_bench_has_help(option):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), option], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--quick" in result.stdout
