"""Pausing Python's cyclic garbage collector while many objects are made at once.

Standard library only, so that every adapter can use it.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused_garbage_collection():
    """Pause the cyclic garbage collector while many acyclic objects are made.

    Every so many new objects the collector walks all the objects it tracks, those just
    made included: at 3,000 cities x 300 indicators, while openpyxl made its cell objects,
    that walking took a third of a Recalculate (bench/run.py). Reference counting still
    frees whatever is not in a cycle, and the collector resumes afterwards (if it ran
    before).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
