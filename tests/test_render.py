"""Rendering is one loop over renderers that import the layout module, which imports none
of them; the sheets come out in the order they are placed."""

from __future__ import annotations

import ast
from pathlib import Path

from cityopp_xl.adapters import layout, render
from cityopp_xl.adapters.xlsx import validate_file
from cityopp_xl.pipeline import run

ADAPTERS = Path(render.__file__).parent
RENDERER_MODULES = ("score_sheets", "audit_sheets", "trail", "formulas", "analysis_sheets", "robustness_sheet", "data_notes_sheet", "diff_sheet", "stale_check", "printing")


def _adapter_imports(module: str) -> set[str]:
    """The adapter modules ``module`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse((ADAPTERS / f"{module}.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
    return found


def test_layout_imports_no_renderer_and_no_renderer_imports_the_loop():
    assert _adapter_imports("layout") == set()
    for module in RENDERER_MODULES:
        imports = _adapter_imports(module)
        assert "render" not in imports, module
        assert "layout" in imports, module


def test_the_renderers_place_each_sheet_after_the_one_before_it():
    pipeline = run(validate_file(Path(__file__).parent / "data" / "raw_fixture.xlsx")[0])
    dimensions = len(pipeline.framework.dimensions)
    for formulas in (False, True):
        outputs = render.render_outputs(pipeline, [], run_time="2025-01-01T00:00:00+00:00", formulas=formulas)
        names = [o.name for o in outputs]
        assert names[:dimensions] == [layout.score_sheet(p) for p in range(1, dimensions + 1)]
        assert [o.after for o in outputs[:dimensions]] == [layout.data_sheet(p) for p in range(1, dimensions + 1)]
        # From Overall on, every sheet follows the one rendered before it.
        assert [o.after for o in outputs[dimensions:]] == names[dimensions - 1 : -1]
        assert names[dimensions : dimensions + 2] == [layout.SHEET_OVERALL, layout.SHEET_RANKS]
        assert names[-1] == layout.SHEET_LOG
        assert set(names) <= set(layout.FIXED_OUTPUT_SHEETS) | {layout.score_sheet(p) for p in range(1, dimensions + 1)}
        assert [n for n in layout.FIXED_OUTPUT_SHEETS if n in names] == names[dimensions:]
