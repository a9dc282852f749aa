"""Statistics behind the report, audit checks and draft insights, read off a Pipeline.

Pure: every function reads frames (or a :class:`~cityopp_xl.pipeline.Pipeline`) and
returns new frames; nothing is changed in place. Three groups:

* **Report statistics** (METHOD.md section 6): spread of each dimension across cities,
  correlations between dimensions, each city's spread across its dimensions, top-k counts,
  the top cities of every dimension and variable, tiers, and the *lift* of a dimension.
* **Audit checks**, as composite-indicator audits do them (JRC/OECD practice): data
  coverage, correlations between the indicators or variables inside each dimension,
  Cronbach's alpha and the first principal component's share of variance, the implicit
  weight of every indicator, and each dimension's correlation with the overall score.
* **Draft insights**: short sentences built from those numbers only.

Definitions used throughout
---------------------------
* Standard deviations are *sample* standard deviations (divisor n - 1).
* Pearson's r is computed on the scores. Spearman's rho is Pearson's r on *average*
  ranks (tied values share the mean of the ranks they span), the textbook definition.
* A constant column has no correlation: its r is NaN.
* Every statistic that is not a whole number (means, standard deviations, correlations,
  alpha, eigenvalues and shares, weights) is rounded to ``SIGNIFICANT_DIGITS`` (12)
  significant digits as soon as it is computed, before any flag or sentence reads it:
  numpy's linear algebra (matrix products, eigenvalues) goes through the BLAS kernel
  OpenBLAS picks for the CPU, and kernels differ in the last one or two of the 16 digits
  (1.374161588792713 on one CPU, 1.374161588792714 on another). Rounded, every machine
  writes the same figures.
* **Lift** of a dimension for a city = the city's overall rank minus its rank in that
  dimension, in places (both are competition ranks, 1 = best). A lift of +20 means the
  city stands 20 places higher in that dimension than in the overall ranking; a negative
  lift means the dimension holds it back. A lift is *strong* ("well above its overall
  rank") when it reaches ``strong_lift`` places: by default a quarter of the number of
  cities, rounded up (15 of 60).
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import Framework, tuples, with_dtypes
from .pipeline import Pipeline
from .scoring import competition_rank

DEFAULT_COVERAGE_THRESHOLD = 0.65
DEFAULT_LEADERS = 5
DEFAULT_TOP = 10
#: Within-dimension pairs whose r is below this are flagged "negative".
DEFAULT_NEGATIVE_BELOW = 0.0
#: Within-dimension pairs whose r reaches this are flagged "near-duplicate".
DEFAULT_DUPLICATE_ABOVE = 0.9
#: Dimension pairs whose r reaches this are called "closely related" in the insights.
DEFAULT_STRONG_CORRELATION = 0.8
#: Decimals a correlation is shown with, on the sheets (number format ``0.00``) and in the
#: sentences. Every threshold test on a correlation compares the value as shown
#: (:func:`shown_r`), so a pair shown as 0.80 is never left out of "reaches 0.8", and one
#: shown as 0.79 never counted in.
R_DECIMALS = 2
#: Cronbach's alpha below this is flagged (the usual rule of thumb).
DEFAULT_ALPHA_MINIMUM = 0.7
#: How many strongest lifts are listed per city.
DEFAULT_LIFTS_PER_CITY = 3

FLAG_NEGATIVE = "negative"
FLAG_DUPLICATE = "near-duplicate"
FLAG_CONSTANT = "constant column: no correlation"
FLAG_LOW_COVERAGE = "below threshold"

BASIS_RAW = "raw indicator values"
BASIS_PRESCORED = "given variable score (pre-scored: raw indicator values are not in the inputs; a score of 1 may stand for a missing value)"

AUDIT_COLUMNS = ["check", "dimension", "item", "other", "statistic", "value", "threshold", "flag", "note"]
INSIGHT_COLUMNS = ["topic", "subject", "sentence"]

#: Significant digits kept of every derived statistic (see the module docstring).
SIGNIFICANT_DIGITS = 12


def round_significant(values, digits: int = SIGNIFICANT_DIGITS):
    """``values`` (a float, an array, a Series or a DataFrame) rounded to ``digits``
    significant digits; NaN and infinities stay as they are, other dtypes are returned
    unchanged. Python's own decimal formatting does the rounding (correctly rounded, the
    same on every machine), so the result does not depend on the CPU."""
    if isinstance(values, pd.DataFrame):
        # Arrays in and out: a Series made and set back per column cost 0.016 s of a
        # Recalculate of the 2025 master (the analysis's 15 tables, most of them all
        # float, rounded in one array each).
        # A table whose numbers are rounded already (most of the analysis's: they are
        # made from rounded figures) is returned as it is, not made again.
        floats = [position for position, dtype in enumerate(values.dtypes.tolist()) if dtype == np.float64]
        if not floats:
            return values
        if len(floats) == len(values.columns):
            array = values.to_numpy()
            rounded_array = round_significant(array, digits)
            return values if np.array_equal(rounded_array, array, equal_nan=True) else pd.DataFrame(rounded_array, index=values.index, columns=values.columns)
        # A shallow copy (its columns are replaced, never changed in place): a deep copy
        # and a dtype compared with a text per column were half of the time.
        rounded = values
        for position in floats:
            column = values.iloc[:, position].to_numpy()
            rounded_column = round_significant(column, digits)
            if not np.array_equal(rounded_column, column, equal_nan=True):
                rounded = values.copy(deep=False) if rounded is values else rounded
                rounded.isetitem(position, rounded_column)
        return rounded
    if isinstance(values, pd.Series):
        if values.dtype != "float64":
            return values
        return pd.Series(round_significant(values.to_numpy(), digits), index=values.index, name=values.name)
    if isinstance(values, np.ndarray):
        if values.dtype != "float64":
            return values
        flat = [float(f"{x:.{digits}g}") for x in values.ravel().tolist()]
        return np.array(flat, dtype="float64").reshape(values.shape)
    if isinstance(values, float):
        return float(f"{values:.{digits}g}")
    return values


# --------------------------------------------------------------------------- basic statistics


def pearson_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation between every pair of columns.

    Parameters
    ----------
    frame : DataFrame
        Rows: observations (cities); columns: variables; numbers without NaN.

    Returns
    -------
    DataFrame, square, index and columns = ``frame.columns``; float64 in [-1, 1]. The
    diagonal is 1, and every entry of a constant column (zero variance) is NaN.
    """
    return pd.DataFrame(_pearson_array(frame.to_numpy(dtype="float64")), index=frame.columns.copy(), columns=frame.columns.copy())


def _pearson_array(values: np.ndarray) -> np.ndarray:
    """:func:`pearson_matrix` of the columns of a float array, without the DataFrames
    (which cost more than the arithmetic for a pair of columns)."""
    centred = values - values.mean(axis=0)
    products = centred.T @ centred
    norms = np.sqrt(np.diag(products))
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = products / np.outer(norms, norms)
    matrix[~np.isfinite(matrix)] = np.nan
    matrix = np.clip(matrix, -1.0, 1.0)
    constant = norms == 0
    np.fill_diagonal(matrix, np.where(constant, np.nan, 1.0))
    return round_significant(matrix)


def average_ranks(frame: pd.DataFrame) -> pd.DataFrame:
    """Ranks 1..n of each column, ascending; tied values share the mean of their ranks."""
    return frame.rank(method="average", ascending=True).astype("float64")


def spearman_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho between every pair of columns: Pearson's r on :func:`average_ranks`.

    Same shape and conventions as :func:`pearson_matrix`.
    """
    return pearson_matrix(average_ranks(frame))


def pearson(a: pd.Series, b: pd.Series) -> float:
    """Pearson's r of two aligned Series (NaN when either is constant)."""
    return _pair_correlation(a.to_numpy(), b.to_numpy())


def _pair_correlation(a: np.ndarray, b: np.ndarray) -> float:
    # The (n, 2) array in the column-major layout a two-column DataFrame gives, so that
    # the sums run in the same order as in pearson_matrix.
    return float(_pearson_array(np.array([a, b], dtype="float64").T)[0, 1])


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rho of two aligned Series (Pearson's r on average ranks)."""
    return float(spearman_matrix(pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()})).iloc[0, 1])


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of ``items`` taken as the items of one scale.

    ``alpha = k / (k - 1) * (1 - sum(var(item)) / var(sum of items))`` with k items and
    sample variances. 1 means the items move together perfectly; values near 0 (or below)
    mean they share little. NaN with fewer than 2 items or when the sum is constant.

    Parameters
    ----------
    items : DataFrame
        Rows: cities; columns: items (e.g. the variable scores of one dimension); no NaN.
    """
    return _cronbach_alpha_array(items.to_numpy(dtype="float64"))


def _cronbach_alpha_array(values: np.ndarray) -> float:
    """:func:`cronbach_alpha` of the columns of a float array."""
    k = values.shape[1]
    if k < 2:
        return math.nan
    total_variance = values.sum(axis=1).var(ddof=1)
    if not total_variance > 0:
        return math.nan
    return round_significant(float(k / (k - 1) * (1 - values.var(axis=0, ddof=1).sum() / total_variance)))


def correlation_eigenvalues(items: pd.DataFrame) -> np.ndarray:
    """Eigenvalues of the items' correlation matrix, largest first (principal components).

    The eigenvalues of a k x k correlation matrix add up to k, so ``eigenvalue / k`` is
    the share of the items' (standardised) variance that component explains. Constant
    items have no correlation and are left out. Returns an empty array with no usable item.
    """
    return _eigenvalues_array(items.to_numpy(dtype="float64"))


def _varying(values: np.ndarray) -> np.ndarray:
    """Which columns of a float array vary (sample standard deviation above 0); none
    with fewer than two rows."""
    if len(values) < 2:
        return np.zeros(values.shape[1], dtype=bool)
    return values.std(axis=0, ddof=1) > 0


def _eigenvalues_array(values: np.ndarray) -> np.ndarray:
    """:func:`correlation_eigenvalues` of the columns of a float array."""
    usable = values[:, _varying(values)]
    if usable.shape[1] == 0:
        return np.array([], dtype="float64")
    # Column-major, as a DataFrame's columns are: the sums run in the same order.
    eigenvalues = np.linalg.eigvalsh(_pearson_array(np.asfortranarray(usable)))
    return round_significant(np.clip(np.sort(eigenvalues)[::-1], 0.0, None))


# --------------------------------------------------------------------------- report statistics


def dimension_statistics(dimension_scores: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample standard deviation, minimum and maximum of each dimension.

    Parameters
    ----------
    dimension_scores : DataFrame
        Index: city; columns: dimensions; scores.

    Returns
    -------
    DataFrame, index ``dimension`` (column order), columns ``mean``, ``sd``, ``min``,
    ``max`` (float64). The larger ``sd``, the more uneven the cities are in that dimension.
    """
    scores = dimension_scores.astype("float64")
    frame = pd.DataFrame(
        {"mean": scores.mean(), "sd": scores.std(ddof=1), "min": scores.min(), "max": scores.max()},
        index=scores.columns.copy(),
    )
    frame.index.name = "dimension"
    return frame


def city_balance(dimension_scores: pd.DataFrame, dimension_ranks: pd.DataFrame, top: int = DEFAULT_TOP) -> pd.DataFrame:
    """How even each city is across its dimensions, and how often it is near the top.

    Parameters
    ----------
    dimension_scores : DataFrame
        Index: city; columns: dimensions.
    dimension_ranks : DataFrame
        Competition ranks of the same shape (1 = best).
    top : int
        A city counts a dimension when its rank there is ``top`` or better (ties included).

    Returns
    -------
    DataFrame, index ``city`` (input order), columns ``mean`` and ``sd`` (float64: the mean
    and sample standard deviation of the city's dimension scores; a small ``sd`` is a
    balanced city) and ``top_count`` (int64: number of dimensions with rank <= ``top``).
    """
    scores = dimension_scores.astype("float64")
    frame = pd.DataFrame(
        {
            "mean": scores.mean(axis=1),
            "sd": scores.std(axis=1, ddof=1),
            "top_count": (dimension_ranks[scores.columns] <= top).sum(axis=1).astype("int64"),
        },
        index=scores.index.copy(),
    )
    frame.index.name = "city"
    return frame


def top_cities(scores: pd.DataFrame, level: str, top: int = DEFAULT_LEADERS) -> pd.DataFrame:
    """The top ``top`` cities of every column, ties included.

    Every city whose competition rank is ``top`` or better is listed, so a tie at the
    boundary lists more than ``top`` cities.

    Parameters
    ----------
    scores : DataFrame
        Index: city; columns: the dimensions or variables to rank (larger is better).
    level : str
        Written in the ``level`` column (``"dimension"`` or ``"variable"``).

    Returns
    -------
    DataFrame with columns ``level``, ``name`` (the column), ``rank`` (int64),
    ``city``, ``score``; in column order, then rank, then the input order of cities.
    """
    return _top_cells([(scores, level)], top)


def _top_cells(parts: list[tuple[pd.DataFrame, str]], top: int) -> pd.DataFrame:
    """:func:`top_cities` of several frames of the same cities, one after the other (their
    columns side by side: one ranking and one frame for them all)."""
    scores = pd.DataFrame(np.column_stack([frame.to_numpy() for frame, _ in parts]), index=parts[0][0].index)
    names = np.array([name for frame, _ in parts for name in frame.columns], dtype=object)
    levels = np.array([level for frame, level in parts for _ in frame.columns], dtype=object)
    # One ranking of all columns, then the chosen cells in column, rank, city order.
    ranks = competition_rank(scores).to_numpy()
    column, row = np.nonzero(ranks.T <= top)  # column-major: column order, then city order
    order = np.lexsort((row, ranks[row, column], column))
    column, row = column[order], row[order]
    return pd.DataFrame(
        {
            "level": levels[column],
            "name": names[column],
            "rank": ranks[row, column].astype("int64"),
            "city": scores.index[row].to_numpy(dtype=object),
            "score": scores.to_numpy()[row, column],
        },
        columns=["level", "name", "rank", "city", "score"],
    )


def leaders(pipeline: Pipeline, top: int = DEFAULT_LEADERS) -> pd.DataFrame:
    """:func:`top_cities` of every dimension, then of every variable (framework order)."""
    framework = pipeline.framework
    dimensions = pipeline["dimension_scores"][list(framework.dimensions)]
    variables = pipeline["variable_scores"][[v.name for v in framework.variables]]
    return _top_cells([(dimensions, "dimension"), (variables, "variable")], top)


def overall_tiers(pipeline: Pipeline) -> pd.DataFrame:
    """Every city's overall score, rank and tier, best first.

    Returns
    -------
    DataFrame, index ``city`` (by rank; tied cities in edition order), columns
    ``overall`` (int64), ``rank`` (int64) and ``tier`` (label from the settings).
    """
    overall = pipeline["overall"]
    # One lexsort of (rank, edition position), as the score sheets sort.
    order = np.lexsort((np.arange(len(overall.index)), overall["rank"].to_numpy()))
    frame = overall.iloc[order][["overall", "rank", "tier"]].copy()
    frame.index.name = "city"
    return frame


def tier_summary(pipeline: Pipeline) -> pd.DataFrame:
    """One row per tier of the settings (highest first, then the other tier).

    Returns
    -------
    DataFrame, index ``tier``, columns ``minimum`` (the tier's lowest qualifying overall
    score; NaN for the other tier), ``below`` (the next tier up's minimum, NaN for the
    first tier), ``cities`` (count), ``highest`` and ``lowest`` (overall scores of its
    cities, NaN when empty) and ``members`` (the cities by rank, joined by ``"; "``).
    """
    settings = pipeline.settings
    tiers = overall_tiers(pipeline)
    labels = [label for label, _ in settings.tiers] + [settings.other_tier]
    minimums = [float(minimum) for _, minimum in settings.tiers] + [math.nan]
    rows = []
    # The cities and scores of each tier as lists (a filtered frame per tier: 0.002 s).
    listed = list(zip(tiers.index.tolist(), tiers["tier"].tolist(), tiers["overall"].tolist()))
    for position, label in enumerate(labels):
        members = [(city, score) for city, tier, score in listed if tier == label]
        scores = [score for _, score in members]
        rows.append(
            {
                "tier": label,
                "minimum": minimums[position],
                "below": minimums[position - 1] if position else math.nan,
                "cities": len(members),
                "highest": float(max(scores)) if members else math.nan,
                "lowest": float(min(scores)) if members else math.nan,
                "members": "; ".join(city for city, _ in members),
            }
        )
    return with_dtypes(pd.DataFrame(rows).set_index("tier"), {"cities": "int64"})


def dimension_lifts(dimension_ranks: pd.DataFrame, overall_rank: pd.Series) -> pd.DataFrame:
    """The lift of every dimension for every city: overall rank minus dimension rank.

    Parameters
    ----------
    dimension_ranks : DataFrame
        Index: city; columns: dimensions; competition ranks (1 = best).
    overall_rank : Series
        Index: city; the overall competition rank.

    Returns
    -------
    DataFrame of the same shape, int64 places. Positive: the city ranks that many places
    higher in the dimension than overall (the dimension lifts it); negative: lower.
    """
    lifts = dimension_ranks.rsub(overall_rank.reindex(dimension_ranks.index), axis=0)
    return lifts.astype("int64")


def city_lifts(pipeline: Pipeline, per_city: int = DEFAULT_LIFTS_PER_CITY) -> pd.DataFrame:
    """For each city, the dimensions that lift it most above its overall rank.

    Up to ``per_city`` dimensions with a positive lift (see :func:`dimension_lifts`),
    largest first; equal lifts keep framework order. A city with no positive lift (for
    instance the first city overall) has no row.

    Returns
    -------
    DataFrame with columns ``city``, ``order`` (1 = the biggest lift), ``dimension``,
    ``dimension_rank``, ``overall_rank``, ``lift`` (int64), cities in edition order.
    """
    ranks = pipeline["dimension_ranks"]
    overall_rank = pipeline["overall"]["rank"]
    lifts = dimension_lifts(ranks, overall_rank)
    rows = []
    # Plain lists, not a Series per city: the same rows at a fraction of the cost at 3,000 cities.
    dimensions = list(lifts.columns)
    rank_rows = ranks.reindex(index=lifts.index, columns=dimensions).to_numpy().tolist()
    overall_ranks = overall_rank.reindex(lifts.index).tolist()
    for city, row, city_ranks, city_overall in zip(lifts.index, lifts.to_numpy().tolist(), rank_rows, overall_ranks):
        positive = [(position, lift) for position, lift in enumerate(row) if lift > 0]
        ordered = sorted(positive, key=lambda item: -item[1])[:per_city]
        for order, (position, lift) in enumerate(ordered, start=1):
            rows.append(
                {
                    "city": city,
                    "order": order,
                    "dimension": dimensions[position],
                    "dimension_rank": int(city_ranks[position]),
                    "overall_rank": int(city_overall),
                    "lift": int(lift),
                }
            )
    columns = ["city", "order", "dimension", "dimension_rank", "overall_rank", "lift"]
    return with_dtypes(pd.DataFrame(rows, columns=columns), {c: "int64" for c in columns[3:] + ["order"]})


def default_strong_lift(cities: int) -> int:
    """The lift (places) called "well above its overall rank": a quarter of the cities, rounded up."""
    return max(1, math.ceil(cities / 4))


# --------------------------------------------------------------------------- audit checks


def indicator_coverage(pipeline: Pipeline, threshold: float = DEFAULT_COVERAGE_THRESHOLD) -> pd.DataFrame:
    """Share of cities with a value, per input column of the framework.

    The input column of a scored variable is each of its raw indicators; a pre-scored
    variable has one column, its given score, and its raw indicator values are not in the
    inputs: its coverage is measured on the given scores (``basis`` says so) and nothing
    is assumed about the raw data behind them.

    Parameters
    ----------
    pipeline : Pipeline
    threshold : float
        Flag a column whose share of cities with a value is below this (0..1).

    Returns
    -------
    DataFrame, index ``input`` (indicator id, or the variable name of a pre-scored
    variable), columns ``dimension``, ``variable``, ``label`` (indicator name, or
    "given variable score"), ``cities`` (N), ``with_value`` (int64), ``share`` (float),
    ``below_threshold`` (bool), ``basis`` (text).
    """
    raw = pipeline["raw"]
    n = len(raw.index)
    # Every column counted in one call (a notna and a sum per column: 0.004 s of a
    # Recalculate of the 2025 master).
    counts = dict(zip(raw.columns, raw.notna().sum().tolist()))
    rows = []
    for variable in pipeline.framework.variables:
        if variable.prescored:
            entries = [(variable.name, "given variable score", BASIS_PRESCORED)]
        else:
            entries = [(i.id, i.name, BASIS_RAW) for i in variable.indicators]
        for key, label, basis in entries:
            with_value = int(counts[key])
            share = with_value / n if n else math.nan
            rows.append(
                {
                    "input": key,
                    "dimension": variable.dimension,
                    "variable": variable.name,
                    "label": label,
                    "cities": n,
                    "with_value": with_value,
                    "share": share,
                    "below_threshold": bool(share < threshold),
                    "basis": basis,
                }
            )
    return pd.DataFrame(rows).set_index("input")


def city_coverage(pipeline: Pipeline, threshold: float = DEFAULT_COVERAGE_THRESHOLD) -> pd.DataFrame:
    """Share of the framework's input columns in which each city has a value.

    Returns
    -------
    DataFrame, index ``city`` (edition order), columns ``with_value`` (int64), ``columns``
    (int64, the number of input columns), ``share`` (float), ``below_threshold`` (bool),
    ``basis`` (text: how many of the columns are raw indicator values and how many are
    given variable scores).
    """
    framework = pipeline.framework
    raw = pipeline["raw"]
    columns = framework.input_columns()
    prescored = sum(v.prescored for v in framework.variables)
    measured = len(columns) - prescored
    with_value = raw[columns].notna().sum(axis=1).astype("int64")
    share = with_value / len(columns) if columns else with_value * math.nan
    basis = f"{counted(measured, 'raw indicator value column')} and {counted(prescored, 'given variable score column')}"
    frame = pd.DataFrame(
        {"with_value": with_value, "columns": len(columns), "share": share.astype("float64"), "below_threshold": share < threshold, "basis": basis},
        index=raw.index.copy(),
    )
    frame.index.name = "city"
    return with_dtypes(frame, {"columns": "int64", "below_threshold": "bool"})


def _pairs(values: np.ndarray, labels: list[str], dimension: str, level: str, negative_below: float, duplicate_above: float) -> list[dict]:
    """A row per pair of the columns of ``values`` (column-major, as a DataFrame's)."""
    matrix = _pearson_array(values).tolist()
    rows = []
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            r = matrix[a][b]
            if math.isnan(r):
                flag = FLAG_CONSTANT
            elif shown_r(r) < negative_below:
                flag = FLAG_NEGATIVE
            elif shown_r(r) >= duplicate_above:
                flag = FLAG_DUPLICATE
            else:
                flag = ""
            rows.append({"dimension": dimension, "level": level, "first": labels[a], "second": labels[b], "r": float(r), "flag": flag})
    return rows


def within_dimension_correlations(
    pipeline: Pipeline,
    negative_below: float = DEFAULT_NEGATIVE_BELOW,
    duplicate_above: float = DEFAULT_DUPLICATE_ABOVE,
) -> pd.DataFrame:
    """Pearson's r between every pair of variables, and of indicators, inside each dimension.

    Variables are compared on their variable scores; indicators on their indicator scores
    (rank scores, so r here is close to a rank correlation of the raw values). Indicators
    of pre-scored variables have no scores and are left out.

    Parameters
    ----------
    negative_below : float
        A pair with r below this is flagged ``negative`` (it pulls the dimension apart).
    duplicate_above : float
        A pair with r at or above this is flagged ``near-duplicate`` (it counts one thing twice).

    Returns
    -------
    DataFrame with columns ``dimension``, ``level`` (``variable`` or ``indicator``),
    ``first``, ``second`` (variable names, or ``"<id> <indicator name>"``), ``r`` (float;
    NaN when a column is constant) and ``flag`` (``negative``, ``near-duplicate``,
    "constant column: no correlation", or empty). Dimensions in framework order, variable
    pairs before indicator pairs.
    """
    framework = pipeline.framework
    # Two float arrays, each dimension's columns a column-major slice of one (a DataFrame
    # and a correlation frame per dimension and level: 0.004 s of a Recalculate of the
    # 2025 master).
    variable_scores, indicator_scores = pipeline["variable_scores"], pipeline["indicator_scores"]
    variable_values, indicator_values = variable_scores.to_numpy(dtype="float64"), indicator_scores.to_numpy(dtype="float64")
    variable_at = {name: p for p, name in enumerate(variable_scores.columns)}
    indicator_at = {key: p for p, key in enumerate(indicator_scores.columns)}
    rows: list[dict] = []
    for dimension in framework.dimensions:
        variables = framework.variables_of(dimension)
        names = [v.name for v in variables]
        items = np.asfortranarray(variable_values[:, [variable_at[name] for name in names]])
        rows += _pairs(items, names, dimension, "variable", negative_below, duplicate_above)
        indicators = [i for v in variables if not v.prescored for i in v.indicators]
        if len(indicators) > 1:
            items = np.asfortranarray(indicator_values[:, [indicator_at[i.id] for i in indicators]])
            rows += _pairs(items, [f"{i.id} {i.name}" for i in indicators], dimension, "indicator", negative_below, duplicate_above)
    return with_dtypes(pd.DataFrame(rows, columns=["dimension", "level", "first", "second", "r", "flag"]), {"r": "float64"})


def dimension_reliability(pipeline: Pipeline, alpha_minimum: float = DEFAULT_ALPHA_MINIMUM) -> pd.DataFrame:
    """Cronbach's alpha and principal components of each dimension's variable scores.

    The items of a dimension are its variable scores (what the dimension score adds up).
    See :func:`cronbach_alpha` and :func:`correlation_eigenvalues`.

    Returns
    -------
    DataFrame, index ``dimension`` (framework order), columns ``items`` (int64),
    ``alpha``, ``pc1_share`` (the first component's share of the variance, 0..1),
    ``pc1_eigenvalue``, ``pc2_eigenvalue`` (float; NaN when not defined) and ``flag``:
    "alpha below <alpha_minimum>", "more than one component with eigenvalue above 1"
    (the variables may measure more than one thing), "constant items left out of the
    components: ...", joined by "; ", or empty.
    """
    framework = pipeline.framework
    variable_scores = pipeline["variable_scores"]
    # One float array of every variable's scores, each dimension's items a column-major
    # slice of it (a DataFrame per dimension, and its std, took 0.02 s of a Recalculate
    # of the 2025 master).
    position = {name: p for p, name in enumerate(variable_scores.columns)}
    values = variable_scores.to_numpy(dtype="float64")
    rows = []
    for dimension in framework.dimensions:
        names = [v.name for v in framework.variables_of(dimension)]
        items = np.asfortranarray(values[:, [position[name] for name in names]])
        alpha = _cronbach_alpha_array(items)
        eigenvalues = _eigenvalues_array(items)
        constant = [name for name, varies in zip(names, _varying(items)) if not varies]
        flags = []
        if not np.isnan(alpha) and alpha < alpha_minimum:
            flags.append(f"alpha below {alpha_minimum:g}")
        if (eigenvalues > 1).sum() > 1:
            flags.append("more than one component with eigenvalue above 1")
        if constant:
            flags.append("constant items left out of the components: " + ", ".join(constant))
        usable = len(eigenvalues)
        rows.append(
            {
                "dimension": dimension,
                "items": len(names),
                "alpha": alpha,
                "pc1_share": float(eigenvalues[0] / usable) if usable >= 2 else math.nan,
                "pc1_eigenvalue": float(eigenvalues[0]) if usable >= 2 else math.nan,
                "pc2_eigenvalue": float(eigenvalues[1]) if usable >= 2 else math.nan,
                "flag": "; ".join(flags),
            }
        )
    return with_dtypes(pd.DataFrame(rows).set_index("dimension"), {"items": "int64"})


def implicit_weights(framework: Framework) -> pd.DataFrame:
    """The nominal weight each indicator carries, though the method has no weights.

    A variable of k indicators adds their scores, so each weighs 1/k of it; a dimension
    adds its variables; the overall score adds the dimensions. Re-scoring a sum by rank
    keeps the order of the sum, so these are the weights of the sum, not exact shares of
    the final score.

    Returns
    -------
    DataFrame, index ``indicator`` (id, framework order), columns ``name``, ``dimension``,
    ``variable``, ``indicators_in_variable`` (k, int64), ``variable_weight`` (1/k),
    ``dimension_weight`` (1/(k * variables in the dimension)) and ``overall_weight``
    (``dimension_weight`` / number of dimensions), floats.
    """
    dimensions = len(framework.dimensions)
    rows = []
    for variable in framework.variables:
        k = len(variable.indicators)
        variables = len(framework.variables_of(variable.dimension))
        for indicator in variable.indicators:
            rows.append(
                {
                    "indicator": indicator.id,
                    "name": indicator.name,
                    "dimension": variable.dimension,
                    "variable": variable.name,
                    "indicators_in_variable": k,
                    "variable_weight": 1 / k,
                    "dimension_weight": 1 / (k * variables),
                    "overall_weight": 1 / (k * variables * dimensions),
                }
            )
    return with_dtypes(pd.DataFrame(rows).set_index("indicator"), {"indicators_in_variable": "int64"})


def overall_correlations(pipeline: Pipeline) -> pd.DataFrame:
    """How closely each dimension follows the overall score.

    Returns
    -------
    DataFrame, index ``dimension`` (framework order), columns ``pearson`` and ``spearman``
    (with the overall score) and ``pearson_rest`` (Pearson's r with the overall score
    minus this dimension: the part-whole overlap removed; NaN when that rest is constant).
    """
    dimension_scores = pipeline["dimension_scores"].astype("float64")
    overall = pipeline["overall"]["overall"].astype("float64").to_numpy()
    # Arrays, and every column ranked in one call (a column's ranks do not depend on the
    # others): :func:`pearson` and :func:`spearman` pair by pair, through DataFrames,
    # took 0.012 s of a Recalculate of the 2025 master.
    values = dimension_scores.to_numpy()
    ranks = average_ranks(pd.DataFrame(np.column_stack([values, overall]))).to_numpy()
    rows = []
    for position, dimension in enumerate(dimension_scores.columns):
        column = values[:, position]
        rows.append(
            {
                "dimension": dimension,
                "pearson": _pair_correlation(column, overall),
                "spearman": _pair_correlation(ranks[:, position], ranks[:, -1]),
                "pearson_rest": _pair_correlation(column, overall - column),
            }
        )
    return pd.DataFrame(rows).set_index("dimension")


# --------------------------------------------------------------------------- everything at once


@dataclass(frozen=True)
class Analysis:
    """Every table of the analysis of one run (see the functions that make each one)."""

    dimension_stats: pd.DataFrame
    dimension_correlations: pd.DataFrame
    dimension_rank_correlations: pd.DataFrame
    city_balance: pd.DataFrame
    leaders: pd.DataFrame
    tiers: pd.DataFrame
    tier_summary: pd.DataFrame
    lifts: pd.DataFrame
    city_lifts: pd.DataFrame
    indicator_coverage: pd.DataFrame
    city_coverage: pd.DataFrame
    item_correlations: pd.DataFrame
    reliability: pd.DataFrame
    implicit_weights: pd.DataFrame
    overall_correlations: pd.DataFrame
    audit: pd.DataFrame
    insights: pd.DataFrame
    #: The parameters used (JSON-serialisable).
    params: dict = field(default_factory=dict)


def build_analysis(
    pipeline: Pipeline,
    *,
    coverage_threshold: float = DEFAULT_COVERAGE_THRESHOLD,
    leaders_top: int = DEFAULT_LEADERS,
    top: int = DEFAULT_TOP,
    negative_below: float = DEFAULT_NEGATIVE_BELOW,
    duplicate_above: float = DEFAULT_DUPLICATE_ABOVE,
    strong_correlation: float = DEFAULT_STRONG_CORRELATION,
    alpha_minimum: float = DEFAULT_ALPHA_MINIMUM,
    strong_lift: int | None = None,
    lifts_per_city: int = DEFAULT_LIFTS_PER_CITY,
) -> Analysis:
    """Compute every statistic, audit check and draft insight of a run.

    Parameters
    ----------
    pipeline : Pipeline
        A scored run (never changed).
    coverage_threshold : float
        Flag indicators and cities with values for fewer than this share (default 0.65).
    leaders_top : int
        How many top cities per dimension and variable (ties included; default 5).
    top : int
        The "top 10" of the city balance table (default 10).
    negative_below, duplicate_above : float
        Flags of within-dimension pairs (defaults 0 and 0.9).
    strong_correlation : float
        Dimension pairs at or above this are called closely related (default 0.8).
    alpha_minimum : float
        Cronbach's alpha below this is flagged (default 0.7).
    strong_lift : int or None
        Places of lift called "well above its overall rank" (default: a quarter of N).
    lifts_per_city : int
        How many lifts to list per city (default 3).

    Returns
    -------
    Analysis
    """
    n = len(pipeline["dimension_scores"].index)
    strong_lift = default_strong_lift(n) if strong_lift is None else int(strong_lift)
    params = {
        "coverage_threshold": coverage_threshold,
        "leaders_top": leaders_top,
        "top": top,
        "negative_below": negative_below,
        "duplicate_above": duplicate_above,
        "strong_correlation": strong_correlation,
        "alpha_minimum": alpha_minimum,
        "strong_lift": strong_lift,
        "lifts_per_city": lifts_per_city,
        "cities": n,
    }
    dimension_scores = pipeline["dimension_scores"][list(pipeline.framework.dimensions)]
    parts = {
        "dimension_stats": dimension_statistics(dimension_scores),
        "dimension_correlations": pearson_matrix(dimension_scores),
        "dimension_rank_correlations": spearman_matrix(dimension_scores),
        "city_balance": city_balance(dimension_scores, pipeline["dimension_ranks"], top),
        "leaders": leaders(pipeline, leaders_top),
        "tiers": overall_tiers(pipeline),
        "tier_summary": tier_summary(pipeline),
        "lifts": dimension_lifts(pipeline["dimension_ranks"][dimension_scores.columns], pipeline["overall"]["rank"]),
        "city_lifts": city_lifts(pipeline, lifts_per_city),
        "indicator_coverage": indicator_coverage(pipeline, coverage_threshold),
        "city_coverage": city_coverage(pipeline, coverage_threshold),
        "item_correlations": within_dimension_correlations(pipeline, negative_below, duplicate_above),
        "reliability": dimension_reliability(pipeline, alpha_minimum),
        "implicit_weights": implicit_weights(pipeline.framework),
        "overall_correlations": overall_correlations(pipeline),
    }
    # Ratios and means made from the rounded figures above are rounded again here.
    parts = {name: round_significant(frame) for name, frame in parts.items()}
    parts["audit"] = audit_table(parts, params)
    parts["insights"] = draft_insights(pipeline, parts, params)
    return Analysis(**parts, params=params)


def records(frame: pd.DataFrame):
    """``(index label, {column: value})`` for every row of ``frame``, values as Python
    scalars: what ``iterrows`` gives, without building a Series for every row.

    Read a column at a time (``to_dict("records")`` boxes every value through pandas:
    0.01 s of a Recalculate of the 2025 master for the analysis's 14 tables)."""
    columns = list(frame.columns)
    values = [column.tolist() for _, column in frame.items()]  # by position, as iloc: a repeated label too
    labels = frame.index.tolist()
    return zip(labels, [dict(zip(columns, row)) for row in zip(*values)] if columns else [{} for _ in labels])


def audit_table(parts: dict | Analysis, params: dict) -> pd.DataFrame:
    """Every audit check as one long table (the layout of ``audit.csv``).

    Parameters
    ----------
    parts : Analysis, or a dict holding its ``indicator_coverage``, ``city_coverage``,
        ``item_correlations``, ``reliability``, ``implicit_weights`` and
        ``overall_correlations`` tables.
    params : dict
        The thresholds (``coverage_threshold``, ``negative_below``, ``duplicate_above``,
        ``alpha_minimum``).

    Returns
    -------
    DataFrame with :data:`AUDIT_COLUMNS`, one row per (check, item, statistic):

    * ``check``: ``coverage``, ``correlation``, ``reliability``, ``implicit weight`` or
      ``dimension vs overall``;
    * ``dimension``: the dimension concerned (empty for a city's coverage);
    * ``item``: the indicator id, variable, city or dimension checked;
    * ``other``: the second item of a correlation pair (else empty);
    * ``statistic``: what ``value`` is (``share of cities with a value``, ``pearson r``,
      ``cronbach alpha``, ``first component share``, ``weight in overall`` ...);
    * ``value``: the number; ``threshold``: the limit it is judged against (or NaN);
    * ``flag``: why the row needs a look (empty when it does not); ``note``: the basis.
    """
    get = (lambda name: getattr(parts, name)) if isinstance(parts, Analysis) else parts.__getitem__
    rows: list[dict] = []

    def add(check, dimension, item, other, statistic, value, threshold, flag, note=""):
        rows.append(
            {
                "check": check,
                "dimension": dimension,
                "item": item,
                "other": other,
                "statistic": statistic,
                "value": value,
                "threshold": threshold,
                "flag": flag,
                "note": note,
            }
        )

    threshold = params["coverage_threshold"]
    for key, row in records(get("indicator_coverage")):
        item = key if row["label"] == "given variable score" else f"{key} {row['label']}"
        level = "variable" if row["basis"] == BASIS_PRESCORED else "indicator"
        add("coverage", row["dimension"], item, "", f"{level}: share of cities with a value", row["share"], threshold, FLAG_LOW_COVERAGE if row["below_threshold"] else "", row["basis"])
    for city, row in records(get("city_coverage")):
        add("coverage", "", city, "", "city: share of input columns with a value", row["share"], threshold, FLAG_LOW_COVERAGE if row["below_threshold"] else "", row["basis"])
    for row in tuples(get("item_correlations")):
        limit = params["negative_below"] if row.flag == FLAG_NEGATIVE else params["duplicate_above"] if row.flag == FLAG_DUPLICATE else math.nan
        add("correlation", row.dimension, row.first, row.second, f"{row.level} pair: pearson r", row.r, limit, row.flag, f"{row.level} scores")
    for dimension, row in records(get("reliability")):
        note = f"{row['items']} variable scores as items"
        alpha_flag = f"alpha below {params['alpha_minimum']:g}" if not np.isnan(row["alpha"]) and row["alpha"] < params["alpha_minimum"] else ""
        add("reliability", dimension, dimension, "", "cronbach alpha", row["alpha"], params["alpha_minimum"], alpha_flag, note)
        other_flags = "; ".join(f for f in row["flag"].split("; ") if f and not f.startswith("alpha below"))
        add("reliability", dimension, dimension, "", "first component share", row["pc1_share"], math.nan, other_flags, note)
        add("reliability", dimension, dimension, "", "second eigenvalue", row["pc2_eigenvalue"], 1.0, "", note)
    for indicator, row in records(get("implicit_weights")):
        note = f"1 of {counted(row['indicators_in_variable'], 'indicator')} in '{row['variable']}'"
        add("implicit weight", row["dimension"], f"{indicator} {row['name']}", "", "weight in variable", row["variable_weight"], math.nan, "", note)
        add("implicit weight", row["dimension"], f"{indicator} {row['name']}", "", "weight in overall", row["overall_weight"], math.nan, "", note)
    for dimension, row in records(get("overall_correlations")):
        add("dimension vs overall", dimension, dimension, "overall", "pearson r", row["pearson"], math.nan, "")
        add("dimension vs overall", dimension, dimension, "overall", "spearman rho", row["spearman"], math.nan, "")
        add("dimension vs overall", dimension, dimension, "overall minus this dimension", "pearson r", row["pearson_rest"], math.nan, "", "part-whole overlap removed")
    return with_dtypes(pd.DataFrame(rows, columns=AUDIT_COLUMNS), {"value": "float64", "threshold": "float64"})


# --------------------------------------------------------------------------- sentences


def ordinal(number: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    number = int(number)
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def join_names(names) -> str:
    """['A'] -> 'A'; ['A', 'B'] -> 'A and B'; ['A', 'B', 'C'] -> 'A, B and C'."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _number(value: float, decimals: int = 0) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if decimals == 0 and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def shown_r(value: float) -> float:
    """A correlation rounded to :data:`R_DECIMALS` decimals as a spreadsheet's ``0.00``
    format shows it: the decimal digits of the value, halves away from zero (0.815 shows
    0.82, though the binary float nearest 0.815 is a little under it)."""
    if math.isnan(value):
        return value
    step = decimal.Decimal(1).scaleb(-R_DECIMALS)
    return float(decimal.Decimal(repr(float(value))).quantize(step, rounding=decimal.ROUND_HALF_UP))


def _r(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{shown_r(value):.{R_DECIMALS}f}"


_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


_ORDINAL_WORDS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth"}


def _count_word(number: int) -> str:
    return _WORDS.get(int(number), str(int(number)))


def counted(count: int, singular: str, plural: str | None = None, *, words: bool = False) -> str:
    """'1 indicator', '35 indicators', '2 cities' (``plural`` when adding "s" is wrong);
    with ``words``, one to ten are spelled out ('seven dimensions')."""
    count = int(count)
    noun = singular if count == 1 else plural or singular + "s"
    return f"{_count_word(count) if words else count} {noun}"


def _cities(count: int) -> str:
    return counted(count, "city", "cities")


def place_among(place: int, total: int, largest: str = "largest", smallest: str = "smallest") -> str:
    """A place counted from the top in words: 'the largest', 'the second largest', 'the
    5th largest' (from 11th, figures), and 'the smallest' for the last of ``total``."""
    place, total = int(place), int(total)
    if place == 1:
        return f"the {largest}"
    if place == total:
        return f"the {smallest}"
    return f"the {_ORDINAL_WORDS.get(place, ordinal(place))} {largest}"


def leaders_sentence(name: str, rows: pd.DataFrame, cities: int) -> str:
    """'In <name>, A, B, C, D and E score highest.' with the shared places named.

    ``rows`` are the rows of :func:`top_cities` for ``name`` (rank order).
    """
    return _leaders_sentence(name, rows["city"].tolist(), rows["rank"].tolist(), cities)


def _leaders_sentence(name: str, names: list, ranks: list, cities: int) -> str:
    if len(names) == cities and all(rank == 1 for rank in ranks):
        return f"In {name}, all {cities} cities score the same."
    groups: dict[int, list] = {}
    for city, rank in zip(names, ranks):
        groups.setdefault(rank, []).append(city)
    ties = []
    for rank in sorted(groups):
        group = groups[rank]
        if len(group) > 1:
            members = join_names(group) if len(group) <= 3 else f"{len(group)} cities"
            ties.append(f"{members} share {ordinal(rank)} place")
    sentence = f"In {name}, {join_names(names)} score highest"
    return sentence + (f" ({'; '.join(ties)})." if ties else ".")


def _sorted_items(column: pd.Series, *, descending: bool = False) -> list[tuple]:
    """``column.dropna().sort_values(ascending=not descending, kind="stable").items()`` as
    a list, in plain Python: equal values keep their order either way, as pandas' stable
    sort keeps them."""
    items = [(label, value) for label, value in zip(column.index.tolist(), column.tolist()) if value == value]
    return sorted(items, key=(lambda item: -item[1]) if descending else (lambda item: item[1]))


def draft_insights(pipeline: Pipeline, parts: dict | Analysis, params: dict) -> pd.DataFrame:
    """Short plain sentences for the report's writers, built from the numbers only.

    Parameters
    ----------
    pipeline : Pipeline
    parts : Analysis or dict of its tables (everything but ``audit`` and ``insights``).
    params : dict
        As in :attr:`Analysis.params` (``top``, ``strong_correlation``, ``strong_lift``,
        ``coverage_threshold``, ``alpha_minimum``, ``cities``).

    Returns
    -------
    DataFrame with :data:`INSIGHT_COLUMNS`: ``topic`` (``Overall``, ``Dimensions``,
    ``Cities``, a dimension's name, or ``Audit``), ``subject`` (what the sentence is
    about: a dimension, variable, city or check) and ``sentence``.
    """
    get = (lambda name: getattr(parts, name)) if isinstance(parts, Analysis) else parts.__getitem__
    framework = pipeline.framework
    dimensions = list(framework.dimensions)
    n = params["cities"]
    rows: list[dict] = []

    def say(topic: str, subject: str, sentence: str) -> None:
        rows.append({"topic": topic, "subject": subject, "sentence": sentence})

    # The tables' columns are read as lists, filtered and sorted in Python: a filtered or
    # sorted Series per sentence took 0.005 s of a Recalculate of the 2025 master.
    # ---- overall
    tiers = get("tiers")
    ranked = list(zip(tiers.index.tolist(), tiers["rank"].tolist(), tiers["overall"].tolist()))
    head = [(city, overall) for city, rank, overall in ranked if rank <= min(5, n)]
    say(
        "Overall",
        "ranking",
        f"Overall, {join_names(city for city, _ in head)} score highest ({join_names(_number(float(v)) for _, v in head)} of a possible {_number(float(n * len(framework.variables)))}).",
    )
    for label, row in records(get("tier_summary")):
        if np.isnan(row["minimum"]):
            bound = f"under {_number(row['below'])}" if not np.isnan(row["below"]) else "all scores"
        elif np.isnan(row["below"]):
            bound = f"{_number(row['minimum'])} or more"
        else:
            bound = f"{_number(row['minimum'])} to under {_number(row['below'])}"
        count = int(row["cities"])
        if count == 0:
            say("Overall", label, f"{label} (overall score {bound}) holds no city.")
            continue
        members = row["members"].split("; ")
        listed = f": {join_names(members)}" if count <= 12 else f", from {members[0]} ({_number(row['highest'])}) to {members[-1]} ({_number(row['lowest'])})"
        say("Overall", label, f"{label} (overall score {bound}) holds {_cities(count)}{listed}.")

    # ---- dimensions: spread and correlation
    stats = get("dimension_stats")
    sd = _sorted_items(stats["sd"], descending=True)
    if len(sd) >= 2:
        shown = max(1, min(3, len(sd) // 2))
        most = join_names(f"{d} ({_number(v, 1)})" for d, v in sd[:shown])
        least = join_names(f"{d} ({_number(v, 1)})" for d, v in sd[::-1][:shown])
        if shown == 1:
            say("Dimensions", "spread", f"Measured by the standard deviation of its scores across cities, the most uneven dimension is {most}; the most even is {least}.")
        else:
            say("Dimensions", "spread", f"Measured by the standard deviation of their scores across cities, the most uneven dimensions are {most}; the most even are {least}.")
    correlations = get("dimension_correlations")
    matrix = correlations.to_numpy().tolist()
    pairs = [
        (matrix[a][b], dimensions[a], dimensions[b])
        for a in range(len(dimensions))
        for b in range(a + 1, len(dimensions))
        if not math.isnan(matrix[a][b])
    ]
    pairs.sort(key=lambda p: -p[0])
    strong = params["strong_correlation"]
    if pairs:
        close = [p for p in pairs if shown_r(p[0]) >= strong]
        if close:
            listed = join_names(f"{a} and {b} (r = {_r(r)})" for r, a, b in close[:5])
            extra = len(close) - 5
            more = f"; {_count_word(extra)} more pair{' reaches' if extra == 1 else 's reach'} {strong:g}" if extra > 0 else ""
            say("Dimensions", "correlation", f"The most closely related dimensions are {listed}{more}.")
        else:
            r, a, b = pairs[0]
            say("Dimensions", "correlation", f"No two dimensions correlate at {strong:g} or more; the closest are {a} and {b} (r = {_r(r)}).")
        if len(pairs) > 1:
            r, a, b = pairs[-1]
            say("Dimensions", "correlation", f"The least related dimensions are {a} and {b} (r = {_r(r)}).")
    with_overall = _sorted_items(get("overall_correlations")["pearson"], descending=True)
    if len(with_overall) >= 2:
        (closest, r_closest), (least, r_least) = with_overall[0], with_overall[-1]
        say("Dimensions", "overall", f"{closest} follows the overall score most closely (r = {_r(r_closest)}), {least} least (r = {_r(r_least)}).")

    # ---- cities: top-k and balance
    top = params["top"]
    balance = get("city_balance")
    count = len(dimensions)
    if top < n and count:
        top_counts = list(zip(balance.index.tolist(), balance["top_count"].tolist()))
        everywhere = [city for city, k in top_counts if k == count]
        if everywhere:
            verb = "is" if len(everywhere) == 1 else "are"
            say("Cities", f"top {top}", f"{join_names(everywhere)} {verb} in the top {top} of all {_count_word(count)} dimensions.")
            nearly = [city for city, k in top_counts if k == count - 1]
            if nearly and count > 1:
                verb = "is" if len(nearly) == 1 else "are"
                say("Cities", f"top {top}", f"{join_names(nearly)} {verb} in the top {top} of {_count_word(count - 1)} of the {_count_word(count)} dimensions.")
        else:
            best = int(max(k for _, k in top_counts))
            closest = [city for city, k in top_counts if k == best]
            say("Cities", f"top {top}", f"No city is in the top {top} of every dimension; {join_names(closest)} {'comes' if len(closest) == 1 else 'come'} closest with {best} of {count}.")
    spread = _sorted_items(balance["sd"])
    if len(spread) >= 2 and count >= 2:
        shown = max(1, min(3, len(spread) // 2))
        low = join_names(f"{c} ({_number(v, 1)})" for c, v in spread[:shown])
        high = join_names(f"{c} ({_number(v, 1)})" for c, v in spread[::-1][:shown])
        say("Cities", "balance", f"The most balanced cities, with the smallest standard deviation across their {_count_word(count)} dimension scores, are {low}; the least balanced are {high}.")
        leaders_overall = {city for city, rank, _ in ranked if rank <= min(top, n)}
        leading = [(city, v) for city, v in spread if city in leaders_overall]
        if len(leading) >= 2 and top < n:
            say(
                "Cities",
                "balance",
                f"Among the top {top} overall, {leading[0][0]} is the most balanced ({_number(leading[0][1], 1)}) and {leading[-1][0]} the least ({_number(leading[-1][1], 1)}).",
            )

    # ---- each dimension: leaders, spread, lifts; then its variables' leaders
    leader_rows = get("leaders")
    lifts = get("lifts")
    ranks = pipeline["dimension_ranks"]
    overall_rank = pipeline["overall"]["rank"]
    strong_lift = params["strong_lift"]
    sd_order = {d: i for i, (d, _) in enumerate(sd, start=1)}
    scores = pipeline["dimension_scores"]
    # The cities and ranks of each dimension's and variable's leaders as lists: a groupby
    # into 60 small DataFrames took 0.008 s of a Recalculate of the 2025 master.
    leaders_of: dict[tuple[str, str], tuple[list, list]] = {}
    for level, name, rank, city in zip(*(leader_rows[c].tolist() for c in ("level", "name", "rank", "city"))):
        cities, places = leaders_of.setdefault((level, name), ([], []))
        cities.append(city)
        places.append(rank)
    # Each dimension's scores and lifts as lists (a Series per dimension, compared and
    # sorted, took 0.006 s of a Recalculate of the 2025 master).
    score_cities, lift_cities = list(scores.index), list(lifts.index)
    score_lists = dict(zip(dimensions, scores[dimensions].to_numpy().T.tolist()))
    lift_lists = dict(zip(dimensions, lifts[dimensions].to_numpy().T.tolist()))
    sd_of = dict(zip(stats.index, stats["sd"].tolist()))
    rank_of = {city: dict(zip(ranks.columns, row)) for city, row in zip(ranks.index.tolist(), ranks.to_numpy().tolist())}
    overall_rank_of = dict(zip(overall_rank.index.tolist(), overall_rank.tolist()))
    for dimension in dimensions:
        say(dimension, dimension, _leaders_sentence(dimension, *leaders_of.get(("dimension", dimension), ([], [])), n))
        if dimension in sd_order:
            column = score_lists[dimension]
            low, high = min(column), max(column)
            highest = [city for city, value in zip(score_cities, column) if value == high]
            lowest = [city for city, value in zip(score_cities, column) if value == low]
            say(
                dimension,
                dimension,
                f"Scores run from {_number(float(low))} ({join_names(lowest)}) to {_number(float(high))} ({join_names(highest)}); "
                f"the standard deviation, {_number(float(sd_of[dimension]), 1)}, is {place_among(sd_order[dimension], len(sd_order))} among the {_count_word(len(sd_order))} dimensions.",
            )
        lifted = sorted(((city, lift) for city, lift in zip(lift_cities, lift_lists[dimension]) if lift >= strong_lift), key=lambda item: -item[1])
        for city, lift in lifted[:3]:
            say(
                dimension,
                city,
                f"{city}'s {dimension} score lifts it well above its overall rank: {ordinal(rank_of[city][dimension])} in the dimension against {ordinal(overall_rank_of[city])} overall ({int(lift)} places).",
            )
        for variable in framework.variables_of(dimension):
            say(dimension, variable.name, _leaders_sentence(variable.name, *leaders_of.get(("variable", variable.name), ([], [])), n))

    # ---- audit
    threshold = params["coverage_threshold"]
    coverage = get("indicator_coverage")
    low = [(key, share) for key, share, below in zip(coverage.index.tolist(), coverage["share"].tolist(), coverage["below_threshold"].tolist()) if below]
    if low:
        listed = join_names(f"{key} ({share:.0%})" for key, share in low[:10])
        more = f" and {len(low) - 10} more" if len(low) > 10 else ""
        say("Audit", "coverage", f"{counted(len(low), 'input column')} {'has' if len(low) == 1 else 'have'} values for fewer than {threshold:.0%} of cities: {listed}{more}.")
    else:
        say("Audit", "coverage", f"Every input column has values for at least {threshold:.0%} of cities.")
    prescored = coverage["basis"].tolist().count(BASIS_PRESCORED)
    if prescored:
        say("Audit", "coverage", f"For the {counted(prescored, 'pre-scored variable')}, coverage is measured on the given variable scores: their raw indicator values are not in the inputs.")
    city_coverage = get("city_coverage")
    low_cities = [(c, v) for c, v, below in zip(city_coverage.index.tolist(), city_coverage["share"].tolist(), city_coverage["below_threshold"].tolist()) if below]
    if low_cities:
        listed = join_names(f"{c} ({v:.0%})" for c, v in low_cities[:10])
        say("Audit", "coverage", f"{_cities(len(low_cities))} have values in fewer than {threshold:.0%} of the input columns: {listed}.")
    else:
        say("Audit", "coverage", f"Every city has values in at least {threshold:.0%} of the input columns.")
    item_pairs = list(tuples(get("item_correlations")))
    duplicate_words = f"at {params.get('duplicate_above', DEFAULT_DUPLICATE_ABOVE):g} or more (near-duplicates)"
    for flag, words in ((FLAG_NEGATIVE, "negatively"), (FLAG_DUPLICATE, duplicate_words)):
        # Most negative first, or strongest first; a flagged pair's r is never NaN.
        flagged = sorted((row for row in item_pairs if row.flag == flag), key=(lambda row: row.r) if flag == FLAG_NEGATIVE else (lambda row: -row.r))
        if flagged:
            listed = join_names(f"{row.first} and {row.second} in {row.dimension} (r = {_r(row.r)})" for row in flagged[:5])
            more = f", and {len(flagged) - 5} more" if len(flagged) > 5 else ""
            verb = "pair inside a dimension correlates" if len(flagged) == 1 else "pairs inside a dimension correlate"
            say("Audit", "correlation", f"{len(flagged)} {verb} {words}: {listed}{more}.")
        else:
            say("Audit", "correlation", f"No pair of variables or indicators inside a dimension correlates {words}.")
    variable_scores = pipeline["variable_scores"]
    # max == min is nunique() == 1 (both skip blanks; an all-blank column is neither), in
    # one call for every column instead of 50 (0.002 s).
    every = variable_scores[[v.name for v in framework.variables]]
    same = every.max() == every.min()
    constant = [v for v in framework.variables if same[v.name]] if n > 1 else []
    if constant:
        listed = join_names(f"{v.name} ({v.dimension})" for v in constant)
        say("Audit", "constant", f"Every city scores the same in {listed}: {'it tells' if len(constant) == 1 else 'they tell'} no city apart and {'has' if len(constant) == 1 else 'have'} no correlation with anything.")
    reliability = get("reliability")
    alpha = _sorted_items(reliability["alpha"])
    if alpha:
        below = [dimension for dimension, value in alpha if value < params["alpha_minimum"]]
        text = f"Cronbach's alpha of the variable scores runs from {_r(alpha[0][1])} ({alpha[0][0]}) to {_r(alpha[-1][1])} ({alpha[-1][0]})"
        text += f"; {counted(len(below), 'dimension', words=True)} {'falls' if len(below) == 1 else 'fall'} below {params['alpha_minimum']:g}: {join_names(below)}." if below else f"; every dimension reaches {params['alpha_minimum']:g}."
        say("Audit", "reliability", text)
    share = _sorted_items(reliability["pc1_share"])
    if share:
        say(
            "Audit",
            "reliability",
            f"The first principal component explains from {share[0][1]:.0%} ({share[0][0]}) to {share[-1][1]:.0%} ({share[-1][0]}) of the variance of a dimension's variable scores.",
        )
    weights = get("implicit_weights")
    if len(weights):
        # The weights of each variable size (k indicators), smallest k first, in plain
        # Python (a groupby and its aggregation: 0.001 s).
        by_size: dict[int, list[float]] = {}
        for k, weight in zip(weights["indicators_in_variable"].tolist(), weights["overall_weight"].tolist()):
            by_size.setdefault(k, []).append(weight)
        sizes = sorted(by_size)
        lowest, highest = min(min(w) for w in by_size.values()), max(max(w) for w in by_size.values())
        if len(sizes) > 1 or lowest != highest:
            parts_text = join_names(
                f"{counted(len(by_size[k]), 'indicator')} in {_count_word(k)}-indicator variables {'weighs' if len(by_size[k]) == 1 else 'weigh'} {min(by_size[k]):.2%}"
                + (f" to {max(by_size[k]):.2%}" if max(by_size[k]) != min(by_size[k]) else " each")
                for k in sizes
            )
            say("Audit", "implicit weight", f"With no explicit weights, indicators still weigh differently in the overall score: {parts_text}.")
        else:
            say("Audit", "implicit weight", f"Every indicator weighs the same in the overall score ({by_size[sizes[0]][0]:.2%}).")
    return pd.DataFrame(rows, columns=INSIGHT_COLUMNS)
