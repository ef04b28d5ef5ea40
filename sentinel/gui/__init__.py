"""The desktop: Tk status window, tray icons, setup wizard and password dialogs."""
