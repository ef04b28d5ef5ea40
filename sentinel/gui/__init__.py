"""Desktop: tray icons, status window, dialogs (only the Tk thread touches widgets)."""
