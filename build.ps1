# Build CafeSentinel for Windows: deploy\CafeSentinel\ with both executables, ready to copy.
#
#   powershell -ExecutionPolicy Bypass -File build.ps1 [-Python py] [-Clean]
#
#   -Python  the interpreter that creates the build venv (default: "py -3", else "python")
#   -Clean   delete .venv-build, build\, dist\ and deploy\ first
#
# Steps: a venv in .venv-build with the pinned requirements-dev.txt, PyInstaller on
# sentinel.spec and guard.spec (one-folder, windowed), then deploy\CafeSentinel\ =
# CafeSentinel.exe + _internal\ + CafeSentinelGuard.exe + _internal_guard\ + config.json +
# install.bat + uninstall.bat + CafeSentinelGuard.xml.template + README.txt
# (layout: packaging\pyi_common.py). Any failure stops the script with a non-zero exit code.
param(
    [string]$Python = "",
    [switch]$Clean
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$repo = $PSScriptRoot
Set-Location $repo

function Invoke-Checked {
    param([string]$What, [scriptblock]$Command)
    Write-Host "== $What"
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

$venv = Join-Path $repo '.venv-build'
$dist = Join-Path $repo 'dist'
$work = Join-Path $repo 'build'
$deploy = Join-Path $repo 'deploy\CafeSentinel'

if ($Clean) {
    foreach ($dir in @($venv, $dist, $work, (Join-Path $repo 'deploy'))) {
        if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    }
}

$venvPython = Join-Path $venv 'Scripts\python.exe'
if (-not (Test-Path $venvPython)) {
    if ($Python) {
        $creator = @($Python)
    } elseif (Get-Command py -ErrorAction SilentlyContinue) {
        $creator = @('py', '-3')
    } else {
        $creator = @('python')
    }
    $exe, $rest = $creator
    Invoke-Checked "create venv with $($creator -join ' ')" { & $exe @rest -m venv $venv }
}
Invoke-Checked 'pip install -r requirements-dev.txt' {
    & $venvPython -m pip install --disable-pip-version-check -q -r (Join-Path $repo 'requirements-dev.txt')
}

$started = Get-Date
foreach ($spec in @('sentinel.spec', 'guard.spec')) {
    Invoke-Checked "PyInstaller $spec" {
        & $venvPython -m PyInstaller --noconfirm --clean --log-level WARN --distpath $dist --workpath $work $spec
    }
}

Write-Host "== assembling $deploy"
if (Test-Path $deploy) { Remove-Item -Recurse -Force $deploy }
New-Item -ItemType Directory -Force -Path $deploy | Out-Null
Copy-Item -Recurse -Force (Join-Path $dist 'CafeSentinel\*') $deploy
Copy-Item -Recurse -Force (Join-Path $dist 'CafeSentinelGuard\*') $deploy
foreach ($file in @('install.bat', 'uninstall.bat', 'packaging\CafeSentinelGuard.xml.template', 'packaging\README.txt')) {
    Copy-Item -Force (Join-Path $repo $file) $deploy
}
foreach ($name in @('CafeSentinel.exe', 'CafeSentinelGuard.exe', '_internal', '_internal_guard', 'config.json',
                    'install.bat', 'uninstall.bat', 'CafeSentinelGuard.xml.template', 'README.txt')) {
    if (-not (Test-Path (Join-Path $deploy $name))) { throw "deploy folder is missing $name" }
}

# A windowed exe does not block the console: wait for it, and read its output through a pipe.
$version = & (Join-Path $deploy 'CafeSentinel.exe') --version | Out-String
if ($LASTEXITCODE -ne 0 -or $version -notmatch 'CafeSentinel') {
    throw "the built CafeSentinel.exe --version failed (exit code $LASTEXITCODE): $version"
}
$size = (Get-ChildItem -Recurse -File $deploy | Measure-Object -Property Length -Sum).Sum / 1MB
$seconds = ((Get-Date) - $started).TotalSeconds
Write-Host ("== done: {0} ({1}) in {2:N0} s, {3:N0} MiB" -f $deploy, $version.Trim(), $seconds, $size)
