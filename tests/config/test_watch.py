"""Hot reload with a data dir that cannot be written: a valid edit still applies (real tmpfs)."""

from __future__ import annotations

import json

import pytest

from sentinel.bus import EventBus
from sentinel.config.model import parse_config
from sentinel.config.watch import ConfigWatcher
from sentinel.events import ConfigReloaded
from tests.helpers.tmpfs import Tmpfs


def config_bytes(shop: str) -> bytes:
    return json.dumps({"discord_settings": {"shop_name": shop}}).encode()


@pytest.mark.needs_root
@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_a_valid_edit_applies_while_the_last_good_copy_cannot_be_written(tmp_path, trouble, caplog):
    config_path = tmp_path / "config.json"  # beside the program, not in the data dir
    config_path.write_bytes(config_bytes("Before"))
    with Tmpfs(tmp_path / "data", size_kib=256) as disk:
        last_good = disk.path / "last_good_config.json"
        last_good.write_bytes(config_bytes("Before"))
        bus = EventBus()
        reloaded = []
        bus.subscribe(lambda e: reloaded.append(e) if isinstance(e, ConfigReloaded) else None)
        watcher = ConfigWatcher(config_path, parse_config(config_bytes("Before"))[0], bus,
                                config_bytes("Before"), last_good)
        disk.read_only(True) if trouble == "read-only" else disk.fill()

        config_path.write_bytes(config_bytes("After, a longer name than before"))
        watcher.check()
        assert [e.config.discord_settings.shop_name for e in reloaded] == ["After, a longer name than before"]
        assert watcher.config.discord_settings.shop_name == "After, a longer name than before"
        watcher.check()
        watcher.check()
        assert sum("cannot save last_good_config.json" in r.message for r in caplog.records) == 1
        assert json.loads(last_good.read_bytes())["discord_settings"]["shop_name"] == "Before"

        disk.read_only(False) if trouble == "read-only" else disk.free()
        watcher.check()
        assert json.loads(last_good.read_bytes())["discord_settings"]["shop_name"] == \
            "After, a longer name than before"
        assert len(reloaded) == 1
