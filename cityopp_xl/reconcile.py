"""Reconciliation: computed figures against the published ones, every difference listed.

Pure: reads a :class:`~cityopp_xl.pipeline.Pipeline`, returns frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import with_dtypes
from .pipeline import Pipeline
from .scoring import competition_rank

RECONCILIATION_COLUMNS = ["figure", "city", "computed", "published", "difference", "published_components", "status"]

AGREES = "agrees"
DIFFERS = "differs"
PUBLISHED_INCONSISTENT = "published figure disagrees with its own published components"


def reconcile(pipeline: Pipeline) -> pd.DataFrame:
    """Compare every published figure with the computed one.

    Returns
    -------
    DataFrame with :data:`RECONCILIATION_COLUMNS`, one row per published figure (each
    dimension total, overall score and overall rank of each city), in figure order then
    city order. ``published_components`` is what the published figure's own components
    add up to: for a dimension total, the sum of the variable scores given as input when
    the dimension is pre-scored; for an overall score, the sum of the published dimension
    totals; for a rank, the rank of the published overall score among the published
    overall scores. ``status`` is ``agrees``, ``differs``, or, when the published figure
    also disagrees with its own components, :data:`PUBLISHED_INCONSISTENT`. Empty when
    nothing was published.
    """
    published = pipeline.inputs.published
    if published is None or published.empty:
        return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
    framework = pipeline.framework
    dimensions = pipeline["dimension_scores"]
    overall = pipeline["overall"]
    cities = dimensions.index
    published = published.reindex(cities)
    names = cities.to_numpy(dtype=object)
    nothing = np.full(len(cities), np.nan)
    # Every figure's columns as arrays, one frame for them all at the end (a frame per
    # figure, and a concat, took 0.01 s of a Recalculate of the 2025 master).
    columns: dict[str, list[np.ndarray]] = {name: [] for name in RECONCILIATION_COLUMNS}

    def block(figure: str, computed: np.ndarray, given: pd.Series, components: np.ndarray) -> None:
        given = given.to_numpy(dtype="float64")
        kept = ~np.isnan(given)
        given = given[kept]
        computed = computed.astype("float64")[kept]
        components = components.astype("float64")[kept]
        difference = computed - given
        inconsistent = ~np.isnan(components) & (components != given)
        status = np.where(difference == 0, AGREES, np.where(inconsistent, PUBLISHED_INCONSISTENT, DIFFERS))
        for name, values in (
            ("figure", np.full(len(given), figure, dtype=object)),
            ("city", names[kept]),
            ("computed", computed),
            ("published", given),
            ("difference", difference),
            ("published_components", components),
            ("status", status.astype(object)),
        ):
            columns[name].append(values)

    variable_scores = pipeline["variable_scores"]
    variable_at = {name: p for p, name in enumerate(variable_scores.columns)}
    variable_values = variable_scores.to_numpy()
    dimension_values = dict(zip(dimensions.columns, dimensions.to_numpy().T))
    for dimension in framework.dimensions:
        variables = framework.variables_of(dimension)
        if dimension not in published:
            continue
        if all(v.prescored for v in variables):
            components = variable_values[:, [variable_at[v.name] for v in variables]].sum(axis=1)
        else:
            components = nothing
        block(dimension, dimension_values[dimension], published[dimension], components)
    dimension_columns = [d for d in framework.dimensions if d in published]
    if "overall" in published:
        if len(dimension_columns) == len(framework.dimensions):
            components = published[dimension_columns].sum(axis=1, min_count=len(dimension_columns)).to_numpy()
        else:
            components = nothing
        block("overall", overall["overall"].to_numpy(), published["overall"], components)
    if "overall_rank" in published:
        if "overall" in published and published["overall"].notna().all():
            components = competition_rank(published["overall"]).to_numpy()
        else:
            components = nothing
        block("overall rank", overall["rank"].to_numpy(), published["overall_rank"], components)
    if not columns["figure"]:
        return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
    return pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()}, columns=RECONCILIATION_COLUMNS)


def summarise(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Counts per figure kind: compared, agree, differ, published inconsistent."""
    # Counted in one pass over the statuses (kinds in order of first appearance): three
    # groupby-apply calls took 0.007 s of a Recalculate of the 2025 master.
    counts: dict[str, list[int]] = {}
    for figure, status in zip(reconciliation["figure"].to_numpy(dtype=object).tolist(), reconciliation["status"].to_numpy(dtype=object).tolist()):
        kind = figure if figure in ("overall", "overall rank") else "dimension totals"
        count = counts.setdefault(kind, [0, 0, 0])
        count[0] += 1
        count[1] += status == AGREES
        count[2] += status == PUBLISHED_INCONSISTENT
    rows = [[kind, compared, agree, compared - agree, inconsistent] for kind, (compared, agree, inconsistent) in counts.items()]
    columns = ["figures", "compared", "agree", "differ", "published inconsistent"]
    return with_dtypes(pd.DataFrame(rows, columns=columns), {column: "int64" for column in columns[1:]})
