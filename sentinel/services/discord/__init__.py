"""Discord, one way through: notifier (bus events) -> messages / reports (every message built)
-> delivery (the one door into the outbox, limits.py checks) -> outbox (SQLite) -> sender
threads (ratelimit decides when, webhook sends); folder_sink stands in for it in the demo."""
