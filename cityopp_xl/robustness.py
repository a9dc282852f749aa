"""Robustness: how much each city's rank depends on the method's choices.

The method is replayed under families of changes and every scenario's ranks are compared
with the baseline's on the same set of cities (see :func:`build_robustness`):

* ``drop_variable:<variable>``: the overall score without that variable;
* ``drop_dimension:<dimension>``: the overall score without that dimension;
* ``leave_city_out:<city>``: the city removed from the edition (N becomes N - 1), every
  indicator re-scored among the remaining cities and everything summed again;
* ``tie_rule:flip``: every variable of 2 or 3 indicators that is not pre-scored scored
  under the other tie rule;
* ``missing:median``: a city with no value scores the median score of the cities that
  have one, instead of 1.

Leaving a city out never reruns the pipeline. Among the remaining cities an indicator
score changes by 0 or -1: ``N - 1 - (number strictly better)`` loses 1 from N and 1 from
the count when the removed city was strictly better. So every leave-one-out scenario
follows from the baseline scores by comparisons with the removed city's scores; the order
of the remaining cities in every indicator is unchanged, and only the sums of the 2- and
3-indicator variables (and ``worst`` variables) are counted again, a histogram per
scenario. ``tests/test_robustness.py`` checks that this equals a full rerun without the
city, exactly, for random frameworks and data.

Pure numpy and pandas; reads a :class:`~cityopp_xl.pipeline.Pipeline`, never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import scoring
from .model import Framework
from .pipeline import Pipeline

BASELINE = "baseline"
#: The scenario families, in the order their scenarios are listed.
FAMILIES = ("drop_variable", "drop_dimension", "leave_city_out", "tie_rule", "missing")
#: What a family does, as the subject of a sentence ("dropping a variable moves ranks most").
FAMILY_GERUNDS = {
    "drop_variable": "dropping a variable",
    "drop_dimension": "dropping a dimension",
    "leave_city_out": "leaving a city out",
    "tie_rule": "flipping the tie rules",
    "missing": "scoring missing values at the median",
}
#: What a family's scenarios are, after their number ("50 without a variable").
FAMILY_WORDS = {
    "drop_variable": "without a variable",
    "drop_dimension": "without a dimension",
    "leave_city_out": "without a city",
    "tie_rule": "with the tie rules flipped",
    "missing": "with missing values at the median",
}
#: Leave-one-out scenarios computed together (rows of the (scenarios x cities) blocks).
_BLOCK = 32


@dataclass
class Robustness:
    """Every scenario's overall scores and ranks, and what they say about each city.

    ``scenarios``: index ``scenario`` (``baseline`` first, then the families in
    :data:`FAMILIES` order), column ``family``. ``cities``: the edition's cities in
    edition order. ``overall``, ``ranks`` and ``comparable``: float arrays of shape
    (scenarios, cities), NaN where a city is not in the scenario (its own leave-one-out).
    ``ranks`` are competition ranks among the scenario's cities; ``comparable`` is the
    rank on the baseline's scale: a leave-one-out rank plus 1 when the left-out city's
    baseline overall score is strictly higher than the city's own.
    """

    scenarios: pd.DataFrame
    cities: list[str]
    overall: np.ndarray
    ranks: np.ndarray
    comparable: np.ndarray
    #: index city (sorted by baseline rank, ties in edition order): ``rank``, ``best_rank``,
    #: ``worst_rank``, ``best_scenario``, ``worst_scenario``, ``scenarios`` (how many it is in),
    #: ``at_rank`` (in how many its comparable rank is its baseline rank), ``overall``, ``tier``.
    intervals: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: index family: ``scenarios``, ``mean_abs_shift``, ``max_abs_shift``, ``cities_changed``.
    families: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: index city: the cities whose interval crosses a tier boundary (``rank``,
    #: ``best_rank``, ``worst_rank``, ``tier``, ``tiers``: the tiers its interval spans).
    tier_crossings: pd.DataFrame = field(default_factory=pd.DataFrame)

    def scenario_table(self, scenarios: slice = slice(None)) -> pd.DataFrame:
        """One row per scenario and city in it: ``scenario, family, city, overall, rank``.

        Scenarios in :attr:`scenarios` order (``scenarios``: a slice of them), cities in
        edition order; ``overall`` is a float (whole numbers except under
        ``missing:median``), ``rank`` an int.
        """
        first = scenarios.indices(len(self.scenarios))[0]
        inside = ~np.isnan(self.overall[scenarios])
        rows, columns = np.nonzero(inside)
        rows = rows + first
        names = self.scenarios.index.to_numpy()
        families = self.scenarios["family"].to_numpy()
        return pd.DataFrame(
            {
                "scenario": names[rows],
                "family": families[rows],
                "city": np.asarray(self.cities, dtype=object)[columns],
                "overall": self.overall[rows, columns],
                "rank": self.ranks[rows, columns].astype("int64"),
            }
        )


def scenario_name(family: str, subject: str) -> str:
    """``drop_variable:<variable>`` etc.; the subject as the workbook spells it."""
    return f"{family}:{subject}"


# --------------------------------------------------------------------------- the analysis


def build_robustness(pipeline: Pipeline, families: tuple[str, ...] | list[str] | None = None, progress=None) -> Robustness:
    """Replay the method under every scenario of ``families`` and compare the ranks.

    Parameters
    ----------
    pipeline : Pipeline
        A scored run (its stages are read, never changed).
    families : sequence of str, optional
        Names from :data:`FAMILIES` (default: all). ``tie_rule`` is left out when no
        variable of 2 or 3 indicators is scored from raw values, ``missing`` when no value
        is missing.
    progress : callable, optional
        Called as ``progress(done, total)`` (numbers of scenarios) as the work goes on.

    Returns
    -------
    Robustness
    """
    chosen = FAMILIES if families is None else tuple(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown scenario family {', '.join(unknown)}; families are {', '.join(FAMILIES)}")
    framework = pipeline.framework
    cities = list(pipeline["raw"].index)
    variable_scores = pipeline["variable_scores"]
    baseline = pipeline["overall"]["overall"].to_numpy(dtype="float64")
    names: list[tuple[str, str]] = [(BASELINE, BASELINE)]
    blocks: list[np.ndarray] = [baseline[None, :]]
    planned = 1 + len(framework.variables) * ("drop_variable" in chosen) + len(framework.dimensions) * ("drop_dimension" in chosen)
    planned += len(cities) * ("leave_city_out" in chosen) + ("tie_rule" in chosen) + ("missing" in chosen)

    def tick(done: int) -> None:
        if progress:
            progress(min(done, planned), planned)

    if "drop_variable" in chosen:
        for variable in framework.variables:
            names.append((scenario_name("drop_variable", variable.name), "drop_variable"))
        blocks.append(baseline[None, :] - variable_scores.to_numpy(dtype="float64").T)
    if "drop_dimension" in chosen:
        dimension_scores = pipeline["dimension_scores"]
        for dimension in framework.dimensions:
            names.append((scenario_name("drop_dimension", dimension), "drop_dimension"))
        blocks.append(baseline[None, :] - dimension_scores[list(framework.dimensions)].to_numpy(dtype="float64").T)
    tick(len(names))
    left_out = np.full(len(names), -1)
    if "leave_city_out" in chosen:
        for city in cities:
            names.append((scenario_name("leave_city_out", city), "leave_city_out"))
        blocks.append(leave_one_out_overall(pipeline, progress=lambda done: tick(len(left_out) + done)))
        left_out = np.concatenate([left_out, np.arange(len(cities))])
    extra = []
    if "tie_rule" in chosen:
        flipped = {v.name: ("worst" if v.ties == "best" else "best") for v in framework.variables if not v.prescored and len(v.indicators) > 1}
        if flipped:
            rerun = pipeline.rerun(from_step="score_variables", ties=flipped)
            extra.append((scenario_name("tie_rule", "flip"), "tie_rule", rerun["overall"]["overall"].to_numpy(dtype="float64")))
    if "missing" in chosen:
        median = missing_median_overall(pipeline)
        if median is not None:
            extra.append((scenario_name("missing", "median"), "missing", median))
    for name, family, overall in extra:
        names.append((name, family))
        blocks.append(overall[None, :])
    left_out = np.concatenate([left_out, np.full(len(extra), -1)])
    overall = np.vstack(blocks)
    scenarios = pd.DataFrame({"family": [f for _, f in names]}, index=pd.Index([n for n, _ in names], name="scenario"))
    ranks = _competition_ranks(overall)
    comparable = ranks.copy()
    rows = np.nonzero(left_out >= 0)[0]
    if len(rows):
        removed = left_out[rows]
        comparable[rows] += baseline[removed][:, None] > baseline[None, :]
    planned = len(names)
    tick(len(names))
    result = Robustness(scenarios, cities, overall, ranks, comparable)
    result.intervals = _intervals(result, pipeline)
    result.families = _families(result)
    result.tier_crossings = _tier_crossings(result, pipeline)
    return result


def _competition_ranks(overall: np.ndarray) -> np.ndarray:
    """Competition ranks (1 = highest) of every row among its non-NaN entries; NaN stays NaN."""
    missing = np.isnan(overall)
    lowered = np.where(missing, -np.inf, overall)
    ordered = np.sort(lowered, axis=1)  # ascending: number greater = width - searchsorted(right)
    width = overall.shape[1]
    ranks = np.empty(overall.shape, dtype="float64")
    for row in range(overall.shape[0]):
        ranks[row] = width - np.searchsorted(ordered[row], lowered[row], side="right") + 1
    ranks[missing] = np.nan
    return ranks


# --------------------------------------------------------------------------- leave one city out


def leave_one_out_overall(pipeline: Pipeline, cities: list[int] | None = None, progress=None) -> np.ndarray:
    """The overall score of every city with each city left out, without rerunning.

    Parameters
    ----------
    pipeline : Pipeline
    cities : list of int, optional
        Positions (edition order) of the cities to leave out, one scenario each (default:
        every city).
    progress : callable, optional
        Called with the number of scenarios done after each block.

    Returns
    -------
    float64 array (scenarios, cities): row k holds the overall scores among the remaining
    cities with ``cities[k]`` left out, NaN in that city's own column.

    Raw indicators are re-scored among the N - 1 remaining cities (the removed city's
    strictly better values no longer count, and N drops by one); ``tiers`` keep their
    points and a city without a value keeps 1. A pre-scored variable's given scores are
    re-scored among the remaining cities by their order under its tie rule (``best``:
    N - 1 minus the number with a strictly higher given score; ``worst``: 1 plus the
    number with a strictly lower one); a given 1 (no value) stays 1, and a ``tiers``
    variable keeps its points.
    """
    plan = _plan(pipeline)
    n = plan.n
    removed_all = np.arange(n) if cities is None else np.asarray(cities, dtype=np.int64)
    result = np.empty((len(removed_all), n), dtype="float64")
    for start in range(0, len(removed_all), _BLOCK):
        removed = removed_all[start : start + _BLOCK]
        result[start : start + len(removed)] = plan.overall(removed)
        if progress:
            progress(start + len(removed))
    result[np.arange(len(removed_all)), removed_all] = np.nan
    return result


@dataclass
class _Comparison:
    """A term ``sign * [row_key[r] > column_key[c]]`` added when city r is left out."""

    row_key: np.ndarray
    column_key: np.ndarray
    sign: int = 1


@dataclass
class _Rescored:
    """A variable whose sum is scored again by rank among the remaining cities."""

    base: np.ndarray
    comparisons: list[_Comparison]
    ties: str

    @property
    def bounds(self) -> tuple[int, int]:
        """The smallest and largest sum any scenario can give (comparisons only add 1s)."""
        return int(self.base.min()), int(self.base.max()) + len(self.comparisons)


#: Comparisons counted in one int8 block before it is added to the totals.
_INT8_TERMS = 120


@dataclass
class _Plan:
    n: int
    constant: np.ndarray  # the part of the overall score that does not depend on r
    comparisons: list[_Comparison]
    rescored: list[_Rescored]

    def overall(self, removed: np.ndarray) -> np.ndarray:
        """The overall scores (rows: ``removed``; the removed city's own entry is left
        meaningless) as int64."""
        count = len(removed)
        shape = (count, self.n)
        total = np.empty(shape, dtype=np.int64)
        total[:] = self.constant
        hit = np.empty(shape, dtype=bool)
        gained = np.empty(shape, dtype=np.int8)
        for sign in (1, -1):
            terms = [t for t in self.comparisons if t.sign == sign]
            for start in range(0, len(terms), _INT8_TERMS):
                gained[:] = 0
                for term in terms[start : start + _INT8_TERMS]:
                    np.greater(term.row_key[removed][:, None], term.column_key[None, :], out=hit)
                    gained += hit.view(np.int8)
                total += gained if sign > 0 else -gained.astype(np.int64)
        rows = np.arange(count)
        for variable in self.rescored:
            gained[:] = 0
            for term in variable.comparisons:
                np.greater(term.row_key[removed][:, None], term.column_key[None, :], out=hit)
                gained += hit.view(np.int8)
            total += _rescore_rows(variable, gained, removed, rows, self.n)
        return total


def _rescore_rows(variable: _Rescored, gained: np.ndarray, removed: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Score each row's sums (``variable.base + gained``) by rank among its entries other
    than the removed city's: ``best``: N - 1 - (number strictly higher); ``worst``: 1 +
    (number strictly lower).

    One histogram over all rows at once: row j's sums take the bins ``j * width + 1 ..``
    and the removed entry bin ``j * width``, below every sum, so it is neither higher nor
    lower than any remaining city's. The running count over the flat histogram then holds,
    at a sum's bin, ``j * n`` (the earlier rows) plus the row's entries at or below it.
    """
    low, high = variable.bounds
    width = high - low + 2
    offsets = rows * width
    bins = offsets[:, None] + (variable.base - (low - 1))[None, :]
    bins += gained
    bins[rows, removed] = offsets
    running = np.bincount(bins.ravel(), minlength=len(rows) * width)
    np.cumsum(running, out=running)
    if variable.ties == "best":
        # N - 1 - (number strictly higher) = remaining entries at or below = count - 1
        scores = running[bins]
        scores -= (rows * n + 1)[:, None]
    else:
        # 1 + (remaining entries strictly below) = 1 + (count one bin lower - 1)
        scores = running[bins - 1]
        scores -= (rows * n)[:, None]
    return scores


def _columns(frame: pd.DataFrame, dtype) -> dict[str, np.ndarray]:
    """A frame's columns as numpy arrays (one conversion, not one pandas call per column)."""
    matrix = frame.to_numpy(dtype=dtype)
    return {name: matrix[:, position] for position, name in enumerate(frame.columns)}


def _strictly_higher(values: np.ndarray) -> np.ndarray:
    """For each entry, the number of entries strictly greater."""
    ordered = np.sort(values)
    return len(values) - np.searchsorted(ordered, values, side="right")


def _strictly_lower(values: np.ndarray) -> np.ndarray:
    """For each entry, the number of entries strictly smaller."""
    return np.searchsorted(np.sort(values), values, side="left")


def _plan(pipeline: Pipeline) -> _Plan:
    """Split the overall score into a constant part, comparisons with the removed city, and
    the variables to score again (see :func:`leave_one_out_overall`)."""
    framework = pipeline.framework
    raw = pipeline["raw"]
    n = len(raw.index)
    indicator_scores = _columns(pipeline["indicator_scores"], np.int64)
    variable_scores = _columns(pipeline["variable_scores"], np.int64)
    has_value = _columns(raw.notna(), bool)
    never = np.iinfo(np.int64).max
    constant = np.zeros(n, dtype=np.int64)
    comparisons: list[_Comparison] = []
    rescored: list[_Rescored] = []
    for variable in framework.variables:
        if variable.prescored:
            given = variable_scores[variable.name]
            if len(variable.indicators) == 1 and not variable.indicators[0].direction.ranked:
                constant += given
                continue
            kept = given != 1  # a given 1 stands for "no value" and stays 1
            if variable.ties == "best":
                constant += np.where(kept, n - 1 - _strictly_higher(given), 1)
                comparisons.append(_Comparison(given, np.where(kept, given, never)))
            else:
                constant += np.where(kept, 1 + _strictly_lower(given), 1)
                # - [given[r] < given[c]] = - [-given[r] > -given[c]]
                comparisons.append(_Comparison(-given, np.where(kept, -given, never), sign=-1))
            continue
        base = np.zeros(n, dtype=np.int64)
        terms: list[_Comparison] = []
        for indicator in variable.indicators:
            scores = indicator_scores[indicator.id]
            if not indicator.direction.ranked:
                base += scores  # points do not depend on N
                continue
            has = has_value[indicator.id]
            base += scores - has  # N - 1 - (strictly better): one less ...
            # ... plus one where the removed city (with a value) was strictly better.
            terms.append(_Comparison(np.where(has, scores, -1), np.where(has, scores, never)))
        if len(variable.indicators) == 1 and variable.ties == "best":
            constant += base
            comparisons += terms
        else:
            rescored.append(_Rescored(base, terms, variable.ties))
    return _Plan(n, constant, comparisons, rescored)


# --------------------------------------------------------------------------- missing values


def missing_median_overall(pipeline: Pipeline) -> np.ndarray | None:
    """The overall scores when a city with no value scores the median score of the cities
    that have one (instead of 1); None when no value is missing.

    No value: a blank raw value of a scored indicator, a blank pre-scored cell, and a given
    score of 1 shared by two or more cities in a pre-scored variable of one indicator scored
    ``best`` (tied cities with a value would share a higher score: only "no value" gives a
    group at 1).
    """
    framework = pipeline.framework
    raw = pipeline["raw"]
    missing_value = _columns(raw.isna(), bool)
    indicator_scores = _columns(pipeline["indicator_scores"], np.float64)
    variable_scores = _columns(pipeline["variable_scores"], np.float64)
    changed = False

    def with_median(scores: np.ndarray, missing: np.ndarray) -> np.ndarray:
        nonlocal changed
        if missing.any() and not missing.all():
            changed = True
            return np.where(missing, np.median(scores[~missing]), scores)
        return scores

    overall = np.zeros(len(raw.index))
    for variable in framework.variables:
        if not variable.prescored:
            for indicator in variable.indicators:
                indicator_scores[indicator.id] = with_median(indicator_scores[indicator.id], missing_value[indicator.id])
            continue
        given = variable_scores[variable.name]
        missing = missing_value[variable.name]
        if len(variable.indicators) == 1 and variable.ties == "best" and (given == 1).sum() >= 2:
            missing = missing | (given == 1)
        # Medians may be halves: given scores are added as they are.
        overall += with_median(given, missing)
    if not changed:
        return None
    scored = Framework(tuple(v for v in framework.variables if not v.prescored))
    if scored.variables:
        frame = pd.DataFrame(indicator_scores, index=raw.index)[pipeline["indicator_scores"].columns]
        overall += scoring.score_variables(frame, pd.DataFrame(index=raw.index), scored).sum(axis=1).to_numpy(dtype="float64")
    return overall


# --------------------------------------------------------------------------- summaries


def _baseline_order(pipeline: Pipeline) -> pd.Index:
    overall = pipeline["overall"]
    position = pd.Series(range(len(overall.index)), index=overall.index)
    return overall.assign(_position=position).sort_values(["rank", "_position"], kind="stable").index


def _intervals(result: Robustness, pipeline: Pipeline) -> pd.DataFrame:
    comparable = result.comparable
    names = result.scenarios.index.to_numpy()
    baseline_rank = comparable[0]
    inside = ~np.isnan(comparable)
    best_row = np.nanargmin(comparable, axis=0)  # the first scenario (baseline first) giving it
    worst_row = np.nanargmax(comparable, axis=0)
    overall = pipeline["overall"]
    frame = pd.DataFrame(
        {
            "rank": baseline_rank.astype("int64"),
            "best_rank": np.nanmin(comparable, axis=0).astype("int64"),
            "worst_rank": np.nanmax(comparable, axis=0).astype("int64"),
            "best_scenario": names[best_row],
            "worst_scenario": names[worst_row],
            "scenarios": inside.sum(axis=0).astype("int64"),
            "at_rank": (comparable == baseline_rank[None, :]).sum(axis=0).astype("int64"),
            "overall": overall["overall"].to_numpy(),
            "tier": overall["tier"].to_numpy(),
        },
        index=pd.Index(result.cities, name="city"),
    )
    return frame.loc[_baseline_order(pipeline)]


def _families(result: Robustness) -> pd.DataFrame:
    baseline_rank = result.comparable[0]
    family_of = result.scenarios["family"].to_numpy()
    rows = {}
    for family in [f for f in FAMILIES if f in set(family_of)]:
        block = result.comparable[family_of == family]
        shifts = np.abs(block - baseline_rank[None, :])
        values = shifts[~np.isnan(shifts)]
        rows[family] = {
            "scenarios": int(block.shape[0]),
            "mean_abs_shift": round(float(values.mean()), 4) if len(values) else 0.0,
            "max_abs_shift": int(values.max()) if len(values) else 0,
            "cities_changed": int((np.nan_to_num(shifts) > 0).any(axis=0).sum()),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["scenarios", "mean_abs_shift", "max_abs_shift", "cities_changed"])
    frame.index.name = "family"
    return frame


def _tier_crossings(result: Robustness, pipeline: Pipeline) -> pd.DataFrame:
    """Cities whose rank interval spans the baseline ranks of more than one tier.

    Tiers follow the overall score, so each takes a run of baseline ranks, from its best
    member's rank on; a city crosses a boundary when its best and worst ranks fall in
    different tiers' runs.
    """
    overall = pipeline["overall"]
    labels = [label for label, _ in pipeline.settings.tiers] + [pipeline.settings.other_tier]
    # Each tier's best rank in one pass over the cities (a mask and a .loc per tier took
    # 0.005 s of a Recalculate of the 2025 master).
    best_of: dict[str, int] = {}
    for tier, rank in zip(overall["tier"].tolist(), overall["rank"].tolist()):
        best_of[tier] = min(best_of.get(tier, rank), rank)
    present = [label for label in labels if label in best_of]
    firsts = np.array([int(best_of[label]) for label in present], dtype=np.int64)
    intervals = result.intervals
    columns = ["rank", "best_rank", "worst_rank", "tier", "tiers"]
    if len(present) < 2:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="city"))
    best = np.searchsorted(firsts, intervals["best_rank"].to_numpy(), side="right") - 1
    worst = np.searchsorted(firsts, intervals["worst_rank"].to_numpy(), side="right") - 1
    crossing = intervals.loc[best != worst, ["rank", "best_rank", "worst_rank", "tier"]].copy()
    spans = zip(np.maximum(best[best != worst], 0), worst[best != worst])
    crossing["tiers"] = [" to ".join([present[first], present[last]]) for first, last in spans]
    return crossing[columns]


# --------------------------------------------------------------------------- plain words


def ordinal(number: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def describe_scenario(name: str) -> str:
    """A scenario in words: ``without Per capita medical facilities``, ``without Beijing in the index``."""
    family, _, subject = name.partition(":")
    if family == BASELINE:
        return "with the method unchanged"
    if family in ("drop_variable", "drop_dimension"):
        return f"without {subject}"
    if family == "leave_city_out":
        return f"without {subject} in the index"
    if family == "tie_rule":
        return "with the tie rules of the multi-indicator variables flipped"
    if family == "missing":
        return "with missing values scored at the median"
    return name


def city_reading(city: str, row) -> str:
    """One sentence on a city's interval (``row``: its line of :attr:`Robustness.intervals`)."""
    rank, best, worst = int(row["rank"]), int(row["best_rank"]), int(row["worst_rank"])
    text = f"{city} ranks {ordinal(rank)} in {int(row['at_rank'])} of the {int(row['scenarios'])} scenarios it is in"
    if best == worst:
        return text + "; no scenario moves it."
    parts = []
    if best < rank:
        parts.append(f"its best is {ordinal(best)}, {describe_scenario(row['best_scenario'])}")
    if worst > rank:
        parts.append(f"its worst is {ordinal(worst)}, {describe_scenario(row['worst_scenario'])}")
    return text + "; " + "; ".join(parts) + "."


def reading(result: Robustness, leaders: int = 5) -> list[str]:
    """A short plain-English reading: the most and least stable cities, the family that
    moves ranks most, the first ``leaders`` cities and the tier-boundary crossings."""
    intervals = result.intervals
    families = result.families
    lines = []
    if len(families):
        moving = families.sort_values(["mean_abs_shift", "max_abs_shift"], ascending=False, kind="stable")
        top = moving.index[0]
        lines.append(
            f"Across {len(result.scenarios) - 1} scenarios, {_family_words(top)} moves ranks most: "
            f"{moving.at[top, 'mean_abs_shift']:.2f} places on average, at most {int(moving.at[top, 'max_abs_shift'])}."
        )
    width = intervals["worst_rank"] - intervals["best_rank"]
    steady = intervals.index[width == 0]
    if len(steady):
        shown = ", ".join(steady[:8]) + (f" and {len(steady) - 8} more" if len(steady) > 8 else "")
        lines.append(f"{len(steady)} of {len(intervals)} cities keep their rank in every scenario: {shown}.")
    else:
        lines.append(f"Every one of the {len(intervals)} cities moves in at least one scenario.")
    if len(intervals):
        widest = width.sort_values(ascending=False, kind="stable").index[0]
        row = intervals.loc[widest]
        lines.append(f"The widest interval: {widest}, {ordinal(int(row['best_rank']))} to {ordinal(int(row['worst_rank']))} (baseline {ordinal(int(row['rank']))}).")
    for city in intervals.index[:leaders]:
        lines.append(city_reading(city, intervals.loc[city]))
    crossings = result.tier_crossings
    if len(crossings):
        named = [f"{city} ({tiers})" for city, tiers in crossings["tiers"].items()]
        shown = ", ".join(named[:10]) + (f" and {len(named) - 10} more" if len(named) > 10 else "")
        verb = "city has an interval that crosses" if len(named) == 1 else "cities have an interval that crosses"
        lines.append(f"{len(named)} {verb} a tier boundary: {shown}.")
    else:
        lines.append("No city's interval crosses a tier boundary.")
    return lines


def _family_words(family: str) -> str:
    return FAMILY_GERUNDS.get(family, family)
