@echo off
rem CafeSentinel uninstaller: stops the monitor through its password exit and removes the
rem Task Scheduler entry that install.bat created. The data folder (database, CSV logs,
rem screenshots outbox, config backups) is kept; its location is printed at the end.
rem
rem Run it from the CafeSentinel folder as administrator (right-click, "Run as administrator").
rem
rem Order, and why:
rem  1. CafeSentinel.exe --verify-admin --exit asks for the admin password. Only when it is
rem     right does it make the same signed Exit as the tray's "Exit..." (the guard sees the
rem     signed shutdown intent and lets the app go, then stops itself), and waits for both.
rem     Killing the guard or ending the task instead would look like sabotage: the app would
rem     restart the guard and report the kill on Discord.
rem     Exit codes: 0 = password right, app and guard stopped (or were not running);
rem     1 = wrong password or cancelled; anything else = error. Nothing is changed unless 0.
rem  2. schtasks /Delete removes \CafeSentinel\Guard so nothing starts at the next logon.

setlocal EnableExtensions DisableDelayedExpansion
set "CS_TASK=CafeSentinel\Guard"

rem Elevation check: see install.bat ("net session" needs an elevated administrator; "fltmc"
rem is the fallback where the Server service is disabled).
net session >nul 2>&1
if errorlevel 1 (
    fltmc >nul 2>&1
    if errorlevel 1 goto :not_elevated
)

set "CS_DIR=%~dp0"
if "%CS_DIR:~-1%"=="\" set "CS_DIR=%CS_DIR:~0,-1%"
set "CS_APP=%CS_DIR%\CafeSentinel.exe"
if not exist "%CS_APP%" (
    echo ERROR: CafeSentinel.exe is not in "%CS_DIR%", so the admin password cannot be checked.
    echo Run uninstall.bat from the CafeSentinel folder.
    goto :fail
)

echo Enter the CafeSentinel admin password in the window that opens.
"%CS_APP%" --verify-admin --exit
set "CS_RC=%ERRORLEVEL%"
if "%CS_RC%"=="1" (
    echo The admin password was not confirmed. Nothing was changed.
    goto :fail
)
if not "%CS_RC%"=="0" (
    echo ERROR: CafeSentinel could not verify the password or stop ^(exit code %CS_RC%^). Nothing was changed.
    goto :fail
)

schtasks /Query /TN "%CS_TASK%" >nul 2>&1
if errorlevel 1 (
    echo The task %CS_TASK% was not registered; nothing to remove.
) else (
    schtasks /Delete /TN "%CS_TASK%" /F
    if errorlevel 1 (
        echo ERROR: the monitor is stopped but the task could not be removed; it would start
        echo again at the next logon. Remove "%CS_TASK%" in Task Scheduler by hand.
        goto :fail
    )
)

echo.
echo CafeSentinel is stopped and will no longer start at logon.
echo Your data was kept: incidents, sessions, logs and config backups are in
echo   %LOCALAPPDATA%\CafeSentinel
echo ^(of the Windows user the monitor ran as^). The program folder "%CS_DIR%"
echo can now be deleted.
if not defined CS_NOPAUSE pause
exit /b 0

:not_elevated
echo ERROR: uninstall.bat must run as administrator.
echo Right-click uninstall.bat and choose "Run as administrator".
if not defined CS_NOPAUSE pause
exit /b 1

:fail
if not defined CS_NOPAUSE pause
exit /b 1
