"""The app <-> guard pact (pact.py), the watch-and-restart loop (watch.py), the app's half (partner.py)."""
