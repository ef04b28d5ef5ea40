#!/usr/bin/env bash
# Set up this machine (scripts/setup.sh) and run the whole test suite: real ICMP in network
# namespaces needs root; real windows and tray icons run under Xvfb, which the tests start
# themselves; the Windows code runs under Wine (scripts/wine-python.sh). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
