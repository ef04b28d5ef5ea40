@echo off
rem CafeSentinel installer: registers the guard in Task Scheduler, so it starts at every logon.
rem
rem   install.bat                 register for the logged-on desktop user
rem   install.bat DOMAIN\user     register for that user instead
rem
rem Run it from the CafeSentinel folder (beside CafeSentinelGuard.exe), as administrator:
rem right-click, "Run as administrator". It creates the task \CafeSentinel\Guard that starts
rem the guard at the user's logon with highest privileges, with no 72-hour limit and no battery
rem rules, then starts it now. Nothing else on the machine is changed.
rem
rem Task XML: CafeSentinelGuard.xml.template beside this file (the settings and Microsoft's
rem pages are cited there). schtasks /Create /XML reads UTF-16 LE with a BOM reliably; UTF-8 files that
rem declare another encoding fail with "The task XML is malformed" (reported in
rem github.com/fatso83/vmware-auto-suspend/issues/8 and chef/chef/issues/6639), so the filled
rem copy is written as UTF-16 LE. Registering XML with schtasks:
rem https://learn.microsoft.com/en-us/windows/win32/taskschd/logon-trigger-example--xml-
rem https://learn.microsoft.com/en-us/windows/win32/taskschd/schtasks

setlocal EnableExtensions DisableDelayedExpansion
set "CS_TASK=CafeSentinel\Guard"

rem Elevation: "net session" lists the SMB sessions of this machine, which Windows allows only
rem to an elevated administrator; from a normal or non-elevated prompt it fails with "Access is
rem denied" (error level 2). It needs the Server service; where that service is disabled,
rem "fltmc" (the filter manager tool, also administrator-only) is the fallback check.
net session >nul 2>&1
if errorlevel 1 (
    fltmc >nul 2>&1
    if errorlevel 1 goto :not_elevated
)

set "CS_DIR=%~dp0"
if "%CS_DIR:~-1%"=="\" set "CS_DIR=%CS_DIR:~0,-1%"
if not exist "%CS_DIR%\CafeSentinelGuard.exe" (
    echo ERROR: CafeSentinelGuard.exe is not in "%CS_DIR%".
    echo Run install.bat from the CafeSentinel folder.
    goto :fail
)
set "CS_TEMPLATE=%CS_DIR%\CafeSentinelGuard.xml.template"
if not exist "%CS_TEMPLATE%" (
    echo ERROR: "%CS_TEMPLATE%" is missing.
    goto :fail
)

rem The user whose logon starts the guard. When an administrator elevates for someone else,
rem %USERNAME% is the administrator, so ask Windows who is logged on at the console first.
set "CS_USER=%~1"
if not defined CS_USER (
    for /f "usebackq delims=" %%U in (`powershell -NoProfile -NonInteractive -Command "(Get-CimInstance Win32_ComputerSystem).UserName"`) do set "CS_USER=%%U"
)
if not defined CS_USER set "CS_USER=%USERDOMAIN%\%USERNAME%"
echo Registering the CafeSentinel guard for %CS_USER%, installed in "%CS_DIR%".

rem Fill the template: values are XML-escaped (a folder may contain "&") and passed through the
rem environment, so quotes and spaces in paths need no escaping on the command line.
set "CS_XML=%TEMP%\CafeSentinelGuard-%RANDOM%%RANDOM%.xml"
powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command ^
  "$t = [IO.File]::ReadAllText($env:CS_TEMPLATE, [Text.Encoding]::UTF8);" ^
  "$t = $t.Replace('{{INSTALL_DIR}}', [Security.SecurityElement]::Escape($env:CS_DIR));" ^
  "$t = $t.Replace('{{USER_ID}}', [Security.SecurityElement]::Escape($env:CS_USER));" ^
  "[IO.File]::WriteAllText($env:CS_XML, $t, [Text.Encoding]::Unicode)"
if errorlevel 1 (
    echo ERROR: could not write the task definition "%CS_XML%".
    goto :fail
)

schtasks /Create /TN "%CS_TASK%" /XML "%CS_XML%" /F
set "CS_RC=%ERRORLEVEL%"
del "%CS_XML%" >nul 2>&1
if not "%CS_RC%"=="0" (
    echo ERROR: schtasks could not register the task ^(error %CS_RC%^).
    goto :fail
)

schtasks /Run /TN "%CS_TASK%"
if errorlevel 1 (
    echo WARNING: the task is registered but did not start now; it starts at the next logon.
)
echo.
echo CafeSentinel is installed: the guard starts at every logon of %CS_USER%.
echo To remove it, run uninstall.bat as administrator ^(it asks for the admin password^).
if not defined CS_NOPAUSE pause
exit /b 0

:not_elevated
echo ERROR: install.bat must run as administrator.
echo Right-click install.bat and choose "Run as administrator".
if not defined CS_NOPAUSE pause
exit /b 1

:fail
echo Installation failed; nothing was started.
if not defined CS_NOPAUSE pause
exit /b 1
