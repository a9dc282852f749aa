"""The pipeline: stages, the step log, replay and reruns, and the core's clean imports."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pandas as pd
import pytest

from cityopp_xl import pipeline
from cityopp_xl.pipeline import STAGES, STEPS, input_fingerprints, run


def test_run_keeps_every_stage_and_logs_every_step(example_inputs):
    pipeline = run(example_inputs)
    assert set(STAGES) <= set(pipeline.stages)
    assert [r.step for r in pipeline.log] == list(STEPS)
    record = pipeline.log[1]
    assert record.params["ties"]["Carrying"] == "worst"
    assert record.shape == (7, 10)
    json.loads(pipeline.log_json())  # serialisable


def test_run_does_not_change_its_inputs(example_inputs):
    before = example_inputs.values.copy()
    run(example_inputs)
    pd.testing.assert_frame_equal(example_inputs.values, before)


def test_replaying_an_unchanged_log_gives_the_same_stages(example_inputs):
    pipeline = run(example_inputs)
    for step in STEPS:
        again = pipeline.rerun(from_step=step)
        for stage in STAGES:
            pd.testing.assert_frame_equal(again[stage], pipeline[stage])
        assert [r.params for r in again.log] == [r.params for r in pipeline.log]


def test_rerun_with_a_changed_tie_rule(example_inputs):
    pipeline = run(example_inputs)
    changed = pipeline.rerun(from_step="score_variables", ties={"Carrying": "best"})
    # sums 2,4,6,8,10,13,13 with ties best: the two 13s share 7.
    assert changed["variable_scores"]["Carrying"].tolist() == [1, 2, 3, 4, 5, 7, 7]
    assert pipeline["variable_scores"]["Carrying"].tolist() == [1, 2, 3, 4, 5, 6, 6]
    assert changed.log[1].params["ties"]["Carrying"] == "best"


def test_rerun_with_a_flipped_direction(example_inputs):
    pipeline = run(example_inputs)
    changed = pipeline.rerun(directions={"a1": "lower"})
    # lower: 1 (7) > 5 (6) > 10 (5) > 20 = 20 (7 - 3 = 4) > 30 (2); Eld missing (1).
    assert changed["indicator_scores"]["a1"].tolist() == [5, 4, 4, 6, 1, 2, 7]


def test_rerun_with_new_tier_thresholds(example_inputs):
    pipeline = run(example_inputs)
    changed = pipeline.rerun(from_step="aggregate_overall", tiers=[["Top", 48]], other_tier="Rest")
    assert changed["overall"]["tier"].tolist() == ["Rest", "Top", "Rest", "Rest", "Rest", "Rest", "Rest"]


def test_rerun_refuses_unknown_steps_and_changes(example_inputs):
    pipeline = run(example_inputs)
    with pytest.raises(ValueError):
        pipeline.rerun(from_step="nope")
    with pytest.raises(ValueError):
        pipeline.rerun(weights={"a1": 2})


def test_fingerprints_change_only_for_the_sheet_that_changed(example_inputs):
    import dataclasses

    before = input_fingerprints(example_inputs)
    values = example_inputs.values.copy()
    values.loc["Ava", "b1"] = 99.0
    after = input_fingerprints(dataclasses.replace(example_inputs, values=values))
    assert after["Alpha"] == before["Alpha"]
    assert after["Beta"] != before["Beta"]
    assert after["all"] != before["all"]


@pytest.mark.parametrize("unit", ["", None, 'per 10,000 "residents"\nin 2024', 2024])
def test_the_framework_fingerprint_is_that_of_its_frame(example_inputs, unit):
    """Made from the framework's rows (texts and blanks), the fingerprint is the one of
    its frame's CSV, whatever the texts hold; a value of another type takes the frame."""
    framework = example_inputs.framework
    first = framework.variables[0]
    changed = dataclasses.replace(first, indicators=(dataclasses.replace(first.indicators[0], unit=unit, name="Rate, \"adjusted\""),) + first.indicators[1:])
    framework = dataclasses.replace(framework, variables=(changed,) + framework.variables[1:])
    assert pipeline._framework_fingerprint(framework) == pipeline.fingerprint(framework.to_frame())


def test_core_modules_import_neither_xlwings_nor_openpyxl():
    code = (
        "import sys\n"
        "import cityopp_xl.model, cityopp_xl.scoring, cityopp_xl.validate, cityopp_xl.pipeline, cityopp_xl.reconcile, cityopp_xl.robustness\n"
        "try:\n    import cityopp_xl.analysis\nexcept ModuleNotFoundError:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('xlwings', 'openpyxl', 'click'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
