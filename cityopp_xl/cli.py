"""The ``cityopp`` command: a thin layer over the core and the openpyxl adapter.

Exit codes: 0 done; 1 ``validate`` found a problem that blocks scoring; 2 the run could
not be done (bad input, unreadable file), with the reason on stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import CityOppError, InputError, format_problems


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

    return wrapper


def _print_problems(problems, *, warnings_only: bool = False) -> None:
    shown = [p for p in problems if not (warnings_only and p.blocking)]
    if shown:
        click.echo(format_problems(shown, limit=len(shown)), err=True)


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
@translate_errors
def recalc(book: Path, out: Path | None, log_path: Path | None) -> None:
    """Score BOOK and write its output sheets (score sheets, Overall, Indicator scores,
    Reconciliation, Log, Problems). Input sheets are never changed; a failed run leaves
    the workbook as it was; an .xlsm keeps its VBA project and ribbon byte for byte."""
    from .adapters.xlsx import recalc_file

    result = recalc_file(book, out)
    _print_problems(result.problems, warnings_only=True)
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
@translate_errors
def new(out: Path, framework_path: Path | None, cities_path: Path | None, plain: bool) -> None:
    """Write a blank template OUT (.xlsm with the CityOpp ribbon, or .xlsx) from a
    framework: every input sheet ready for a new edition's raw values."""
    from .adapters.template import write_template

    write_template(out, framework_path, cities_path, plain=plain)
    click.echo(f"{out}: blank template written")


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

    framework, problems = read_framework_csv(framework_path)
    framework = check_framework(framework, problems)
    inputs, value_problems = read_values_csv(data_path, framework)
    problems = problems + value_problems
    if inputs is None:
        raise InputError(problems)
    pipeline = run(inputs)
    problems += pipeline.problems
    _print_problems(problems, warnings_only=True)
    paths = write_score_csvs(pipeline, out)
    if log_path:
        log_path.write_text(pipeline.log_json(), encoding="utf-8")
    click.echo(f"scored {len(inputs.values)} cities: " + ", ".join(str(p) for p in paths))


from .adapters.analysis_csv import analyze  # noqa: E402  (imports pandas only when run)

main.add_command(analyze)


if __name__ == "__main__":  # pragma: no cover
    main()
