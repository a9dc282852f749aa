"""Rank scoring and aggregation (METHOD.md sections 2-4): frames in, frames out.

Every frame is indexed by city (the ``city`` index, in edition order) and its columns are
codes: indicator ids, variable names or dimension names. N, the number of cities, is
always the number of rows: nothing assumes 60.

All ranking goes through :meth:`pandas.DataFrame.rank` with ``method="min"`` (competition
ranking), one vectorised call per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .direction import Direction, better_columns, fifteen_digits  # noqa: F401 (fifteen_digits, the target rounding, stays importable from here)
from .model import Framework, Settings

SCORE_DTYPE = "int64"


# --------------------------------------------------------------------------- one column


def transform(values: pd.Series | pd.DataFrame, direction: Direction) -> pd.Series | pd.DataFrame:
    """Turn raw values into "larger is better" by the indicator's direction
    (:meth:`Direction.better`: ``higher`` x; ``lower`` -x; ``target`` -|x - T| rounded to
    15 significant digits). NaN (no value) stays NaN. ``tiers`` values are not ranked: use
    :func:`tier_scores`.
    """
    return direction.better(values)


def rank_scores(better: pd.DataFrame, ties: str = "best") -> pd.DataFrame:
    """Score every column of ``better`` (larger is better, NaN = no value) by rank.

    Parameters
    ----------
    better : DataFrame
        Index: cities (N rows); columns: anything; float values, NaN for a missing value.
    ties : {"best", "worst"}
        ``best``: score = N - (number of cities with a strictly better value): the best
        city gets N, tied cities share the best score of their group, the next group
        skips (60, 59, 59, 57). ``worst``: score = 1 + (number of cities with a strictly
        lower value, cities without a value counting as lower): tied cities share the
        lowest score of their group.

    Returns
    -------
    DataFrame of int64 scores in 1..N, same shape; a city with no value scores 1.
    """
    n = len(better.index)
    if ties == "best":
        # rank(min, descending) = 1 + (number strictly better); NaN rows keep NaN.
        ranks = better.rank(method="min", ascending=False, na_option="keep")
        scores = (n + 1) - ranks
    elif ties == "worst":
        # NaN ranks first ascending, so missing values count as lower than any value.
        ranks = better.rank(method="min", ascending=True, na_option="top")
        scores = ranks.where(better.notna())
    else:
        raise ValueError(f"unknown tie rule {ties!r}")
    return scores.fillna(1).astype(SCORE_DTYPE)


def rank_score(better: pd.Series, ties: str = "best") -> pd.Series:
    """:func:`rank_scores` for one column (a Series indexed by city)."""
    return rank_scores(better.to_frame(), ties=ties).iloc[:, 0]


def tier_scores(tiers: pd.Series | pd.DataFrame, points: tuple[float, ...]) -> pd.Series | pd.DataFrame:
    """Look tier numbers up in a points table: tier k scores ``points[k - 1]``; no value scores 1.

    Tiers must be whole numbers 1..len(points) (the validator reports any other value).
    """
    table = {float(tier): float(score) for tier, score in enumerate(points, start=1)}
    if isinstance(tiers, pd.Series):
        looked_up = tiers.astype("float64").map(table)
    else:
        looked_up = tiers.astype("float64").apply(lambda column: column.map(table))
    return looked_up.fillna(1).astype(SCORE_DTYPE)


def competition_rank(totals: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Competition ranks, largest first: equal totals share the better rank and the next
    rank skips (15 Ningbo, 15 Hefei, 17 Zhengzhou). Returns int64."""
    return totals.rank(method="min", ascending=False).astype(SCORE_DTYPE)


# --------------------------------------------------------------------------- the pipeline steps


def score_indicators(values: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Score every raw indicator (METHOD.md section 2).

    Parameters
    ----------
    values : DataFrame
        Index: city; columns: indicator ids (at least those of the framework's variables
        that are not pre-scored); float values, NaN where a city has no value.
    framework : Framework

    Returns
    -------
    DataFrame, index city, one int64 column per scored indicator (framework order), 1..N
    (or the points of a ``tiers`` indicator). Pre-scored variables have no indicator scores.
    """
    indicators = [i for v in framework.variables if not v.prescored for i in v.indicators]
    ranked = [i for i in indicators if i.direction.ranked]
    # Arrays in, one frame out: the directions applied to the columns of each kind at
    # once, and every ranked column scored in one rank (a Series per indicator made and
    # gathered again took as long as the ranking at 3,000 cities x 300 indicators).
    scores = np.empty((len(values.index), len(indicators)), dtype=SCORE_DTYPE, order="F")
    position = {i.id: p for p, i in enumerate(indicators)}
    if ranked:
        better = better_columns(values[[i.id for i in ranked]].to_numpy(dtype="float64"), [i.direction for i in ranked])
        scored = rank_scores(pd.DataFrame(np.asfortranarray(better), index=values.index, columns=[i.id for i in ranked]), ties="best")
        scores[:, [position[i.id] for i in ranked]] = scored.to_numpy()
    for indicator in indicators:
        if not indicator.direction.ranked:
            scores[:, position[indicator.id]] = tier_scores(values[indicator.id], indicator.direction.points).to_numpy()
    return pd.DataFrame(scores, index=values.index, columns=[i.id for i in indicators])


def score_variables(indicator_scores: pd.DataFrame, prescored: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Variable scores (METHOD.md section 3).

    One indicator: the indicator score (re-scored with ``worst`` when the variable's tie
    rule says so). Two or three: their sum, scored again by rank with the variable's tie
    rule. Pre-scored variables: the given score, taken as it is.

    Parameters
    ----------
    indicator_scores : DataFrame
        Output of :func:`score_indicators`.
    prescored : DataFrame
        Index: city; one column per pre-scored variable (named by the variable), integer
        scores. May be empty when no variable is pre-scored.
    framework : Framework

    Returns
    -------
    DataFrame, index city, one int64 column per variable (framework order), 1..N.
    """
    index = indicator_scores.index if len(indicator_scores.columns) else prescored.index
    # Arrays: a variable's column is a copy, a sum of columns, or a column of the
    # re-scoring of all sums of one tie rule at once (whole numbers: every sum is exact).
    variables = framework.variables
    # Scores are int64; indicator scores given as floats (the robustness analysis fills a
    # missing value with the median, which may be a half) give float variable scores.
    indicator_values = indicator_scores.to_numpy()
    dtype = np.result_type(indicator_values.dtype, SCORE_DTYPE) if len(indicator_scores.columns) else np.dtype(SCORE_DTYPE)
    scores = np.empty((len(index), len(variables)), dtype=dtype, order="F")
    indicator_at = {key: p for p, key in enumerate(indicator_scores.columns)}
    given = [v.name for v in variables if v.prescored]
    given_values = prescored[given].to_numpy(dtype=SCORE_DTYPE) if given else None
    given_at = {name: p for p, name in enumerate(given)}
    sums: dict[str, list[int]] = {"best": [], "worst": []}
    for position, variable in enumerate(variables):
        if variable.prescored:
            scores[:, position] = given_values[:, given_at[variable.name]]
            continue
        columns = [indicator_at[i.id] for i in variable.indicators]
        if len(columns) == 1:
            scores[:, position] = indicator_values[:, columns[0]]
        else:
            scores[:, position] = indicator_values[:, columns].sum(axis=1)
        if len(columns) > 1 or variable.ties != "best":
            sums[variable.ties].append(position)
    for rule, positions in sums.items():
        if positions:
            totals = pd.DataFrame(np.asfortranarray(scores[:, positions]), index=index)
            scores[:, positions] = rank_scores(totals, ties=rule).to_numpy()
    return pd.DataFrame(scores, index=index, columns=[v.name for v in variables])


def aggregate_dimensions(variable_scores: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """Dimension score = sum of its variable scores (no weights).

    Returns a DataFrame indexed by city with one int64 column per dimension (framework order).
    """
    values = variable_scores.to_numpy(dtype=SCORE_DTYPE)
    at = {name: p for p, name in enumerate(variable_scores.columns)}
    totals = np.empty((len(values), len(framework.dimensions)), dtype=SCORE_DTYPE, order="F")
    for position, dimension in enumerate(framework.dimensions):
        totals[:, position] = values[:, [at[v.name] for v in framework.variables_of(dimension)]].sum(axis=1)
    return pd.DataFrame(totals, index=variable_scores.index, columns=list(framework.dimensions))


def rank_dimensions(dimension_scores: pd.DataFrame) -> pd.DataFrame:
    """Competition rank of every city in every dimension (1 = best), int64."""
    return competition_rank(dimension_scores)


def aggregate_overall(dimension_scores: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Overall score, rank and tier.

    Returns a DataFrame indexed by city with columns ``overall`` (int64, sum of the
    dimension scores), ``rank`` (competition rank, int64) and ``tier`` (the label of the
    first tier whose minimum the overall score reaches, else ``settings.other_tier``).
    """
    overall = dimension_scores.sum(axis=1).astype(SCORE_DTYPE)
    return pd.DataFrame(
        {"overall": overall, "rank": competition_rank(overall), "tier": assign_tiers(overall, settings)},
        index=dimension_scores.index,
    )


def assign_tiers(overall: pd.Series, settings: Settings) -> pd.Series:
    """The tier label of each overall score (a score at a tier's minimum is in that tier)."""
    scores = overall.to_numpy()
    labels = np.full(len(scores), settings.other_tier, dtype="object")
    for label, minimum in reversed(settings.tiers):
        labels[scores >= minimum] = label
    return pd.Series(labels, index=overall.index, dtype="object")


# --------------------------------------------------------------------------- checks of given scores


@dataclass(frozen=True)
class ScoreMismatch:
    """A pre-scored variable whose column could not have come from its declared rule."""

    variable: str
    rule: str
    cities: tuple[str, ...]
    detail: str


def expected_under_rule(scores: pd.Series | pd.DataFrame, ties: str, single_indicator: bool) -> pd.Series | pd.DataFrame:
    """The scores a column would have if it had been scored by ``ties`` from its own order
    (of every column, for a DataFrame: each is ranked on its own).

    Cities at 1 in a single-indicator ``best`` column may be cities without a value
    (rule 2.3), so they are always consistent there.
    """
    n = len(scores)
    if ties == "worst":
        expected = scores.rank(method="min", ascending=True).astype(SCORE_DTYPE)
    else:
        expected = (n + 1 - scores.rank(method="min", ascending=False)).astype(SCORE_DTYPE)
        if single_indicator:
            expected = expected.where(scores != 1, 1)
    return expected


def find_prescored_mismatches(prescored: pd.DataFrame, framework: Framework) -> list[ScoreMismatch]:
    """Check every pre-scored column against its variable's declared rule.

    ``tiers`` variables must use only their points (or 1); other variables must equal
    their own re-scoring under the tie rule (see :func:`expected_under_rule`). Returns one
    :class:`ScoreMismatch` per inconsistent variable, naming the cities involved.
    """
    checked = [v for v in framework.variables if v.prescored and v.name in prescored]
    # The columns of one rule are re-scored in one rank of them all: a rank per column
    # took 0.03 s of a Recalculate of the 2025 master (49 columns), four ranks 0.005 s.
    rules: dict[tuple[str, bool], list[str]] = {}
    for variable in checked:
        if not (len(variable.indicators) == 1 and not variable.indicators[0].direction.ranked):
            rules.setdefault((variable.ties, len(variable.indicators) == 1), []).append(variable.name)
    expected_of = {}
    for (ties, single), names in rules.items():
        frame = expected_under_rule(prescored[names], ties, single)
        expected_of.update(zip(names, frame.to_numpy().T))
    # Every column is checked on one array of them all; a column's Series is made only
    # to describe a mismatch.
    block = prescored[[variable.name for variable in checked]].to_numpy() if checked else None
    mismatches = []
    for position, variable in enumerate(checked):
        given = block[:, position]
        first = variable.indicators[0].direction
        if variable.name not in expected_of:
            allowed = set(first.points) | {1}
            if np.isin(given, list(allowed)).all():
                continue
            scores = prescored[variable.name]
            off = scores[~scores.isin(allowed)]
            if len(off):
                mismatches.append(
                    ScoreMismatch(variable.name, "tiers", tuple(off.index), f"scores {sorted(set(off.tolist()))} not in the points table {list(first.points)}")
                )
            continue
        differ = given != expected_of[variable.name]
        if differ.any():
            scores = prescored[variable.name]
            off = scores.index[differ]
            expected = pd.Series(expected_of[variable.name], index=scores.index)
            pairs = ", ".join(f"{c} {scores[c]} (rule: {expected[c]})" for c in off[:2])
            counts = scores[scores > 1].value_counts() if len(variable.indicators) == 1 and variable.ties == "best" else scores.value_counts()
            tied = [int(s) for s in sorted(counts[counts > 1].index, reverse=True)]
            groups = "; ".join(f"{s} shared by {', '.join(str(c) for c in scores.index[scores == s])}" for s in tied[:2])
            mismatches.append(
                ScoreMismatch(variable.name, variable.ties, tuple(off), (f"tied: {groups}; " if groups else "") + f"{len(off)} cities differ, e.g. {pairs}")
            )
    return mismatches
