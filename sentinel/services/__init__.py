"""The wings that consume the monitor's events or run beside it, one subject each.

    discord/    messages, Discord's limits, the durable outbox and its delivery
    recording/  the database and the CSV files: what happened, kept
    keepalive/  the app <-> guard pact (pact: files, staleness, signed exit; watch: restart loop)
                and the app's half of it (partner: heartbeat, watching the guard)
    web/        the one HTTP server: JSON API, live dashboard and login, Prometheus metrics
    screens/    screenshots and privacy mode
    access/     the password vault and lockouts

A wing imports the ground floor (events, config, errors, paths, platform) and never another wing;
the composition root (sentinel/app.py) wires them together.
"""
