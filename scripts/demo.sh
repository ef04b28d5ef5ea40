#!/usr/bin/env bash
# Set up this machine and run the simulated cafe (no packets are sent anywhere).
# With a display you get the window and tray icons; without one, status lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --app
exec .venv/bin/python sentinel_app.py --demo "$@"
