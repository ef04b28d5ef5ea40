#!/usr/bin/env bash
# Build the two one-folder bundles on Linux and assemble deploy/CafeSentinel/ (the layout is
# described in packaging/pyi_common.py). Same specs as build.ps1 on Windows.
#
#   scripts/build_linux.sh [--python PY] [--out DIR] [--work DIR]
#
#   --python PY  the interpreter to build with (default: .venv/bin/python, created with the
#                pinned requirements-dev.txt by scripts/setup.sh when missing)
#   --out DIR    where dist/ and deploy/ go (default: the repository folder)
#   --work DIR   PyInstaller's work folder (default: OUT/build)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="" out="$repo" work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --python) python="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "build_linux.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$python" ]; then
  [ -x "$repo/.venv/bin/python" ] || bash "$repo/scripts/setup.sh"
  python="$repo/.venv/bin/python"
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="${work:-$out/build}"
dist="$out/dist" deploy="$out/deploy/CafeSentinel"

cd "$repo"
for spec in sentinel.spec guard.spec; do
  echo "== PyInstaller $spec"
  "$python" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath "$work" "$spec"
done

echo "== assembling $deploy"
rm -rf "$deploy"
mkdir -p "$deploy"
cp -a "$dist/CafeSentinel/." "$deploy/"
cp -a "$dist/CafeSentinelGuard/." "$deploy/"
cp install.bat uninstall.bat packaging/CafeSentinelGuard.xml.template packaging/README.txt "$deploy/"
for f in CafeSentinel CafeSentinelGuard config.json _internal _internal_guard; do
  [ -e "$deploy/$f" ] || { echo "build_linux.sh: $deploy/$f is missing" >&2; exit 1; }
done
"$deploy/CafeSentinel" --version
echo "== done: $deploy ($(du -sh "$deploy" | cut -f1))"
