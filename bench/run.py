"""Benchmarks of the three places users feel speed: Recalculate, worksheet functions, large data.

Run ``python bench/run.py`` (full, about 15 minutes: the big workbook's floor is an
openpyxl load and save of a million cells, five times) or ``python bench/run.py --quick``
(CI, a few minutes). Every figure is printed as one line::

    BENCH <name> <value> <unit> target <op> <target>

then ``BENCH failed <k>``; lines starting with ``#`` say what was measured. The exit code
is 0 when every figure meets its target, 1 otherwise.

Ratios compare two measurements taken in the same run on the same data: runs of the two
sides alternate, each round's run is divided by the baseline run beside it, and the median
of those ratios is the figure (the ``#`` lines also give each side's median), so they hold
on a noisy machine whose speed changes from one spell of seconds to the next.
"Whole process" figures time a fresh ``python -m cityopp_xl`` child process from start to
exit, and read its peak memory (maximum resident set size) from ``os.wait4``; the child is
started by a small process of its own (:data:`SPAWN_SCRIPT`), so that its peak is not the
benchmark's.

``--quick`` runs fewer repetitions and builds the big workbook with 600 cities instead of
3,000 (and compares Excel round trips on 60 and 600 cities instead of 60 and 3,000); the
figures keep their names and targets, and a ``#`` line says so.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings' remote engine and server

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from make_big import big_cities, big_framework, big_values, write_big_workbook  # noqa: E402

SHIPPED = ROOT / "workbook" / "CityOpp2025.xlsm"
RUN_TIME = "2026-01-01T12:00:00+00:00"
FULL_CITIES = 3000
QUICK_CITIES = 600
SMALL_CITIES = 60
RANKSCORE_BLOCK = 10  # calls of one kind timed in a row (bench_rankscore)

#: The I/O floor: what openpyxl alone takes to load and save the same workbook.
FLOOR_SCRIPT = "import sys, openpyxl; book = openpyxl.load_workbook(sys.argv[1], keep_vba=True); book.save(sys.argv[2])"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    op: str
    target: float

    @property
    def passed(self) -> bool:
        if math.isnan(self.value):
            return False
        if self.op == "<=":
            return self.value <= self.target
        if self.op == "==":
            return math.isclose(self.value, self.target)
        raise ValueError(self.op)

    def line(self) -> str:
        return f"BENCH {self.name} {self.value:.{2 if self.value < 100 else 0}f} {self.unit} target {self.op} {self.target:g}"


def note(text: str) -> None:
    print(f"# {text}", flush=True)


def report(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    return figure


# --------------------------------------------------------------------------- child processes


@dataclass
class ChildRun:
    seconds: float
    peak_mib: float


#: Runs ``python ARGUMENTS`` (its standard output discarded) and prints its wall time, its
#: peak memory (``ru_maxrss`` from ``wait4``) and its exit status. The benchmark starts the
#: measured process through this small one because Linux keeps, at ``exec``, the larger of
#: the new program's peak and that of the process it replaces, and Python starts a child
#: with ``vfork``, sharing the parent's memory until then: a child started by the benchmark
#: itself reported the benchmark's own peak (about 520 MiB, reached writing the 3,000-city
#: workbook), not the child's (about 400 MiB).
SPAWN_SCRIPT = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.executable, [sys.executable, *sys.argv[1:]], os.environ, file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_child(arguments: list[str]) -> ChildRun:
    """Run ``python ARGUMENTS`` to its end (through :data:`SPAWN_SCRIPT`): its wall time,
    from its start to its exit, and its own peak memory."""
    finished = subprocess.run([sys.executable, "-c", SPAWN_SCRIPT, *arguments], capture_output=True, cwd=ROOT, check=False)
    errors = finished.stderr.decode("utf-8", "replace")
    try:
        seconds, maxrss, status = finished.stdout.split()
    except ValueError:
        raise RuntimeError(f"{' '.join(arguments)} could not be run ({finished.returncode}):\n{errors[-2000:]}") from None
    if int(status) != 0:
        raise RuntimeError(f"{' '.join(arguments)} exited with {int(status)}:\n{errors[-2000:]}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    return ChildRun(float(seconds), int(maxrss) / (1024 * 1024 if sys.platform == "darwin" else 1024))


def recalc_child(book: Path, out: Path) -> ChildRun:
    return run_child(["-m", "cityopp_xl", "recalc", str(book), "-o", str(out)])


def floor_child(book: Path, out: Path) -> ChildRun:
    return run_child(["-c", FLOOR_SCRIPT, str(book), str(out)])


def median_seconds(runs: list[ChildRun]) -> float:
    return statistics.median(r.seconds for r in runs)


def paired_ratio(runs: list[ChildRun], baselines: list[ChildRun]) -> float:
    """The median of each round's ratio of a run to the baseline run taken beside it
    (:func:`alternate`): a machine that slows down for a few seconds slows both runs of a
    round, where the two sides' separate medians can come from different spells."""
    return statistics.median(run.seconds / baseline.seconds for run, baseline in zip(runs, baselines))


# --------------------------------------------------------------------------- the figures


def alternate(repetitions: int, *sides) -> list[list[ChildRun]]:
    """Run each side (a function returning a :class:`ChildRun`) ``repetitions`` times,
    the sides taking turns, so that a busy machine slows them alike."""
    runs: list[list[ChildRun]] = [[] for _ in sides]
    for _ in range(repetitions):
        for side, function in zip(runs, sides):
            side.append(function())
    return runs


def bench_recalc_vs_io_floor(workdir: Path, repetitions: int) -> list[Figure]:
    # The shipped workbook ships recalculated, as a workbook is after every Recalculate:
    # cityopp recalc of it (reading everything, replacing its output sheets) against
    # openpyxl loading and saving it. A first Recalculate, of a workbook holding input
    # sheets only (the shipped one with its output sheets taken out), against openpyxl
    # loading and saving that workbook.
    shipped = workdir / "shipped.xlsm"
    shutil.copyfile(SHIPPED, shipped)
    fresh = workdir / "inputs-only.xlsm"
    inputs_only(shipped, fresh)
    recalc_child(shipped, workdir / "recalc.xlsm")  # warms the file cache and the bytecode
    floors, recalcs, fresh_floors, firsts = alternate(
        repetitions,
        lambda: floor_child(shipped, workdir / "floor.xlsm"),
        lambda: recalc_child(shipped, workdir / "recalc.xlsm"),
        lambda: floor_child(fresh, workdir / "floor.xlsm"),
        lambda: recalc_child(fresh, workdir / "recalc.xlsm"),
    )
    floor, recalc = median_seconds(floors), median_seconds(recalcs)
    first, fresh_floor = median_seconds(firsts), median_seconds(fresh_floors)
    note(
        f"shipped 2025 workbook, {repetitions} rounds: cityopp recalc {recalc:.3f} s, openpyxl load+save {floor:.3f} s "
        f"(medians; their ratio {recalc / floor:.2f})"
    )
    note(
        f"first Recalculate of a workbook of input sheets only (the shipped one without its output sheets): "
        f"cityopp recalc {first:.3f} s, openpyxl load+save of it {fresh_floor:.3f} s (medians; their ratio {first / fresh_floor:.2f}); "
        f"each round's ratio: {', '.join(f'{a.seconds / b.seconds:.2f}' for a, b in zip(firsts, fresh_floors))}"
    )
    return [
        report(Figure("recalc_vs_io_floor", paired_ratio(recalcs, floors), "x", "<=", 0.6)),
        report(Figure("first_recalc_vs_io_floor", paired_ratio(firsts, fresh_floors), "x", "<=", 1.2)),
    ]


def inputs_only(book: Path, out: Path) -> None:
    """A copy of ``book`` without the sheets cityopp-xl owns (as before its first Recalculate)."""
    import openpyxl

    from cityopp_xl.adapters import layout

    loaded = openpyxl.load_workbook(book, keep_vba=True)
    for name in [n for n in loaded.sheetnames if layout.is_owned(n)]:
        del loaded[name]
    loaded.save(out)


def bench_engine_vs_rank_floor(cities: int, repetitions: int) -> Figure:
    from cityopp_xl.pipeline import run
    from cityopp_xl.validate import Inputs

    framework = big_framework()
    values = big_values(framework, big_cities(cities))
    inputs = Inputs(framework, values)
    run(inputs)  # warm up
    engine, floor = [], []
    for _ in range(repetitions):
        start = time.perf_counter()
        values.rank(method="min")
        floor.append(time.perf_counter() - start)
        start = time.perf_counter()
        run(inputs)
        engine.append(time.perf_counter() - start)
    engine_s, floor_s = statistics.median(engine), statistics.median(floor)
    note(
        f"scoring core (pipeline.run) on {cities} cities x {values.shape[1]} indicators "
        f"({len(framework.variables)} variables, {len(framework.dimensions)} dimensions, {values.isna().mean().mean():.0%} blank): "
        f"{engine_s:.3f} s; one DataFrame.rank(method='min') over the same matrix {floor_s:.3f} s (medians of {repetitions})"
    )
    return report(Figure("engine_vs_rank_floor", engine_s / floor_s, "x", "<=", 3))


def bench_robustness_vs_pipeline(cities: int, repetitions: int) -> Figure:
    # The whole robustness analysis (every family: 100 variables, 20 dimensions, a
    # leave-one-out scenario per city, tie rules, missing values; intervals and summaries)
    # against one pipeline.run on the same data. A naive loop of reruns costs over one
    # pipeline per scenario, so more than `cities` pipelines.
    from cityopp_xl.pipeline import run
    from cityopp_xl.robustness import build_robustness
    from cityopp_xl.validate import Inputs

    framework = big_framework()
    values = big_values(framework, big_cities(cities))
    inputs = Inputs(framework, values)
    pipeline = run(inputs)  # warm up
    analysis, pipelines, scenarios = [], [], 0
    for _ in range(repetitions):
        start = time.perf_counter()
        run(inputs)
        pipelines.append(time.perf_counter() - start)
        start = time.perf_counter()
        scenarios = len(build_robustness(pipeline).scenarios) - 1
        analysis.append(time.perf_counter() - start)
    analysis_s, pipeline_s = statistics.median(analysis), statistics.median(pipelines)
    note(
        f"robustness analysis on {cities} cities x {values.shape[1]} indicators ({scenarios} scenarios): {analysis_s:.2f} s; "
        f"one pipeline.run on the same data {pipeline_s:.3f} s (medians of {repetitions}, alternating)"
    )
    return report(Figure("robustness_vs_pipeline", analysis_s / pipeline_s, "x", "<=", 100))


def big_workbook(workdir: Path, cities: int) -> Path:
    path = workdir / f"big-{cities}.xlsx"
    if not path.exists():
        start = time.perf_counter()
        write_big_workbook(path, cities)
        note(f"wrote {path.name} ({cities} cities x 300 indicators) in {time.perf_counter() - start:.1f} s")
    return path


def bench_big_recalc(workdir: Path, cities: int, repetitions: int) -> list[Figure]:
    # A first Recalculate (a workbook of input sheets only) and, the usual case, a
    # Recalculate of a workbook that already holds its output sheets; each against openpyxl
    # loading and saving the same file, whole processes, runs alternating.
    book = big_workbook(workdir, cities)
    scored = workdir / f"big-{cities}-scored.xlsx"
    recalc_child(book, scored)
    first_out, second_out, floor_out = (workdir / f"big-{cities}-{name}.xlsx" for name in ("first", "second", "floor"))
    first_floors, firsts, floors, seconds = alternate(
        repetitions,
        lambda: floor_child(book, floor_out),
        lambda: recalc_child(book, first_out),
        lambda: floor_child(scored, floor_out),
        lambda: recalc_child(scored, second_out),
    )
    first, first_floor = median_seconds(firsts), median_seconds(first_floors)
    second, floor = median_seconds(seconds), median_seconds(floors)
    peak = max(r.peak_mib for r in firsts + seconds)
    note(
        f"{book.name}, first Recalculate: cityopp recalc {', '.join(f'{r.seconds:.1f}' for r in firsts)} s, "
        f"openpyxl load+save {', '.join(f'{r.seconds:.1f}' for r in first_floors)} s; peak {max(r.peak_mib for r in firsts):.0f} MiB"
    )
    note(
        f"{scored.name} (already recalculated), Recalculate: cityopp recalc {', '.join(f'{r.seconds:.1f}' for r in seconds)} s, "
        f"openpyxl load+save {', '.join(f'{r.seconds:.1f}' for r in floors)} s; peak {max(r.peak_mib for r in seconds):.0f} MiB"
    )
    note(f"medians: first Recalculate {first:.1f} s against {first_floor:.1f} s (ratio {first / first_floor:.2f}); second {second:.1f} s against {floor:.1f} s (ratio {second / floor:.2f})")
    return [
        report(Figure("big_recalc_vs_io_floor", paired_ratio(seconds, floors), "x", "<=", 0.2)),
        report(Figure("big_first_recalc_vs_io_floor", paired_ratio(firsts, first_floors), "x", "<=", 0.5)),
        report(Figure("big_recalc_peak_mib", peak, "MiB", "<=", 600)),
    ]


def count_excel_actions(book: Path) -> int:
    from remote_harness import run_macro

    from cityopp_xl.adapters import book as book_adapter

    run = run_macro(book, lambda b: book_adapter.run_recalculate(b, run_time=RUN_TIME))
    return len(run.actions)


def bench_excel_roundtrips(workdir: Path, cities: int) -> Figure:
    small = count_excel_actions(big_workbook(workdir, SMALL_CITIES))
    large = count_excel_actions(big_workbook(workdir, cities))
    note(f"Recalculate through xlwings' remote engine: {small} actions on {SMALL_CITIES} cities, {large} on {cities}")
    return report(Figure("excel_roundtrips_growth", large / small, "x", "==", 1.0))


def bench_excel_calls_2025() -> Figure:
    """Actions (calls to Excel) of a Recalculate of the shipped 2025 master through xlwings'
    remote engine: the workbook as a user opens it, already holding its score sheets."""
    calls = count_excel_actions(SHIPPED)
    note(f"Recalculate of {SHIPPED.name} through xlwings' remote engine: {calls} actions")
    return report(Figure("excel_calls_2025", calls, "calls", "<=", 150))


def bench_rankscore(cities: int, repetitions: int) -> Figure:
    from xlwings import server

    import xlwings as xw
    from cityopp_xl import scoring
    from cityopp_xl.model import Direction
    from udfs import cityopp_udfs

    rng = np.random.default_rng(11)
    numbers = rng.integers(1, 500, size=cities).astype("float64")
    numbers[rng.random(cities) < 0.1] = np.nan
    column = [[None if math.isnan(v) else float(v)] for v in numbers]
    data = {
        "func_name": "rankscore",
        "args": [column, None, None, None],
        "version": xw.__version__,
        "client": "Office.js",
        "caller_address": "Sheet1!B2",
        "formula_name": "RANKSCORE",
        "runtime": "1.4",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
    }
    series = pd.Series(numbers)
    higher = Direction("higher")

    def core():
        return scoring.rank_score(scoring.transform(series, higher), "best")

    loop = asyncio.new_event_loop()
    try:
        spilled = loop.run_until_complete(server.custom_functions_call(data, cityopp_udfs))
        if [row[0] for row in spilled] != core().tolist():
            raise RuntimeError("RANKSCORE and the core disagree")
        # Timed call by call in blocks of ten calls of one kind, the blocks taking turns:
        # each kind runs as it does when called over and over, and drift on the machine
        # touches all three alike. (Calls of different kinds one after another would time
        # each with what the one before left behind, the processor caches it filled and
        # the garbage it made: the core called right after RANKSCORE ran 15% slower.)
        udf, direct, python = [], [], []
        timed = (
            (udf, lambda: loop.run_until_complete(server.custom_functions_call(data, cityopp_udfs))),
            (direct, core),
            (python, lambda: cityopp_udfs.rankscore(column)),
        )
        for _ in range(max(1, repetitions // RANKSCORE_BLOCK)):
            for times, call in timed:
                for _ in range(RANKSCORE_BLOCK):
                    start = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - start)
    finally:
        loop.close()
    udf_s, direct_s, python_s = statistics.median(udf), statistics.median(direct), statistics.median(python)
    note(
        f"=RANKSCORE spilling {cities} values through custom_functions_call {udf_s * 1000:.2f} ms; "
        f"the core (scoring.transform + scoring.rank_score) called directly {direct_s * 1000:.2f} ms; "
        f"the Python function rankscore called directly {python_s * 1000:.2f} ms (medians of {len(udf)} calls each, in alternating blocks of {RANKSCORE_BLOCK})"
    )
    return report(Figure("rankscore_call_overhead", udf_s / direct_s, "x", "<=", 3))


# --------------------------------------------------------------------------- main

BENCHMARKS = ("recalc_vs_io_floor", "engine_vs_rank_floor", "big_recalc", "excel_roundtrips_growth", "excel_calls_2025", "rankscore_call_overhead", "robustness_vs_pipeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cityopp-xl benchmarks (see bench/run.py's docstring)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a 600-city big workbook (for CI)")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)")
    parser.add_argument("--workdir", type=Path, help="keep the generated workbooks here and reuse them (default: a temporary folder)")
    args = parser.parse_args(argv)
    selected = args.only or list(BENCHMARKS)
    quick = args.quick
    cities = QUICK_CITIES if quick else FULL_CITIES
    note(f"cityopp-xl benchmarks, {'quick' if quick else 'full'} mode; python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if quick:
        note(f"quick: the big workbook has {QUICK_CITIES} cities (full: {FULL_CITIES}); round trips compare {SMALL_CITIES} and {QUICK_CITIES} cities; fewer repetitions")
    # The child processes import the package from this source tree. pip compiles an
    # installed package to bytecode; compile the tree the same way, so that a machine
    # with PYTHONDONTWRITEBYTECODE set does not time the compiling of every module.
    compileall.compile_dir(ROOT / "cityopp_xl", quiet=1)
    compileall.compile_dir(ROOT / "udfs", quiet=1)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cityopp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []

    def attempt(name: str, function, *arguments) -> None:
        try:
            result = function(*arguments)
            figures.extend(result if isinstance(result, list) else [result])
        except Exception as exc:  # a benchmark that cannot run counts as failed
            note(f"{name} could not run: {type(exc).__name__}: {exc}")
            names = {
                "big_recalc": ["big_recalc_vs_io_floor", "big_first_recalc_vs_io_floor", "big_recalc_peak_mib"],
                "recalc_vs_io_floor": ["recalc_vs_io_floor", "first_recalc_vs_io_floor"],
            }.get(name, [name])
            for failed in names:
                figures.append(report(Figure(failed, math.nan, "-", "<=", math.nan)))

    try:
        if "recalc_vs_io_floor" in selected:
            attempt("recalc_vs_io_floor", bench_recalc_vs_io_floor, workdir, 5 if quick else 11)
        if "engine_vs_rank_floor" in selected:
            attempt("engine_vs_rank_floor", bench_engine_vs_rank_floor, FULL_CITIES, 3 if quick else 7)
        if "big_recalc" in selected:
            attempt("big_recalc", bench_big_recalc, workdir, cities, 5)
        if "excel_roundtrips_growth" in selected:
            attempt("excel_roundtrips_growth", bench_excel_roundtrips, workdir, cities)
        if "excel_calls_2025" in selected:
            attempt("excel_calls_2025", bench_excel_calls_2025)
        if "rankscore_call_overhead" in selected:
            attempt("rankscore_call_overhead", bench_rankscore, FULL_CITIES, 20 if quick else 100)
        if "robustness_vs_pipeline" in selected:
            attempt("robustness_vs_pipeline", bench_robustness_vs_pipeline, FULL_CITIES, 1 if quick else 3)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = sum(not f.passed for f in figures)
    print(f"BENCH failed {failed}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
