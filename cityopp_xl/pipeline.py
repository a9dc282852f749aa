"""The scoring pipeline: named stages, and a log of every step that can replay it.

``run(inputs) -> Pipeline``. A :class:`Pipeline` keeps the stages ``raw``,
``indicator_scores``, ``variable_scores``, ``dimension_scores``, ``dimension_ranks`` and
``overall``, and ``log``: one frozen :class:`StepRecord` per step with its exact,
JSON-serialisable parameters. ``Pipeline.rerun(from_step=..., **changes)`` replays the
log with changed parameters (sensitivity analysis is a loop of reruns); the inputs are
never modified.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import scoring
from .errors import Problem
from .model import Direction, Framework, Settings
from .validate import Inputs

STEPS = ("score_indicators", "score_variables", "aggregate_dimensions", "aggregate_overall")
STAGES = ("raw", "indicator_scores", "variable_scores", "dimension_scores", "dimension_ranks", "overall")


@dataclass(frozen=True)
class StepRecord:
    """What one step did: its exact parameters, stages in and out, shape, gaps, warnings."""

    step: str
    params: dict
    inputs: tuple[str, ...]
    output: str
    shape: tuple[int, int]
    missing: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "step": self.step,
            "params": self.params,
            "inputs": list(self.inputs),
            "output": self.output,
            "shape": list(self.shape),
            "missing": self.missing,
            "warnings": list(self.warnings),
        }


@dataclass
class Pipeline:
    """The stages of one run and the log that produced them."""

    inputs: Inputs
    stages: dict[str, pd.DataFrame] = field(default_factory=dict)
    log: list[StepRecord] = field(default_factory=list)
    #: Warnings found while scoring (pre-scored columns that break their rule), with cells.
    problems: list[Problem] = field(default_factory=list)
    #: The pre-scored columns that break their declared rule (:class:`scoring.ScoreMismatch`),
    #: found while scoring the variables.
    mismatches: list = field(default_factory=list)

    @property
    def framework(self) -> Framework:
        return self.inputs.framework

    @property
    def settings(self) -> Settings:
        return self.inputs.settings

    @property
    def warnings(self) -> list[str]:
        return [w for record in self.log for w in record.warnings]

    def __getitem__(self, stage: str) -> pd.DataFrame:
        return self.stages[stage]

    def log_json(self) -> str:
        return json.dumps([r.to_dict() for r in self.log], indent=2, ensure_ascii=False)

    def rerun(self, from_step: str = STEPS[0], **changes) -> "Pipeline":
        """Replay the log from ``from_step`` with changed parameters.

        ``changes`` may hold ``directions={id: "lower" | "target:T" | ...}``,
        ``points={id: [..]}``, ``ties={variable: "best" | "worst"}``,
        ``tiers=[[label, minimum], ...]`` and ``other_tier=label``. Stages before
        ``from_step`` are reused as they are. Returns a new Pipeline.
        """
        if from_step not in STEPS:
            raise ValueError(f"unknown step {from_step!r}; steps are {', '.join(STEPS)}")
        unknown = set(changes) - {"directions", "points", "ties", "tiers", "other_tier"}
        if unknown:
            raise ValueError(f"unknown change {', '.join(sorted(unknown))}")
        framework, settings = _changed(self.framework, self.settings, changes)
        inputs = dataclasses.replace(self.inputs, framework=framework, settings=settings)
        start = STEPS.index(from_step)
        kept = {"raw"} | {record.output for record in self.log[:start]}
        if from_step == "aggregate_overall":
            kept.add("dimension_ranks")
        scored = start > STEPS.index("score_variables")
        carried = list(self.problems) if scored else []
        pipeline = Pipeline(inputs, {k: v for k, v in self.stages.items() if k in kept}, list(self.log[:start]), carried, list(self.mismatches) if scored else [])
        for step in STEPS[start:]:
            _STEP_FUNCTIONS[step](pipeline)
        return pipeline


def _changed(framework: Framework, settings: Settings, changes: dict) -> tuple[Framework, Settings]:
    directions = changes.get("directions", {})
    points = changes.get("points", {})
    ties = changes.get("ties", {})
    variables = []
    for variable in framework.variables:
        indicators = []
        for indicator in variable.indicators:
            direction = indicator.direction
            if indicator.id in directions or indicator.id in points:
                direction = _changed_direction(indicator.id, directions.get(indicator.id, str(direction)), points.get(indicator.id), direction.points)
            indicators.append(dataclasses.replace(indicator, direction=direction))
        variables.append(dataclasses.replace(variable, indicators=tuple(indicators), ties=ties.get(variable.name, variable.ties)))
    if "tiers" in changes or "other_tier" in changes:
        settings = Settings(
            tuple((str(label), float(minimum)) for label, minimum in changes.get("tiers", settings.tiers)),
            changes.get("other_tier", settings.other_tier),
            settings.formulas,
        )
    return Framework(tuple(variables)), settings


def _changed_direction(key: str, text: str, points, own: tuple[float, ...]) -> Direction:
    """A what-if direction, read by the framework's parser: ``points`` (None: unchanged)
    replace the indicator's ``own`` table, which a ranked direction drops. Raises
    ValueError with the parser's message."""
    table = [float(p) for p in (own if points is None else points)]
    direction, problems = Direction.parse(str(text), ",".join(repr(p) for p in table))
    if direction is not None and points is not None and direction.ranked:
        problems.append((f"points for a '{direction}' indicator", "points only with direction 'tiers'"))
    if problems:
        found, expected = problems[0]
        raise ValueError(f"change of '{key}': {found}, expected {expected}")
    return direction


def _record(pipeline: Pipeline, step: str, params: dict, inputs: tuple[str, ...], output: str, frame: pd.DataFrame, warnings=()) -> None:
    pipeline.stages[output] = frame
    pipeline.log.append(
        StepRecord(step, params, inputs, output, tuple(frame.shape), int(frame.isna().sum().sum()), tuple(warnings))
    )


def _score_indicators(pipeline: Pipeline) -> None:
    framework = pipeline.framework
    scored = [i for v in framework.variables if not v.prescored for i in v.indicators]
    params = {
        "directions": {i.id: str(i.direction) for i in scored},
        "points": {i.id: list(i.direction.points) for i in scored if not i.direction.ranked},
        "missing_scores": 1,
        "ties": "best",
    }
    frame = scoring.score_indicators(pipeline.stages["raw"], framework)
    _record(pipeline, "score_indicators", params, ("raw",), "indicator_scores", frame)


def _score_variables(pipeline: Pipeline) -> None:
    framework = pipeline.framework
    raw = pipeline.stages["raw"]
    prescored_names = [v.name for v in framework.variables if v.prescored]
    prescored = raw[prescored_names].fillna(1).astype(scoring.SCORE_DTYPE) if prescored_names else pd.DataFrame(index=raw.index)
    mismatches = pipeline.mismatches = scoring.find_prescored_mismatches(prescored, framework)
    warnings = [
        f"pre-scored variable '{m.variable}' could not have come from its rule '{m.rule}': {m.detail}"
        for m in mismatches
    ]
    for m in mismatches:
        pipeline.problems.append(
            Problem(
                pipeline.inputs.column_addresses.get(m.variable, m.variable),
                f"pre-scored '{m.variable}' breaks its tie rule '{m.rule}': {m.detail}",
                "a column scored by the declared rule (scoring goes on with the given scores)",
                "warning",
            )
        )
    params = {
        "composition": {v.name: [i.id for i in v.indicators] for v in framework.variables if not v.prescored},
        "ties": {v.name: v.ties for v in framework.variables},
        "prescored": prescored_names,
    }
    frame = scoring.score_variables(pipeline.stages["indicator_scores"], prescored, framework)
    _record(pipeline, "score_variables", params, ("indicator_scores", "raw"), "variable_scores", frame, warnings)


def _aggregate_dimensions(pipeline: Pipeline) -> None:
    framework = pipeline.framework
    params = {"dimensions": {d: [v.name for v in framework.variables_of(d)] for d in framework.dimensions}, "weights": "none"}
    frame = scoring.aggregate_dimensions(pipeline.stages["variable_scores"], framework)
    _record(pipeline, "aggregate_dimensions", params, ("variable_scores",), "dimension_scores", frame)
    pipeline.stages["dimension_ranks"] = scoring.rank_dimensions(frame)


def _aggregate_overall(pipeline: Pipeline) -> None:
    params = pipeline.settings.to_dict() | {"rank": "competition"}
    frame = scoring.aggregate_overall(pipeline.stages["dimension_scores"], pipeline.settings)
    _record(pipeline, "aggregate_overall", params, ("dimension_scores",), "overall", frame)


_STEP_FUNCTIONS = {
    "score_indicators": _score_indicators,
    "score_variables": _score_variables,
    "aggregate_dimensions": _aggregate_dimensions,
    "aggregate_overall": _aggregate_overall,
}


def run(inputs: Inputs) -> Pipeline:
    """Score everything: raw values → indicator, variable, dimension and overall scores.

    Parameters
    ----------
    inputs : Inputs
        Checked inputs (see :mod:`cityopp_xl.validate`); ``inputs.values`` is never changed.

    Returns
    -------
    Pipeline with every stage and a log of four steps.
    """
    pipeline = Pipeline(inputs, {"raw": inputs.values.copy()}, [])
    for step in STEPS:
        _STEP_FUNCTIONS[step](pipeline)
    return pipeline


def fingerprint(*parts) -> str:
    """A short SHA-256 fingerprint of frames, dicts and strings (order matters)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(_csv(part).encode("utf-8"))
        else:
            digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def _csv(frame: pd.DataFrame) -> str:
    """``frame.to_csv(lineterminator="\\n", float_format="%.17g")``, written here for a
    frame of floats (pandas formats each value through a Python call: seconds on 3,000
    cities x 300 indicators); the same text, through the same csv module quoting."""
    if frame.empty or isinstance(frame.columns, pd.MultiIndex) or isinstance(frame.index, pd.MultiIndex):
        return frame.to_csv(lineterminator="\n", float_format="%.17g")
    dtypes = frame.dtypes.tolist()
    if all(dtype == np.float64 for dtype in dtypes):
        texts = [_float_texts(column) for column in frame.to_numpy().T.tolist()]
    elif all(isinstance(dtype, pd.StringDtype) for dtype in dtypes):
        # Texts (the framework's table): written as they are, a missing one empty, as
        # to_csv writes them (whose import and setup cost more than the writing).
        texts = [["" if value is None or value != value else value for value in column.tolist()] for _, column in frame.items()]
    else:
        return frame.to_csv(lineterminator="\n", float_format="%.17g")
    return _csv_text(frame.index.name, frame.index.tolist(), list(frame.columns), texts)


def _float_texts(column: list[float]) -> list[str]:
    """A column of floats as ``to_csv(float_format="%.17g")`` writes it (NaN: empty)."""
    return ["%.17g" % v if v == v else "" for v in column]


def _csv_text(index_name, labels: list, columns: list, texts: list[list[str]]) -> str:
    """The CSV text of a frame of floats whose columns are already formatted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["" if index_name is None else index_name, *columns])
    for label, *row in zip(labels, *texts) if texts else ((label,) for label in labels):
        writer.writerow([label, *row])
    return buffer.getvalue()


def _framework_fingerprint(framework) -> str:
    """``fingerprint(framework.to_frame())``, from the framework's rows when every value
    is a text or blank (always, as read from a workbook): the same CSV text (to_csv
    writes a blank as an empty field, through the same csv quoting) without the frame."""
    records = framework.records()
    columns = list(records[0]) if records else []
    if not records or not all(type(value) is str or value is None for record in records for value in record.values()):
        return fingerprint(framework.to_frame())
    texts = [["" if record[column] is None else record[column] for record in records] for column in columns]
    return _csv_fingerprint(_csv_text(None, list(range(len(records))), columns, texts))


def _csv_fingerprint(text: str) -> str:
    """``fingerprint(frame)`` of the frame whose CSV text (:func:`_csv`) is ``text``."""
    return hashlib.sha256(text.encode("utf-8") + b"\x00").hexdigest()[:16]


def input_fingerprints(inputs: Inputs) -> dict[str, str]:
    """A fingerprint of each input: the framework, the cities, the settings and each
    dimension's data, plus ``all`` over everything."""
    framework = inputs.framework
    prints = {
        "framework": _framework_fingerprint(framework),
        "cities": fingerprint(list(inputs.values.index)),
        "settings": fingerprint(inputs.settings.to_dict()),
    }
    values = inputs.values
    if len(values.index) and all(dtype == "float64" for dtype in values.dtypes) and not isinstance(values.index, pd.MultiIndex) and values.columns.is_unique:
        # Every column formatted once, each dimension's CSV put together from them (the
        # same text as the fingerprint of each dimension's frame, without a frame each).
        texts = dict(zip(values.columns, (_float_texts(column) for column in values.to_numpy().T.tolist())))
        labels = values.index.tolist()
        for dimension in framework.dimensions:
            columns = framework.input_columns(dimension)
            if not columns:
                prints[dimension] = fingerprint(values[columns])
                continue
            prints[dimension] = _csv_fingerprint(_csv_text(values.index.name, labels, columns, [texts[c] for c in columns]))
    else:
        for dimension in framework.dimensions:
            prints[dimension] = fingerprint(values[framework.input_columns(dimension)])
    if inputs.published is not None:
        prints["published"] = fingerprint(inputs.published)
    prints["all"] = fingerprint(prints)
    return prints
