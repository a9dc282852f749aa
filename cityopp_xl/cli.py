"""The ``cityopp`` command: a thin layer over the core and the openpyxl adapter.

Exit codes: 0 done; 1 ``validate`` found a problem that blocks scoring; 2 the run could
not be done (bad input, an unreadable or refused file, a workbook locked by another run),
with the reason on stderr; 3 an internal error (a bug), reported in one line without a
traceback (set ``CITYOPP_DEBUG=1`` to see it). The workbook is never left half-written.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import CityOppError, InputError, OutputError


def _fail(message: str) -> None:
    click.echo(f"cityopp: {message}", err=True)
    sys.exit(2)


def translate_errors(command):
    """Turn the package's errors into a message on stderr and exit code 2 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CityOppError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
        except MemoryError:
            _fail("out of memory: the workbook is too large to read on this computer; nothing was changed")
        except Exception as exc:  # the last resort of the adapter: never a traceback
            if os.environ.get("CITYOPP_DEBUG"):
                raise
            click.echo(
                f"cityopp: internal error ({type(exc).__name__}: {str(exc)[:300]}); this is a bug in cityopp-xl, "
                "please report it with the workbook (set CITYOPP_DEBUG=1 to see the traceback); "
                "a workbook is only ever replaced whole, never left half-written",
                err=True,
            )
            sys.exit(3)

    return wrapper


def print_problems(problems, *, warnings_only: bool = False) -> None:
    """Each problem on stderr as ``warning: Sheet!A1: ...`` (or ``error: ...``), the way
    ``validate`` prints them, in every command."""
    for problem in problems:
        if not (warnings_only and problem.blocking):
            click.echo(f"{problem.severity}: {problem}", err=True)


def check_output_paths(*paths: Path | None) -> None:
    """Refuse, before any work, an output file whose folder does not exist."""
    from .adapters.package import check_output_folder

    for path in paths:
        if path is not None:
            check_output_folder(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cityopp")
def main() -> None:
    """Rank-based city index scoring for the master Excel workbook.

    Every command reads workbooks without running their macros or following their links.
    """


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the recalculated workbook here instead of replacing BOOK.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), help="Also save the run log (every step and its parameters) as JSON.")
@click.option(
    "--formulas/--values",
    default=None,
    help="Write the Indicator scores, score and Overall sheets as live spreadsheet formulas over the input cells "
    "(--formulas) or as values (--values). Default: the Settings sheet's 'output' row, else values.",
)
@translate_errors
def recalc(book: Path, out: Path | None, log_path: Path | None, formulas: bool | None) -> None:
    """Score BOOK and write its output sheets (the Dn scores sheets, Overall, Analysis,
    Insights, Robustness, Indicator scores, Reconciliation, Log, Problems). Input sheets
    are never changed; a failed run leaves the workbook as it was; an .xlsm keeps its VBA
    project and ribbon byte for byte."""
    from .adapters.xlsx import recalc_file

    check_output_paths(out or book, log_path)
    result = recalc_file(book, out, formulas=formulas)
    for leftover in result.removed:
        click.echo(f"cityopp: removed {leftover.name}, a temporary file left by an interrupted run", err=True)
    print_problems(result.problems, warnings_only=True)
    pipeline = result.pipeline
    overall = pipeline["overall"]
    leader = overall.sort_values("rank").index[0]
    click.echo(
        f"{result.written}: scored {len(overall)} cities in {len(pipeline.framework.dimensions)} dimensions; "
        f"first: {leader} ({overall.at[leader, 'overall']}); {len(result.problems)} warning(s)"
    )
    if log_path:
        log_path.write_text(pipeline.log_json(), encoding="utf-8")


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@translate_errors
def validate(book: Path) -> None:
    """List every problem in BOOK as 'Sheet!A1: what was found, expected what'.
    Exits 1 when a problem blocks scoring, 0 otherwise. Writes nothing."""
    from .adapters.xlsx import validate_file

    _, problems, _ = validate_file(book)
    for problem in problems:
        click.echo(f"{problem.severity}: {problem}")
    errors = sum(p.blocking for p in problems)
    click.echo(f"{book}: {errors} error(s), {len(problems) - errors} warning(s)" + ("; scoring is blocked" if errors else "; ready to score"))
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--framework", "framework_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Framework as a CSV file (F.csv columns) or a workbook whose Framework sheet to copy. Default: the 2025 framework.")
@click.option("--cities", "cities_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Cities as a CSV file (city[,province]) or a workbook whose Cities sheet to copy. Default: the 2025 cities.")
@click.option("--plain", is_flag=True, help="Write a plain .xlsx without the CityOpp ribbon and macros.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists (without it, an existing file is never replaced).")
@translate_errors
def new(out: Path, framework_path: Path | None, cities_path: Path | None, plain: bool, force: bool) -> None:
    """Write a blank template OUT (.xlsm with the CityOpp ribbon, or .xlsx) from a
    framework: every input sheet ready for a new edition's raw values. An existing OUT
    is refused unless --force."""
    from .adapters.template import write_template

    check_output_paths(out)
    if out.exists() and not force:
        raise OutputError(f"{out}: the file already exists; nothing was written (add --force to replace it)")
    write_template(out, framework_path, cities_path, plain=plain)
    click.echo(f"{out}: blank template written")


@main.command()
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", "sheet_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write a copy of OLD with a Diff sheet to this file (same extension as OLD).")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), help="Also write cells.csv, structure.csv and moves.csv to this folder.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Most lines of each list in the printed report.")
@translate_errors
def diff(old: Path, new: Path, sheet_out: Path | None, csv_dir: Path | None, limit: int) -> None:
    """Compare two workbooks, OLD (say the master) and NEW (a reviewer's copy): which
    input cells changed, which cities and indicators were added, removed or renamed, and
    how every indicator, variable, dimension and overall score and rank moved as a
    result. Prints a report; OLD and NEW are never changed. Exit 2 when either workbook
    cannot be scored."""
    from .adapters import diff_sheet
    from .adapters.diff_files import check_diff_copy_path, compare_files_with_warnings, write_diff_copy, write_diff_csvs
    from .diff import format_diff

    if sheet_out:
        check_diff_copy_path(old, sheet_out)
    result, warnings = compare_files_with_warnings(old, new)
    print_problems(warnings)
    click.echo(format_diff(result, old.name, new.name, limit=limit))
    if sheet_out:
        written = write_diff_copy(old, sheet_out, diff_sheet.diff_sheet(result, old.name, new.name))
        click.echo(f"{written}: a copy of {old.name} with the Diff sheet")
    if csv_dir:
        paths = write_diff_csvs(result, csv_dir)
        click.echo("wrote " + ", ".join(str(p) for p in paths))


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The reviewer's copy to write (.xlsx).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists (without it, an existing file is never replaced).")
@translate_errors
def share(book: Path, out: Path, force: bool) -> None:
    """Write a reviewer's copy of the master BOOK to OUT: an .xlsx without macros or
    ribbon (no macro warning), every formula with its value, the Log without its
    machine-only tables, and a cover note on About naming the master and its run.
    BOOK is only read (it may be open in Excel); a master whose scores are out of date is
    refused. Send edits back with: cityopp diff BOOK OUT."""
    from .adapters.share import share_file

    result = share_file(book, out, force=force)
    click.echo(
        f"{result.written}: a reviewer's copy of {result.master} without macros (its Recalculate of {result.run_time}, "
        f"input fingerprint {result.inputs_fingerprint}); compare the returned copy with: cityopp diff {book} {out}"
    )


@main.command()
@click.option("--framework", "framework_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="F.csv: id,dimension,variable,indicator,direction[,ties,points,prescored].")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="V.csv: city,id,value (long format).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for indicator_scores.csv, variable_scores.csv and dimension_scores.csv.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), help="Also save the run log as JSON.")
@translate_errors
def score(framework_path: Path, data_path: Path, out: Path, log_path: Path | None) -> None:
    """Score CSV files without a workbook (for pipelines and batch jobs)."""
    from .adapters.csvfiles import read_framework_csv, read_values_csv, write_score_csvs
    from .model import check_framework
    from .pipeline import run

    check_output_paths(log_path)
    framework, problems = read_framework_csv(framework_path)
    framework = check_framework(framework, problems)
    inputs, value_problems = read_values_csv(data_path, framework)
    problems = problems + value_problems
    if inputs is None:
        raise InputError(problems)
    pipeline = run(inputs)
    problems += pipeline.problems
    print_problems(problems, warnings_only=True)
    paths = write_score_csvs(pipeline, out)
    if log_path:
        log_path.write_text(pipeline.log_json(), encoding="utf-8")
    click.echo(f"scored {len(inputs.values)} cities: " + ", ".join(str(p) for p in paths))


@main.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for scenarios.csv, rank_intervals.csv and families.csv (created when missing).")
@click.option(
    "--family",
    "families",
    multiple=True,
    type=click.Choice(["drop_variable", "drop_dimension", "leave_city_out", "tie_rule", "missing"]),
    help="Only this family of scenarios (repeatable). Default: every family.",
)
@translate_errors
def robustness(book: Path, out: Path, families: tuple[str, ...]) -> None:
    """How much each city's rank depends on the method's choices: replay the scoring
    without each variable, without each dimension, without each city, with the tie
    rules flipped and with missing values at the median, and write every scenario's
    ranks (scenarios.csv), each city's best and worst rank (rank_intervals.csv) and a
    summary per family (families.csv) in the folder given by --out. Reads BOOK without
    changing it; exits 2 when a problem in BOOK blocks scoring."""
    from tqdm import tqdm

    from . import robustness as core
    from .adapters.robustness_csv import write_robustness_csvs
    from .adapters.xlsx import validate_file

    _, problems, pipeline = validate_file(book)
    errors = [p for p in problems if p.blocking]
    if errors or pipeline is None:
        raise InputError(errors)
    print_problems(problems, warnings_only=True)
    cities = len(pipeline["overall"].index)

    # Shown only when the run takes more than a second (tqdm's delay).
    with tqdm(unit="scenario", delay=1, file=sys.stderr, leave=False) as bar:

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = core.build_robustness(pipeline, families or None, progress=show)
    paths = write_robustness_csvs(result, out)
    crossing = result.tier_crossings
    click.echo(
        f"{book}: the baseline and {len(result.scenarios) - 1} scenarios over {cities} cities; "
        f"{len(crossing)} cit{'y' if len(crossing) == 1 else 'ies'} whose rank interval crosses a tier boundary"
        + (f" ({', '.join(crossing.index)})" if len(crossing) else "")
        + "; wrote " + ", ".join(p.name for p in paths) + f" in {out}"
    )


from .adapters.analysis_csv import analyze  # noqa: E402  (imports pandas only when run)

main.add_command(analyze)


def run() -> None:
    """The ``cityopp`` command as a process of its own (the console script and
    ``python -m cityopp_xl``).

    Python's cyclic garbage collector stays off, and the process ends without tearing
    the interpreter down: its objects go back to the operating system with the process.
    A workbook read into millions of cell objects never needs a collection pass (the one
    Python makes on its way out took 3 s of a Recalculate at 3,000 cities, bench/run.py),
    and unloading pandas, NumPy and every module took 0.015 to 0.03 s of each command
    (a run of a few tenths of a second on the 2025 workbook). By then the command has
    done everything: its files are written and closed, its lock released; what it printed
    is flushed here. Callers in the same process (tests, other programs) call
    :func:`main` and keep their collector and their exit.

    OpenBLAS runs on one thread (unless ``OPENBLAS_NUM_THREADS`` is set already): it
    starts its thread pool when NumPy is imported, which took about 0.05 s of every
    command on a 2-core machine (``python -c "import numpy"``: 0.16 s, 0.11 s on one
    thread, medians of 5), and the matrices of a run (correlations of a few dozen
    columns) are far too small to gain from threads. One thread also keeps every sum in
    one order whatever the machine's cores.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before anything imports NumPy
    gc.disable()
    try:
        main()
        status = 0
    except SystemExit as exit:  # click ends every command this way
        status = _exit_status(exit.code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what Python reports as 120 at exit
            status = status or 120
    os._exit(status)


def _exit_status(code) -> int:
    """The exit status ``sys.exit(code)`` gives: 0 for None, the number, or 1 after
    printing any other value on stderr."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    run()
