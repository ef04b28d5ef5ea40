#!/usr/bin/env bash
# Linux autostart: install (or remove) the systemd user unit packaging/cafesentinel.service,
# which starts the guard; the guard starts the app. Run as the user the monitor runs as.
#
#   scripts/install_autostart.sh [--config PATH] [--data-dir DIR] [--bundle DIR]
#                                [--desktop] [--at-boot] [--unit-dir DIR] [--no-systemctl]
#   scripts/install_autostart.sh --remove [--config PATH] [--data-dir DIR] [--bundle DIR]
#                                [--unit-dir DIR] [--no-systemctl]
#
#   --config PATH    the config.json to run with (default: the one beside the program)
#   --data-dir DIR   the data dir (default: ~/.local/share/cafesentinel)
#   --bundle DIR     run the built CafeSentinel folder (scripts/build_linux.sh's deploy/CafeSentinel)
#                    instead of this source tree with its .venv
#   --desktop        start with the desktop session (window and tray icons); default: at login,
#                    headless when there is no display
#   --at-boot        also start at boot without a login (loginctl enable-linger): a box without
#                    a display
#   --unit-dir DIR   where the unit goes (default: ~/.config/systemd/user)
#   --no-systemctl   only write and check the unit; do not enable, start, stop or disable it
#   --remove         stop the monitor through the password exit (the admin password is asked),
#                    then disable and delete the unit; nothing is changed if the password is wrong
#
# The unit is checked with `systemd-analyze --user verify` before it is enabled.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
unit_name=cafesentinel.service
config="" data_dir="" bundle="" wanted_by=default.target at_boot=0 remove=0 systemctl=1
unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"

die() { echo "install_autostart.sh: $*" >&2; exit 2; }
absolute() { [ -e "$1" ] || die "$1 does not exist"; realpath "$1"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$(absolute "${2:?--config needs a path}")"; shift 2 ;;
    --data-dir) data_dir="$(realpath -m "${2:?--data-dir needs a folder}")"; shift 2 ;;
    --bundle) bundle="$(absolute "${2:?--bundle needs a folder}")"; shift 2 ;;
    --desktop) wanted_by=graphical-session.target; shift ;;
    --at-boot) at_boot=1; shift ;;
    --unit-dir) unit_dir="${2:?--unit-dir needs a folder}"; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    --remove) remove=1; shift ;;
    *) die "unknown argument $1 (see the top of this script)" ;;
  esac
done

if [ -n "$bundle" ]; then
  guard=("$bundle/CafeSentinelGuard") app=("$bundle/CafeSentinel")
else
  guard=("$repo/.venv/bin/python" "$repo/sentinel_guard.py") app=("$repo/.venv/bin/python" "$repo/sentinel_app.py")
fi
[ -x "${guard[0]}" ] || die "${guard[0]} is missing (run scripts/setup.sh, or build with scripts/build_linux.sh)"
options=()
[ -n "$config" ] && options+=(--config "$config")
[ -n "$data_dir" ] && options+=(--data-dir "$data_dir")

if [ "$remove" -eq 1 ]; then
  echo "Enter the CafeSentinel admin password to stop the monitor and its guard."
  rc=0
  "${app[@]}" --verify-admin --exit "${options[@]}" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "The monitor was not stopped (exit code $rc): nothing was changed." >&2
    exit 1
  fi
  if [ "$systemctl" -eq 1 ]; then
    systemctl --user disable --now "$unit_name" || true
  fi
  rm -f "$unit_dir/$unit_name"
  [ "$systemctl" -eq 1 ] && systemctl --user daemon-reload
  echo "CafeSentinel is stopped and will no longer start; its data folder was kept."
  exit 0
fi

# systemd's command-line quoting: each word in double quotes with \ and " escaped; % starts a
# specifier and $ a variable in unit files, so both are doubled.
quote() {
  local word="$1"
  word="${word//\\/\\\\}"; word="${word//\"/\\\"}"; word="${word//%/%%}"; word="${word//\$/\$\$}"
  printf '"%s"' "$word"
}
exec_start=""
for word in "${guard[@]}" "${options[@]}"; do
  exec_start+="${exec_start:+ }$(quote "$word")"
done

mkdir -p "$unit_dir"
tmp="$(mktemp "$unit_dir/.$unit_name.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# Filled in with awk, not sed: the values may hold any character that is special to sed.
awk -v exec_start="$exec_start" -v wanted_by="$wanted_by" '
  { gsub(/@WANTED_BY@/, wanted_by) }
  /@EXEC_START@/ { i = index($0, "@EXEC_START@"); $0 = substr($0, 1, i - 1) exec_start substr($0, i + 12) }
  { print }' "$repo/packaging/$unit_name" >"$tmp"
if command -v systemd-analyze >/dev/null; then
  # A copy under the unit's own name in a private folder, which also serves as the runtime dir
  # verify needs when the shell has none (a bare root shell).
  check="$(mktemp -d)"
  cp "$tmp" "$check/$unit_name"
  problems="$(XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$check}" systemd-analyze --user verify "$check/$unit_name" 2>&1)" \
    || problems="${problems:-systemd-analyze failed}"
  rm -rf "$check"
  [ -z "$problems" ] || die "the unit does not verify: $problems"
fi
chmod 644 "$tmp"
mv "$tmp" "$unit_dir/$unit_name"
trap - EXIT
echo "Installed $unit_dir/$unit_name (starts with $wanted_by)."

if [ "$systemctl" -eq 1 ]; then
  systemctl --user daemon-reload
  systemctl --user enable --now "$unit_name"
  if [ "$at_boot" -eq 1 ]; then
    loginctl enable-linger "$(id -un)"
  fi
  echo "Started. Status: systemctl --user status cafesentinel; stop and remove: $0 --remove"
fi
