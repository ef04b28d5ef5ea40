"""The local HTTP server: the JSON API (and the latest status it serves)."""
