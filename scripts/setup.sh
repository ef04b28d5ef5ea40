#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine for CafeSentinel: system packages (as root) and a Python
# virtual environment in .venv with the pinned requirements. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg_cmd in xvfb:Xvfb xdotool:xdotool x11-utils:xwininfo trayer:trayer fping:fping \
               iproute2:ip xauth:xauth util-linux:setpriv chromium:chromium poppler-utils:pdfinfo; do
  command -v "${pkg_cmd#*:}" >/dev/null 2>&1 || need+=("${pkg_cmd%%:*}")
done
python3 -c "import tkinter" 2>/dev/null || need+=(python3-tk)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
