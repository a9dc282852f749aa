"""``cityopp robustness BOOK --out DIR``: the robustness scenarios as CSV files.

Files written in DIR (UTF-8, one header line, ``\\n`` line ends):

* ``scenarios.csv``: ``scenario,family,city,overall,rank``: one row per scenario and city
  in it (``baseline`` first, family ``baseline``); ``rank`` is the competition rank among
  the scenario's cities.
* ``rank_intervals.csv``: ``city,rank,best_rank,worst_rank,best_scenario,worst_scenario``
  by baseline rank (``rank``): the best and worst rank on the baseline's scale over every
  scenario the city is in, and the first scenario giving each.
* ``families.csv``: ``family,scenarios,mean_abs_shift,max_abs_shift,cities_changed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the core (pandas) loads only when the command runs
    import pandas as pd

    from ..robustness import Robustness

FLOAT_FORMAT = "%.10g"
#: Scenarios written to scenarios.csv at a time.
SCENARIO_CHUNK = 200
SCENARIOS_CSV = "scenarios.csv"
INTERVALS_CSV = "rank_intervals.csv"
FAMILIES_CSV = "families.csv"
INTERVAL_COLUMNS = ["rank", "best_rank", "worst_rank", "best_scenario", "worst_scenario"]


def _write(frame: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    frame.to_csv(path, index=index, lineterminator="\n", float_format=FLOAT_FORMAT, encoding="utf-8")
    return path


def _write_scenarios(result: Robustness, path: Path, chunk: int) -> Path:
    # A table of every scenario at once is a row per scenario and city: 9 million rows
    # (1.4 GB) at 3,000 cities.
    with path.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, len(result.scenarios), chunk):
            table = result.scenario_table(slice(start, start + chunk))
            table.to_csv(handle, header=start == 0, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return path


def write_robustness_csvs(result: Robustness, out: Path, *, chunk: int = SCENARIO_CHUNK) -> list[Path]:
    """Write ``scenarios.csv``, ``rank_intervals.csv`` and ``families.csv`` into the
    folder ``out`` (created when missing; files of the same names are replaced).
    ``scenarios.csv`` is written ``chunk`` scenarios at a time. Returns the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [
        _write_scenarios(result, out / SCENARIOS_CSV, chunk),
        _write(result.intervals[INTERVAL_COLUMNS], out / INTERVALS_CSV, index=True),
        _write(result.families, out / FAMILIES_CSV, index=True),
    ]
