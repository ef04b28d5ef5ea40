#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine for CafeSentinel and its tests: system packages (as root, or
# with sudo), a Python virtual environment in .venv with the pinned requirements, and the
# Windows lane (a Windows CPython under Wine, scripts/wine-python.sh). Safe to run again: what
# is there already is kept, so a second run takes seconds.
#
#   scripts/setup.sh            everything the tests need (scripts/test.sh runs this)
#   scripts/setup.sh --app      only what running the app needs: Tk and .venv (scripts/demo.sh)
#   scripts/setup.sh --system   only the Debian packages the tests need
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
case "$mode" in ""|--app|--system) ;; *) echo "setup.sh: unknown argument $mode" >&2; exit 2 ;; esac

# Debian packages for the tests, one a line, with what needs them. Add yours here.
test_packages=(
  xvfb                        # the display tests (and the Windows lane's) start their own Xvfb
  xdotool x11-utils           # driving and inspecting real windows
  trayer                      # a real system tray for the tray-icon tests
  fping                       # bench/bench_probe.py compares against it
  iproute2 util-linux         # network namespaces (ip netns), setpriv
  wine wine64                 # the Windows lane: Windows CPython and the .exe builds
  binutils-mingw-w64-x86-64   # links a stand-in DLL into the Wine prefix (scripts/wine-python.sh)
  systemd                     # systemd-analyze verifies the Linux autostart unit
  prometheus                  # scrapes the web wing's metrics in its tests
  chromium chromium-driver    # the web dashboard's browser tests (headless, loopback only)
  poppler-utils               # reads the PDF reports back in their tests
)
packages=()
[ "$mode" = --app ] || packages+=("${test_packages[@]}")
python3 -c "import tkinter" 2>/dev/null || packages+=(python3-tk)
python3 -c "import venv, ensurepip" 2>/dev/null || packages+=(python3-venv)

missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)"
for pkg in "${packages[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  apt=($SUDO apt-get -o DPkg::Lock::Timeout=900 -q)
  "${apt[@]}" update >/dev/null
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$mode" = --system ] && exit 0

[ -x .venv/bin/python ] || python3 -m venv .venv
if [ "$mode" = --app ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  exit 0
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
bash scripts/wine-python.sh setup
