"""The guard has no bus: its reports go into the app's outbox, for the app's sender to deliver."""

from __future__ import annotations

import json

from sentinel.guard import outbox_report
from sentinel.services.discord.outbox import Outbox


def config(tmp_path, enabled: bool):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"discord_settings": {
        "enabled": enabled, "shop_name": "Pixel Cafe",
        "webhook_alerts": "http://127.0.0.1:9/api/webhooks/1/token"}}))
    return path


def test_report_is_queued_on_the_alerts_channel(tmp_path):
    outbox_report(config(tmp_path, True), tmp_path)("monitor was terminated at 14:02:11, restarted in 0.6 s")
    outbox = Outbox(tmp_path / "sentinel.db")
    try:
        message = outbox.head("alerts")
        assert outbox.backlog() == {"alerts": 1}
    finally:
        outbox.close()
    embed = message.payload["embeds"][0]
    assert embed["title"] == "Monitor guard" and "restarted in 0.6 s" in embed["description"]
    assert message.payload["username"] == "Pixel Cafe"


def test_no_discord_no_queue_but_still_logged(tmp_path, caplog):
    outbox_report(config(tmp_path, False), tmp_path)("monitor was terminated")
    assert "monitor was terminated" in caplog.text
    assert not (tmp_path / "sentinel.db").exists()
