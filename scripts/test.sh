#!/usr/bin/env bash
# Set up this machine and run the whole test suite (real ICMP in network namespaces needs root;
# real windows and tray icons run under Xvfb, which the tests start themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
