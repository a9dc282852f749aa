"""The audit trail of the score sheets in values mode, and the Ranks sheet.

In values mode (the default) the engine computes every score, and the ``Dn scores`` and
Overall sheets are then written as native formulas with the engine's figures saved as
their cached values, so that Excel's Trace Precedents walks from an overall score to the
dimension totals, from a total to the variable scores, and from a pre-scored variable's
score to the data cell that holds it:

* a dimension ``Total``: ``=SUM(C17:G17)`` over the row's variable scores;
* an Overall dimension score: ``='D1 scores'!H17``, the city's Total cell on the score
  sheet (each sheet is sorted by its own rank, so the row differs from sheet to sheet);
  the Overall ``Total``: ``=SUM(C5:L5)``; the tier: the nested ``IF`` of live-formula mode;
* a rank: ``=RANK(H17,H$5:H$64)``: competition ranks of whole-number totals, tied cities
  sharing the better rank, exactly the engine's;
* a pre-scored variable's score: ``='D1 data'!B5``, when that cell holds the score as a
  number (a score typed as text, or a blank cell that scores 1, stays a value);
* a variable the engine rank-scores from raw values: the score as computed (a formula
  would be the long SUMPRODUCT of live-formula mode), with a note on its header cell saying
  so and a link to the variable's score column on the Indicator scores sheet.

Because every cell keeps its cached value, readers that never recalculate (previews,
``cityopp diff``, the fingerprints of hand-edit detection) see the same figures as before.
Live-formula mode (:mod:`.formulas`) writes its own formulas and is left as it is.
"""

from __future__ import annotations

from ..model import column_letter, column_number, quote_sheet, tuples
from ..pipeline import Pipeline
from ..validate import CellAddresses
from . import layout

#: Where the score sheets', Overall's and Ranks' tables sit.
SCORE = layout.SCORE_GEOMETRY
from .formulas import Formula, _cells, split_address, tier_label_formula


def add_audit_trail(outputs: list[layout.SheetOutput], pipeline: Pipeline) -> None:
    """Turn the value-mode score sheets and Overall of ``outputs`` into formulas over each
    other and the data cells, their values kept as the formulas' cached values (in place).

    Sheets already written as formulas (live-formula mode) are left alone.
    """
    framework = pipeline.framework
    by_name = {output.name: output for output in outputs}
    given = given_score_cells(pipeline)
    score_columns = variable_score_columns(by_name.get(layout.SHEET_INDICATOR_SCORES))
    totals: dict[int, tuple[str, dict[str, int]]] = {}
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheet = by_name.get(layout.score_sheet(position))
        if sheet is None or sheet.formulas:
            return
        variables = framework.variables_of(dimension)
        total = SCORE.letter(len(variables))
        rows = city_rows(sheet)
        totals[position] = (total, rows)

        def cell(city: str, r: int, j: int, value):
            variable = variables[j]
            source = given.get((city, variable.name))
            return Formula(f"={source}") if source else value

        _to_formulas(sheet, rows, total, cell)
        for j, variable in enumerate(variables):
            if variable.prescored or variable.name not in score_columns:
                continue
            header = f"{SCORE.letter(j)}{SCORE.header_row}"
            letter = score_columns[variable.name]
            sheet.notes[header] = (
                f"Computed by cityopp-xl from the data on {layout.data_sheet(position)}: the rank scores of the raw values "
                f"(written as values, not formulas). Every step is on the {layout.SHEET_INDICATOR_SCORES} sheet, column {letter}."
            )
            sheet.links[header] = f"{quote_sheet(layout.SHEET_INDICATOR_SCORES)}!{letter}{INDICATOR_HEADER_ROW}"
    overall = by_name.get(layout.SHEET_OVERALL)
    if overall is None or overall.formulas:
        return
    rows = city_rows(overall)
    total = SCORE.letter(len(framework.dimensions))

    def dimension_cell(city: str, r: int, j: int, value):
        letter, sheet_rows = totals[j + 1]
        return Formula(f"={quote_sheet(layout.score_sheet(j + 1))}!{letter}{sheet_rows[city]}")

    settings = pipeline.settings
    _to_formulas(overall, rows, total, dimension_cell, tier=lambda r: tier_label_formula(f"{total}{r}", settings.tiers, settings.other_tier))


#: The header row of the Indicator scores sheet (its columns' own headers).
INDICATOR_HEADER_ROW = 6


def city_rows(output: layout.SheetOutput) -> dict[str, int]:
    """Each city's sheet row on a score sheet or Overall (:data:`SCORE`: the city column
    from the first body row)."""
    rows = {}
    city_index = SCORE.columns.index("city")
    for r in range(SCORE.first_row, len(output.cells) + 1):
        row = output.cells[r - 1]
        city = row[city_index] if len(row) > city_index else None
        if isinstance(city, str) and city:
            rows.setdefault(city, r)
    return rows


def variable_score_columns(indicator_sheet: layout.SheetOutput | None) -> dict[str, str]:
    """The column letter of each variable's score on the Indicator scores sheet: the last
    of the variable's columns (rows 4 and 5 name the dimension and variable of each)."""
    if indicator_sheet is None or len(indicator_sheet.cells) < 5:
        return {}
    variables = indicator_sheet.cells[4]
    return {name: column_letter(c) for c, name in enumerate(variables, start=1) if c > 2 and isinstance(name, str) and name}


def given_score_cells(pipeline: Pipeline) -> dict[tuple[str, str], str]:
    """(city, pre-scored variable) → the data cell holding that score (``'D1 data'!B5``),
    where the cell held the given score as a number when it was read (a score typed as
    text, or a blank scoring 1, would not read the same in a formula)."""
    inputs = pipeline.inputs
    copies = getattr(inputs, "table_copies", {}) or {}
    values = inputs.values
    names = [v.name for v in pipeline.framework.variables if v.prescored and v.name in values]
    found: dict[tuple[str, str], str] = {}
    if not names:
        return found
    # Each column's scores as one list, and its cells as (sheet and column, row): the
    # sheet and column of a table's cells are parsed once, not each cell's reference.
    addresses = inputs.addresses
    if not isinstance(addresses, CellAddresses):  # a plain mapping (inputs made in code)
        addresses = CellAddresses()
        addresses.update(inputs.addresses)
    cities = values.index.tolist()
    heads: dict[str, tuple | None] = {}
    for name, scores in zip(names, values[names].to_numpy().T.tolist()):
        cells = addresses.cells_of(name)
        for city, score in zip(cities, scores):
            cell = cells.get(city)
            if cell is None:
                continue
            head, row = cell
            if head not in heads:
                heads[head] = _head(f"{head}{row}", copies)
            parsed = heads[head]
            if parsed is None:
                continue
            copy, c, reference = parsed
            r = row - copy.first_row
            raw = copy.cells[r][c] if 0 <= r < len(copy.cells) and c < len(copy.cells[r]) else None
            if type(raw) in (int, float) and raw == score:
                found[(city, name)] = f"{reference}{row}"
    return found


def _head(address: str, copies: dict) -> tuple | None:
    """For the cells whose addresses share ``address``'s sheet and column: the copy of
    their table, the column's index in it and the reference's start (``'D1 data'!B``);
    None when the address is not a cell's or its sheet has no copy."""
    try:
        sheet, letter, _ = split_address(address)
    except ValueError:
        return None
    copy = copies.get(sheet)
    if copy is None:
        return None
    return copy, column_number(letter) - 1, f"{quote_sheet(sheet)}!{letter}"


def _to_formulas(output: layout.SheetOutput, rows: dict[str, int], total: str, make, tier=None) -> None:
    """Rank in column A, ``make(city, row, j, value)`` for the columns from C up to the
    total, ``=SUM`` in the total column, and ``tier(row)`` in the column after it."""
    values = output.cells
    first, last = SCORE.first_row, max(rows.values(), default=SCORE.first_row)
    end = column_number(total)
    before, start_letter = column_letter(end - 1), SCORE.letter(0)
    rank, start = column_number(SCORE.letter("rank")), column_number(SCORE.letter(0))
    cells = [list(row) for row in values]
    for city, r in rows.items():
        row = cells[r - 1]
        row[rank - 1] = Formula(f"=RANK({total}{r},{total}${first}:{total}${last})")
        for c in range(start, end):
            row[c - 1] = make(city, r, c - start, row[c - 1])
        row[end - 1] = Formula(f"=SUM({start_letter}{r}:{before}{r})")
        if tier is not None:
            row[end] = tier(r)
    output.cells = _cells(cells)
    output.formula_values = values
    output.formulas = True


def ranks_sheet(pipeline: Pipeline, outputs: list[layout.SheetOutput], run_time: str) -> layout.SheetOutput:
    """The Ranks sheet: each city's overall rank and its rank in every dimension side by
    side, sorted by overall rank (ties in edition order), each rank a reference to the rank
    cell of Overall or the score sheet (its value cached), shaded rank 1 green to last red."""
    framework = pipeline.framework
    dimensions = list(framework.dimensions)
    by_name = {output.name: output for output in outputs}
    overall = pipeline["overall"]
    cities = list(pipeline["raw"].index)
    ranks = pipeline["dimension_ranks"][dimensions].copy()
    ranks.insert(0, "overall", overall["rank"])
    ordered = layout._sorted_by_rank(ranks, overall["rank"], cities)
    sources = [layout.SHEET_OVERALL] + [layout.score_sheet(p) for p in range(1, len(dimensions) + 1)]
    rows_on = [city_rows(by_name[name]) for name in sources]
    n = len(cities)
    header = ["Overall rank", "City", *dimensions]
    g = layout.RANKS_GEOMETRY
    rows = g.top(
        [
            ["Ranks: overall and in every dimension"],
            [
                f"Each city's overall rank and its rank in each of the {len(dimensions)} dimensions (1 best, {n} last), from the Overall and score sheets. "
                f"Sorted by overall rank. {layout.TIES_ORDER}"
            ],
            [layout._stamp(run_time)],
        ],
        header,
    )
    values = [list(row) for row in rows]
    for city, row in zip(ordered.index, tuples(ordered[["overall", *dimensions]])):
        references = [Formula(f"={quote_sheet(name)}!{SCORE.letter('rank')}{on[city]}") for name, on in zip(sources, rows_on)]
        rows.append([references[0], city, *references[1:]])
        values.append([row[0], city, *row[1:]])
    header_range = g.header_range(len(header))
    ranks_columns = ["rank", *range(len(dimensions))]  # overall rank, then each dimension's
    return layout.SheetOutput(
        name=layout.SHEET_RANKS,
        after=layout.SHEET_OVERALL,
        cells=_cells(rows),
        formula_values=layout._rect(values),
        formulas=True,
        live=by_name[layout.SHEET_OVERALL].live,
        bold=[header_range, g.data_range("rank", n)],
        wrap=[header_range],
        number_formats={g.data_range("rank", n): layout.SCORE_FORMAT, g.data_range(0, n, len(dimensions) - 1): layout.SCORE_FORMAT},  # not the city column
        rank_scales=[g.data_range(column, n) for column in ranks_columns],
        widths=g.column_widths(len(dimensions)),
        freeze=g.freeze,
        print_title_rows=g.print_title_rows,
        tab_color=layout.TAB_COLORS["scores"],
    )
