"""A small raw-value fixture covering every rule of METHOD.md (7 cities, 2 dimensions).

The same definition is written to tests/data/raw_fixture.xlsx (by tests/data/make_fixtures.py)
and to CSV files in tests, so the workbook path and the CSV path score the same data.
"""

from __future__ import annotations

import math

CITIES = ["Ava", "Bel", "Cor", "Dun", "Eld", "Fen", "Gal"]
PROVINCES = ["P1", "P1", "P2", "P2", "P3", "P3", "P4"]
N = len(CITIES)
NA = math.nan

# id, dimension, variable, indicator, direction, ties, points
FRAMEWORK = [
    ("a1", "Alpha", "Size", "Output", "higher", "best", ""),
    ("a2", "Alpha", "Debt", "Debt ratio", "lower", "best", ""),
    ("a3", "Alpha", "Balance", "Trade balance", "target:0", "best", ""),
    ("a4", "Alpha", "Links", "Plan tier", "tiers", "best", "7,5,3,2"),
    ("a5", "Alpha", "Innovation", "Patents", "higher", "best", ""),
    ("a6", "Alpha", "Innovation", "Firms", "higher", "best", ""),
    ("b1", "Beta", "Carrying", "Hubs", "higher", "worst", ""),
    ("b2", "Beta", "Carrying", "Congestion", "lower", "worst", ""),
    ("b3", "Beta", "Transport", "Passengers", "higher", "best", ""),
    ("b4", "Beta", "Transport", "Freight", "higher", "best", ""),
    ("b5", "Beta", "Transport", "Routes", "higher", "best", ""),
    ("b6", "Beta", "Safety", "Safety index", "higher", "worst", ""),
    ("b7", "Beta", "Air", "PM2.5", "lower", "best", ""),
    ("b8", "Beta", "Culture", "Museums", "higher", "best", ""),
]

#: Raw values by indicator id, in CITIES order (NaN = no value).
VALUES = {
    "a1": [10, 20, 20, 5, NA, 30, 1],
    "a2": [0.5, 0.2, 0.9, 0.2, 0.4, NA, 0.1],
    "a3": [-0.3, 0.1, 0.0, 0.3, -0.1, 0.2, NA],
    "a4": [1, 2, 2, 4, 3, NA, 1],
    "a5": [3, 1, 4, 1, 5, 9, 2],
    "a6": [2, 7, 1, 8, 2, 8, NA],
    "b1": [1, 2, 3, 4, 5, 6, 7],
    "b2": [7, 6, 5, 4, 3, 1, 2],
    "b3": [100, 50, NA, 50, 20, 10, 5],
    "b4": [1, 2, 3, 4, 5, 6, 7],
    "b5": [7, 6, 5, 4, 3, 2, 1],
    "b6": [5, 5, NA, 3, 3, 3, 1],
    "b7": [10, NA, NA, 12, 8, 8, 20],
    "b8": [1, 1, 1, 1, 1, 1, 1],
}
