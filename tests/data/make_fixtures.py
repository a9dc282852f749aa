"""Write tests/data/raw_fixture.xlsx from tests/fixture_data.py (run from the repo root).

    python tests/data/make_fixtures.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))

from fixture_helpers import fixture_framework, fixture_settings, fixture_values  # noqa: E402

from cityopp_xl.adapters.xlsx import write_input_workbook  # noqa: E402
from fixture_data import CITIES, PROVINCES  # noqa: E402


def main() -> None:
    target = HERE / "raw_fixture.xlsx"
    write_input_workbook(
        target,
        fixture_framework(),
        list(zip(CITIES, PROVINCES)),
        settings=fixture_settings(),
        values=fixture_values(),
        title="Raw-value fixture (every rule of the method)",
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
