"""The one HTTP server: the JSON API, the live dashboard (SSE) behind a login, and /metrics."""
