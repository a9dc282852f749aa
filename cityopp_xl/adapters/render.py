"""Every output sheet of a run, rendered in order.

Each renderer of :data:`RENDERERS` takes the run so far (:class:`Run`) and returns the
sheets it adds, placed after the last sheet rendered unless it places them itself (a score
sheet after its data sheet). Rendering is a loop over them; then the stale check, the tab
colours, the print polish and the fingerprints of the written sheets finish every sheet.
Renderers import :mod:`.layout`, which imports none of them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ..errors import Problem
from ..pipeline import Pipeline
from ..reconcile import reconcile
from .analysis_sheets import render_analysis
from .audit_sheets import indicator_sheet, log_sheet, problems_sheet, reconciliation_sheet
from .data_notes_sheet import render_data_notes
from .formulas import render_formula_sheets
from .integrity import add_output_fingerprints
from .layout import SHEET_INDICATOR_SCORES, SHEET_LOG, SHEET_OVERALL, SheetOutput, score_sheet, tab_color
from .printing import polish
from .robustness_sheet import render_robustness
from .score_sheets import dimension_sheet, overall_sheet
from .stale_check import add_stale_check
from .trail import add_audit_trail, ranks_sheet


@dataclass
class Run:
    """What the renderers share: the scored run, how to write it, and the sheets so far."""

    pipeline: Pipeline
    problems: list[Problem]
    run_time: str
    source: str
    formulas: bool
    reconciliation: pd.DataFrame
    #: Live-formula mode: the Indicator scores, score and Overall sheets as formulas.
    live: dict[str, SheetOutput] = field(default_factory=dict)
    outputs: list[SheetOutput] = field(default_factory=list)

    @property
    def after(self) -> str:
        """The sheet a renderer's first sheet follows: the last one rendered."""
        return self.outputs[-1].name

    @property
    def cities(self) -> list[str]:
        return self.pipeline["raw"].index.tolist()


def _score_sheets(run: Run) -> list[SheetOutput]:
    """A ``Dn scores`` sheet per dimension, each after its data sheet."""
    return [
        run.live.get(score_sheet(position)) or dimension_sheet(run.pipeline, position, dimension, run.cities, run.run_time)
        for position, dimension in enumerate(run.pipeline.framework.dimensions, start=1)
    ]


def _overall(run: Run) -> list[SheetOutput]:
    live = run.live.get(SHEET_OVERALL)
    return [live or overall_sheet(run.pipeline, run.cities, run.run_time, after=run.after, reconciliation=run.reconciliation)]


def _ranks(run: Run) -> list[SheetOutput]:
    return [ranks_sheet(run.pipeline, run.outputs, run.run_time)]


def _analysis(run: Run) -> list[SheetOutput]:
    return render_analysis(run.pipeline, run.run_time, after=run.after)


def _robustness(run: Run) -> list[SheetOutput]:
    return [render_robustness(run.pipeline, run.run_time, after=run.after)]


def _indicator_scores(run: Run) -> list[SheetOutput]:
    if run.formulas:
        return [dataclasses.replace(run.live[SHEET_INDICATOR_SCORES], after=run.after)]
    return [indicator_sheet(run.pipeline, run.run_time, after=run.after)]


def _audit_trail(run: Run) -> list[SheetOutput]:
    """Values mode: the score sheets and Overall turned into formulas with their values
    (once the Indicator scores sheet they link to is rendered); adds no sheet."""
    add_audit_trail(run.outputs, run.pipeline)
    return []


def _reconciliation(run: Run) -> list[SheetOutput]:
    return [reconciliation_sheet(run.reconciliation, run.run_time, after=run.after)] if len(run.reconciliation) else []


def _data_notes(run: Run) -> list[SheetOutput]:
    data_notes = render_data_notes(run.pipeline, run.reconciliation, run.outputs, run.run_time, after=run.after)
    return [data_notes] if data_notes is not None else []


def _log(run: Run) -> list[SheetOutput]:
    return [log_sheet(run.pipeline, run.problems, run.reconciliation, run.run_time, run.source, after=run.after, formulas=run.formulas)]


#: The renderers in the order their sheets are placed.
RENDERERS: tuple[Callable[[Run], list[SheetOutput]], ...] = (
    _score_sheets,
    _overall,
    _ranks,
    _analysis,
    _robustness,
    _indicator_scores,
    _audit_trail,
    _reconciliation,
    _data_notes,
    _log,
)


def render_outputs(
    pipeline: Pipeline, problems: list[Problem], *, run_time: str | None = None, source: str = "", formulas: bool | None = None
) -> list[SheetOutput]:
    """Every output sheet of a run, in the order they are placed.

    ``run_time`` is the ISO time to stamp (now, by default); ``source`` names the workbook
    in the log. ``formulas``: write the Indicator scores, score and Overall sheets as live
    formulas over the input cells (see :mod:`.formulas`); None follows the Settings sheet.
    """
    run_time = run_time or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    formulas = pipeline.settings.formulas if formulas is None else formulas
    run = Run(pipeline, problems, run_time, source, formulas, reconcile(pipeline))
    if formulas:
        run.live = render_formula_sheets(pipeline, run_time)
    for renderer in RENDERERS:
        run.outputs += renderer(run)
    outputs = run.outputs
    add_stale_check(outputs, pipeline.inputs)
    for output in outputs:
        output.tab_color = output.tab_color or tab_color(output.name)
    # Every sheet but the Log is polished (sized, merged, aligned) before the Log records
    # the fingerprints of the other sheets' values and formats, then the Log itself.
    log = next(output for output in outputs if output.name == SHEET_LOG)
    outputs = [output if output is log else polish(output) for output in outputs]
    add_output_fingerprints(outputs)  # last: it fingerprints the other sheets as written
    polish(log)
    if problems:
        outputs.append(polish(problems_sheet(problems, run_time, after=SHEET_LOG)))
    return outputs
