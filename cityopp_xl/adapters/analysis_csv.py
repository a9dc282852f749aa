"""``cityopp analyze BOOK --out DIR``: the Analysis sheet's tables as CSV files, plus insights.txt.

Files written in DIR (UTF-8, one header line, ``\\n`` line ends; numbers at full precision,
empty cells for undefined values):

* ``dimension_stats.csv``: ``dimension,mean,sd,min,max`` (sample SD across cities).
* ``dimension_correlations.csv``: ``dimension`` then one column per dimension: Pearson's r
  between dimension scores.
* ``dimension_rank_correlations.csv``: the same layout with Spearman's rho (Pearson on
  average ranks).
* ``city_balance.csv``: ``city,sd,top10_count``: sample SD of the city's dimension scores
  and the number of dimensions in which it ranks 10th or better (ties included).
* ``leaders.csv``: ``level,name,rank,city``: every city with a competition rank of 5 or
  better in every dimension (``level`` = ``dimension``) and variable (``variable``).
* ``tiers.csv``: ``city,overall,tier``, best first.
* ``lifts.csv``: ``city,order,dimension,dimension_rank,overall_rank,lift``: for each city
  the dimensions that lift it most above its overall rank (lift = overall rank minus
  dimension rank, in places; ``order`` 1 = the biggest; only positive lifts).
* ``audit.csv``: every audit check, one row per (check, item, statistic), columns:

  - ``check``: ``coverage``, ``correlation``, ``reliability``, ``implicit weight`` or
    ``dimension vs overall``;
  - ``dimension``: the dimension concerned (empty for a city's coverage);
  - ``item``: the indicator (``id name``), variable, city or dimension checked;
  - ``other``: the second item of a correlation pair, or what a dimension is compared with;
  - ``statistic``: what ``value`` measures, e.g. ``indicator: share of cities with a
    value``, ``variable: share of cities with a value`` (pre-scored: measured on the given
    scores), ``city: share of input columns with a value``, ``variable pair: pearson r``,
    ``cronbach alpha``, ``first component share``, ``second eigenvalue``, ``weight in
    variable``, ``weight in overall``, ``pearson r``, ``spearman rho``;
  - ``value``; ``threshold``: the limit the value is judged against (empty when none);
  - ``flag``: why the row needs a look (``below threshold``, ``negative``,
    ``near-duplicate``, ``alpha below 0.7``, ...), empty when it does not;
  - ``note``: the basis of the figure.

* ``insights.txt``: the draft sentences, under one heading per topic.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import CityOppError, format_problems

if TYPE_CHECKING:  # the core (pandas) loads only when the command runs: `cityopp --help` stays quick
    import pandas as pd

    from ..analysis import Analysis
    from ..pipeline import Pipeline

FLOAT_FORMAT = "%.10g"
#: The default of ``--coverage-threshold``; the same as ``analysis.DEFAULT_COVERAGE_THRESHOLD``.
DEFAULT_COVERAGE_THRESHOLD = 0.65


def _write(frame: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    frame.to_csv(path, index=index, lineterminator="\n", float_format=FLOAT_FORMAT, encoding="utf-8")
    return path


def insights_text(analysis: Analysis) -> str:
    """The draft insights as plain text: a heading per topic, one sentence per line."""
    lines: list[str] = []
    for topic, group in analysis.insights.groupby("topic", sort=False):
        if lines:
            lines.append("")
        lines.append(topic)
        lines.append("-" * len(topic))
        lines.extend(f"- {sentence}" for sentence in group["sentence"])
    return "\n".join(lines) + "\n"


def write_analysis_csvs(pipeline: Pipeline, out: Path, *, coverage_threshold: float = DEFAULT_COVERAGE_THRESHOLD) -> list[Path]:
    """Write the analysis of a run into the folder ``out`` (created when missing).

    Parameters
    ----------
    pipeline : Pipeline
        A scored run.
    out : Path
        The folder; existing files of the same names are replaced.
    coverage_threshold : float
        Coverage below this share is flagged in ``audit.csv`` (default 0.65).

    Returns
    -------
    The paths written, in the order of the module docstring.
    """
    from ..analysis import build_analysis

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    analysis = build_analysis(pipeline, coverage_threshold=coverage_threshold)
    top = analysis.params["top"]
    paths = [
        _write(analysis.dimension_stats[["mean", "sd", "min", "max"]].reset_index(), out / "dimension_stats.csv"),
        _write(_matrix(analysis.dimension_correlations), out / "dimension_correlations.csv"),
        _write(_matrix(analysis.dimension_rank_correlations), out / "dimension_rank_correlations.csv"),
        _write(
            analysis.city_balance[["sd", "top_count"]].rename(columns={"top_count": f"top{top}_count"}).reset_index(),
            out / "city_balance.csv",
        ),
        _write(analysis.leaders[["level", "name", "rank", "city"]], out / "leaders.csv"),
        _write(analysis.tiers[["overall", "tier"]].reset_index(), out / "tiers.csv"),
        _write(analysis.city_lifts, out / "lifts.csv"),
        _write(analysis.audit, out / "audit.csv"),
    ]
    text = out / "insights.txt"
    text.write_text(insights_text(analysis), encoding="utf-8", newline="\n")
    paths.append(text)
    return paths


def _matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    frame = matrix.copy()
    frame.index.name = "dimension"
    frame.columns.name = None
    return frame.reset_index()


def _fail(message: str) -> None:
    click.echo(f"cityopp: {message}", err=True)
    sys.exit(2)


@click.command()
@click.argument("book", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the CSV files and insights.txt (created when missing).")
@click.option(
    "--coverage-threshold",
    type=click.FloatRange(0, 1),
    default=DEFAULT_COVERAGE_THRESHOLD,
    show_default=True,
    help="Flag indicators and cities with values for fewer than this share of cities or columns.",
)
def analyze(book: Path, out: Path, coverage_threshold: float) -> None:
    """Write the report statistics, audit checks and draft insights of BOOK as CSV files
    (dimension_stats, dimension_correlations, city_balance, leaders, tiers, lifts, audit)
    and insights.txt in the folder given by --out. Reads BOOK without changing it; exits
    2 when a problem in BOOK blocks scoring."""
    from zipfile import BadZipFile

    from openpyxl.utils.exceptions import InvalidFileException

    from .xlsx import validate_file

    try:
        _, problems, pipeline = validate_file(book)
    except CityOppError as exc:
        _fail(str(exc))
    except (InvalidFileException, BadZipFile) as exc:
        _fail(f"{book}: not a readable Excel workbook ({exc})")
    except OSError as exc:
        _fail(f"{exc.filename or book}: {exc.strerror or exc}")
    from ..cli import print_problems

    errors = [p for p in problems if p.blocking]
    if errors or pipeline is None:
        _fail(f"{book}: {len(errors)} problem(s) block scoring, so there is nothing to analyze:\n{format_problems(errors)}")
    print_problems(problems, warnings_only=True)
    try:
        paths = write_analysis_csvs(pipeline, out, coverage_threshold=coverage_threshold)
    except OSError as exc:
        _fail(f"{exc.filename or out}: {exc.strerror or exc}")
    click.echo(f"{book}: analyzed {len(pipeline['overall'])} cities; wrote " + ", ".join(p.name for p in paths) + f" in {out}")
