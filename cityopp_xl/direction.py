"""An indicator's direction: the one object that parses a direction cell, turns raw values
into "larger is better", and writes its own live formulas.

Four kinds (METHOD.md section 2):

* ``higher``: x; ranked, a live score counts the values strictly greater (``>``);
* ``lower``: -x; ranked, counting the values strictly smaller (``<``);
* ``target:T``: -|x - T|; ranked by a distance column ``|x - T|`` (the ``lower`` count
  over that column);
* ``tiers``: not ranked; the value is a tier number 1..len(points) and scores
  ``points[tier - 1]`` (:func:`cityopp_xl.scoring.tier_scores`), live with ``CHOOSE``.

A :class:`Direction` of any other kind cannot be built, so nothing downstream has a kind to
guess at: :func:`parse_direction` turns a bad cell into a problem message, and the
constructor refuses what the parser would not give. Nothing here knows about Excel or files;
the formulas are text (see :mod:`cityopp_xl.adapters.formulas` for where they go).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

DIRECTIONS = ("higher", "lower", "target", "tiers")

#: The comparison a live score counts strictly better values with, by ranked kind: a
#: ``target`` ranks its distance column, where smaller is better.
_COMPARISONS = {"higher": ">", "lower": "<", "target": "<"}


class Formula(str):
    """The text of a cell formula (starts with ``=``), as opposed to text that merely does."""


@dataclass(frozen=True)
class Direction:
    """How an indicator's raw value is turned into "larger is better".

    ``kind`` is ``higher`` (x), ``lower`` (-x), ``target`` (-|x - target|) or ``tiers``
    (the value is a tier number 1..len(points) and scores ``points[tier - 1]``). A
    ``target`` has a number ``target``; a ``tiers`` has a non-empty ``points`` table; the
    other kinds have neither. Anything else raises :class:`ValueError`.
    """

    kind: str
    target: float | None = None
    points: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in DIRECTIONS:
            raise ValueError(f"unknown direction kind {self.kind!r}: a direction is higher, lower, target:T or tiers")
        if (self.target is not None) != (self.kind == "target"):
            raise ValueError(f"a '{self.kind}' direction " + ("needs a target number" if self.kind == "target" else "has no target"))
        if bool(self.points) != (self.kind == "tiers"):
            raise ValueError(f"a '{self.kind}' direction " + ("needs a points table" if self.kind == "tiers" else "has no points"))
        if self.target is not None:
            object.__setattr__(self, "target", float(self.target))
        object.__setattr__(self, "points", tuple(float(p) for p in self.points))

    def __str__(self) -> str:
        if self.kind == "target":
            return f"target:{number_text(self.target)}"
        return self.kind

    @classmethod
    def parse(cls, text: str, points_text: str = "") -> tuple["Direction | None", list[tuple[str, str]]]:
        """Parse a framework direction cell (and its points cell for ``tiers``).

        Returns the direction (None when unusable) and a list of (found, expected) problems;
        ``where`` is added by the caller. Points beside a ranked direction are left out
        (the framework reader warns about them).
        """
        problems: list[tuple[str, str]] = []
        raw = text.strip()
        lowered = raw.lower().replace(" ", "")
        points: tuple[float, ...] = ()
        if points_text:
            try:
                points = tuple(float(p) for p in re.split(r"[,;\s]+", points_text.strip()) if p)
            except ValueError:
                problems.append((f"points '{points_text}'", "a comma-separated list of numbers such as '60,50,40'"))
        if lowered in ("higher", "lower"):
            return cls(lowered), problems
        if lowered.startswith("target"):
            match = re.fullmatch(r"target:([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)", lowered)
            if not match:
                problems.append((f"direction '{raw}'", "'target:T' with a number T, such as 'target:0'"))
                return None, problems
            return cls("target", target=float(match.group(1))), problems
        if lowered == "tiers":
            if not points and not problems:
                problems.append(("direction 'tiers' with no points", "a points table such as '60,50,40,30,20,10,5' in the points column"))
                return None, problems
            if not points:
                return None, problems
            return cls("tiers", points=points), problems
        problems.append((f"direction '{raw}'" if raw else "a blank direction", "higher, lower, target:T or tiers"))
        return None, problems

    @property
    def ranked(self) -> bool:
        """True for the kinds scored by rank; False for ``tiers`` (scored from a points table)."""
        return self.kind != "tiers"

    @property
    def points_text(self) -> str:
        """The points table as a framework cell writes it (``60,50,40``), or ''."""
        return ",".join(number_text(p) for p in self.points)

    # ----------------------------------------------------------------------- values

    def better(self, values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        """Raw values turned into "larger is better": ``higher`` x; ``lower`` -x;
        ``target`` -|x - T|. NaN (no value) stays NaN. A ``tiers`` direction raises
        :class:`ValueError`: its values are not ranked."""
        if self.kind == "higher":
            return values
        if self.kind == "lower":
            return -values
        if self.kind == "target":
            distances = self.distances(values)
            rounded = fifteen_digits(distances.to_numpy(dtype="float64"))
            if isinstance(values, pd.Series):
                return -pd.Series(rounded, index=distances.index, name=distances.name)
            return -pd.DataFrame(rounded, index=distances.index, columns=distances.columns)
        raise ValueError(f"direction {self} is not ranked; use tier_scores")

    def distances(self, values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
        """|x - T| of a ``target`` direction, as the live distance column computes it
        (before the 15-digit rounding of :meth:`better`)."""
        return (values - self.target).abs()

    # ----------------------------------------------------------------------- live formulas

    @property
    def distance_label(self) -> str | None:
        """The header of the helper column a live score ranks (``distance |x - 5|``), or
        None when the score reads the input column itself."""
        return f"distance |x - {formula_number(self.target)}|" if self.kind == "target" else None

    def distance_formula(self, x: str) -> Formula:
        """|x - T| of a ``target`` direction, or "" (no value) when ``x`` is not a number."""
        target = formula_number(self.target)
        return Formula(f"=IF(ISNUMBER({x}),ABS({x}-{target if self.target >= 0 else '(' + target + ')'}),\"\")")

    def score_formula(self, x: str, rng: str, n: str) -> Formula:
        """The live score of cell ``x`` (the input cell, or for a ``target`` its distance
        cell) among ``rng`` (the whole input or distance column), ``n`` the number of cities.

        Ranked: N minus the number of strictly better values, ``>`` for ``higher`` and
        ``<`` otherwise; ``tiers``: the points of tier ``x`` from the table (``rng`` and
        ``n`` unused). No value (blank or text) scores 1.
        """
        if not self.ranked:
            return Formula(f"=IF(ISNUMBER({x}),CHOOSE({x},{','.join(formula_number(p) for p in self.points)}),1)")
        return indicator_formula(x, rng, n, _COMPARISONS[self.kind])


def parse_direction(text: str, points_text: str = "") -> tuple[Direction | None, list[tuple[str, str]]]:
    """:meth:`Direction.parse`: the one parser of a direction cell."""
    return Direction.parse(text, points_text)


def better_columns(raw: np.ndarray, directions: list[Direction]) -> np.ndarray:
    """:meth:`Direction.better` of the columns of ``raw`` (cities x indicators), each by its
    direction (none of them ``tiers``), the columns of a kind at once."""
    better = np.array(raw, dtype="float64")
    kinds = np.array([d.kind for d in directions], dtype=object)
    lower = np.flatnonzero(kinds == "lower")
    if len(lower):
        better[:, lower] = -raw[:, lower]
    target = np.flatnonzero(kinds == "target")
    if len(target):
        targets = np.array([directions[p].target for p in target], dtype="float64")
        better[:, target] = -fifteen_digits(np.abs(raw[:, target] - targets))
    tiers = np.flatnonzero(kinds == "tiers")
    if len(tiers):
        raise ValueError(f"direction {directions[tiers[0]]} is not ranked; use tier_scores")
    return better


def fifteen_digits(values: np.ndarray) -> np.ndarray:
    """``float(f"{x:.15g}")`` of every value of a float array (a new array).

    A distance is rounded to 15 significant digits, the precision of the decimal inputs
    and of spreadsheets: |-0.3 - (-0.1)| and |0.1 - (-0.1)| are both 0.2, so the two
    cities tie, as they do in Excel and LibreOffice (binary arithmetic alone gives
    0.19999999999999998 and 0.2 and would split them).

    A whole number below 10**15 has at most 15 significant digits and stays as it is;
    NaN and infinities stay too. Each other distinct value is formatted once: a Python
    call per cell took 0.05 s of a scoring of 3,000 cities x 30 target indicators.
    """
    rounded = np.array(values, dtype="float64", order="K")
    with np.errstate(invalid="ignore"):
        rest = np.isfinite(rounded) & ~((np.abs(rounded) < 1e15) & (rounded == np.floor(rounded)))
    if rest.any():
        distinct, inverse = np.unique(rounded[rest], return_inverse=True)
        formatted = np.array([float(f"{value:.15g}") for value in distinct.tolist()], dtype="float64")
        rounded[rest] = formatted[inverse.ravel()]
    return rounded


def number_text(value: float | None) -> str:
    """A number as a framework cell writes it: ``60`` for 60.0, ``0.5``; '' for None."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def formula_number(value: float) -> str:
    """A number as formula text that reads back as the same double."""
    value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value).upper()


def better_count(x: str, rng: str, comparison: str) -> str:
    """The number of cities with a value strictly better than ``x``: ``>`` (higher) or ``<``."""
    return f"SUMPRODUCT(ISNUMBER({rng})*({rng}{comparison}{x}))"


def indicator_formula(x: str, rng: str, n: str, comparison: str) -> Formula:
    """N minus the number of strictly better values; no value (blank or text) scores 1."""
    return Formula(f"=IF(ISNUMBER({x}),{n}-{better_count(x, rng, comparison)},1)")
