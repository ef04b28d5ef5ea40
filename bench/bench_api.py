"""Local API latency on 127.0.0.1: median of several runs of N requests each, per endpoint.

    python3 bench/bench_api.py
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentinel.config.model import ApiSettings, Config, DiscordSettings, save_config  # noqa: E402
from sentinel.services.web.api import ApiServer, ensure_api_token  # noqa: E402

RUNS, REQUESTS = 5, 200


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = Config(discord_settings=DiscordSettings(
            webhook_alerts="http://127.0.0.1:9/api/webhooks/1/BenchTokenBenchTokenBenchToken"))
        save_config(config, root / "config.json", root / "backups")
        token = ensure_api_token(root)
        rows = [{"cause": "ROUTER_DOWN", "start": "2026-01-01 10:00:00", "n": i} for i in range(1000)]
        server = ApiServer(ApiSettings(port=0), token, status=lambda: {"configured": True, "pcs": list(range(20))},
                           incidents=lambda limit: rows[:limit], sessions=lambda limit: rows[:limit],
                           current_config=lambda: config, config_path=root / "config.json",
                           backup_dir=root / "backups")
        server.start()
        port = server.address[1]
        headers = {"Authorization": f"Bearer {token}"}
        body = json.dumps(config.masked_dict())

        def call(method, path, payload=None, extra=None):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path, body=payload, headers={**headers, **(extra or {})})
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp.status

        cases = [
            ("GET /api/status", lambda n: call("GET", "/api/status")),
            ("GET /api/config", lambda n: call("GET", "/api/config")),
            ("GET /api/incidents?limit=1000", lambda n: call("GET", "/api/incidents?limit=1000")),
            ("POST /api/config (changed: backup + atomic write)", lambda n: call(
                "POST", "/api/config", body.replace('"My Cafe"', f'"Cafe {n}"'),
                {"Content-Type": "application/json"})),
            ("GET without token (401)", lambda n: call("GET", "/api/status", extra={"Authorization": "x"})),
        ]
        try:
            for name, fn in cases:
                medians = []
                for run in range(RUNS):
                    times = []
                    for n in range(REQUESTS if "POST" not in name else 40):
                        start = time.perf_counter()
                        fn(run * 1000 + n)
                        times.append(time.perf_counter() - start)
                    medians.append(statistics.median(times))
                print(f"{name:52s} median {statistics.median(medians) * 1000:7.3f} ms "
                      f"(runs {min(medians) * 1000:.3f}..{max(medians) * 1000:.3f} ms)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
