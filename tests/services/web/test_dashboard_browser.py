"""The dashboard in a real headless Chromium against the real server: login, live updates over
server-sent events, reconnection, settings and log viewer; screenshots at phone and laptop widths
(dashboard-*.png: docs/screenshots with SENTINEL_UPDATE_SCREENSHOTS=1; look at them after changes)."""

from __future__ import annotations

import json
import time

import pytest

from sentinel.events import ConfigRejected, ConfigReloaded, Health
from tests.helpers import browser as chromium
from tests.helpers.web_scene import ADMIN_PASSWORD, Scene
from tests.helpers.xvfb import screenshot_dir

pytestmark = pytest.mark.timeout(120)
LIVE_S = 2.0  # the promise: a change in the monitor shows within 2 s, without a reload


@pytest.fixture
def scene(tmp_path):
    built = Scene(tmp_path)
    built.replay_morning()
    yield built
    built.close()


@pytest.fixture
def page():
    chromium.skip_unless_available()
    with chromium.Browser(1280, 900) as b:
        yield b


def log_in(page, scene) -> None:
    page.go(scene.url + "/")
    page.wait("!document.getElementById('login').hidden", what="the login form")
    page.run("document.getElementById('password').value = arguments[0];"
             "document.getElementById('login-form').requestSubmit();", ADMIN_PASSWORD)
    page.wait("document.querySelectorAll('#infra .row').length === 3", what="three infra rows")


def test_dashboard_renders_and_follows_the_monitor_live(page, scene):
    log_in(page, scene)
    rows = page.run("return [...document.querySelectorAll('#infra .row')].map(r => r.className + ' ' + "
                    "r.querySelector('.name').textContent);")
    assert rows == ["row up Router", "row up Server", "row up Internet"]
    assert page.run("return document.getElementById('shop').textContent;") == "Riverside LAN"
    assert page.run("return document.querySelectorAll('#pcs .tile').length;") == 20
    in_session = scene.board.as_dict()["monitor"]["pcs_in_session"]
    assert page.run("return document.querySelectorAll('#pcs .tile.in_session').length;") == in_session
    assert "ARP" in page.run("return document.getElementById('pcs').textContent;")
    segments = page.run("return [...document.querySelectorAll('.tl[data-component=server] .seg')]"
                        ".map(s => s.className);")
    assert "seg down" in segments, segments
    assert "Server" in page.run("return document.getElementById('incidents').textContent;")
    page.run("window.reloads = (window.reloads || 0) + 1;")  # survives only if the page is not reloaded

    started = time.monotonic()
    scene.publish(scene.status(time.time(), internet=Health.DOWN, in_session=3))
    page.wait("document.querySelector('#infra .row[data-component=internet]').classList.contains('down')",
              timeout=LIVE_S, what="internet DOWN within 2 s")
    assert time.monotonic() - started < LIVE_S
    assert page.run("return document.querySelectorAll('#pcs .tile.in_session').length;") == 3
    assert page.run("return window.reloads;") == 1, "updated without a reload"
    assert page.run("return document.getElementById('overall').className;") == "dot down"

    scene.publish(ConfigRejected((("monitor_settings.pc_count", "must be from 0 to 254 (got 300)"),)))
    banner = page.wait("!document.getElementById('problems').hidden && "
                       "document.getElementById('problems').textContent", timeout=LIVE_S, what="the config problem")
    assert "monitor_settings.pc_count: must be from 0 to 254" in banner
    scene.publish(ConfigReloaded(scene.config, ("monitor_settings",)))
    page.wait("document.getElementById('problems').hidden", timeout=LIVE_S, what="the problem gone after a fix")

    save_screenshots(page, scene)


def save_screenshots(page, scene) -> None:
    scene.publish(scene.status(time.time(), server=Health.DOWN, in_session=8))
    page.wait("document.querySelector('#infra .row[data-component=server]').classList.contains('down')")
    out = screenshot_dir()
    page.screenshot(out / "dashboard-laptop.png", 1280)
    page.screenshot(out / "dashboard-phone.png", 390, mobile=True)
    assert page.run("return window.innerWidth;") == 390
    assert page.run("return document.documentElement.scrollWidth;") <= 390, "nothing wider than a phone"


def test_a_dropped_connection_reconnects_by_itself(page, scene):
    log_in(page, scene)
    port = scene.api.address[1]
    scene.api.stop()  # every connection drops, as when the cafe PC restarts its server
    page.wait("!document.getElementById('live').hidden", what="the 'reconnecting' notice")
    settings = scene.api._settings
    scene.api._settings = type(settings)(enabled=True, bind="127.0.0.1", port=port)
    assert scene.api.start()
    scene.publish(scene.status(time.time(), router=Health.DOWN))
    page.wait("document.querySelector('#infra .row[data-component=router]').classList.contains('down')",
              timeout=15, what="the new picture after reconnecting")
    assert page.run("return document.getElementById('live').hidden;") is True


def test_settings_use_the_desktop_form_show_problems_by_field_and_keep_tokens(page, scene):
    log_in(page, scene)
    page.go(scene.url + "/#settings")
    page.wait("document.getElementById('f-monitor_settings.pc_count')", what="the settings form")
    tabs = page.run("return [...document.querySelectorAll('#settings-form .tab')].map(t => t.textContent);")
    assert tabs[:3] == ["Network", "PCs", "Discord"], tabs
    assert page.run("return document.querySelector('label[for=\"f-monitor_settings.pc_count\"]').textContent;") \
        == "Number of PCs"
    assert "SceneSecret" not in page.run("return document.body.innerHTML;")
    assert page.run("return document.getElementById('f-discord_settings.webhook_alerts').value;").endswith("/***")
    page.run("document.querySelector('#settings-form .tab[data-tab=\"5\"]').click();"
             "document.getElementById('f-monitor_settings.pc_count').value = '300';"
             "document.getElementById('f-schedule_settings.days.mon').value = '25:00-02:00';"
             "document.getElementById('save').click();")
    problem = page.wait("document.getElementById('e-monitor_settings.pc_count').textContent", what="the field's problem")
    assert problem.startswith("Must be") and "you typed 300" in problem, "the desktop's plain words"
    assert page.wait("document.getElementById('e-schedule_settings.days').textContent", what="a day's problem")
    assert page.run("return document.querySelector('#settings-form .tab.active').textContent;") == "PCs", \
        "the first problem's tab is shown"
    assert "Not saved" in page.run("return document.getElementById('save-result').textContent;")
    assert '"pc_count": 300' not in scene.config_path.read_text()
    page.run("document.getElementById('f-monitor_settings.pc_count').value = '12';"
             "document.getElementById('f-schedule_settings.days.mon').value = '10:00-02:00';"
             "document.getElementById('f-discord_settings.shop_name').value = 'Riverside LAN 2';"
             "document.getElementById('f-monitor_settings.pc_names').value += '\\n198.51.100.121 = Streamer';"
             "document.getElementById('save').click();")
    page.wait("document.getElementById('save-result').textContent.startsWith('Saved')", what="saved")
    saved = json.loads(scene.config_path.read_text())
    assert saved["monitor_settings"]["pc_count"] == 12 and saved["discord_settings"]["shop_name"] == "Riverside LAN 2"
    assert saved["monitor_settings"]["pc_names"]["198.51.100.121"] == "Streamer"
    assert saved["schedule_settings"]["days"]["mon"] == "10:00-02:00"
    assert "SceneSecret" in saved["discord_settings"]["webhook_alerts"], "the masked webhook was kept"
    page.screenshot(screenshot_dir() / "dashboard-settings.png", 900)


def test_log_viewer_masks_tokens_and_logout_ends_the_session(page, scene):
    log_in(page, scene)
    page.go(scene.url + "/#logs")
    text = page.wait("document.getElementById('log-text').textContent", what="the log lines")
    assert "CafeSentinel running" in text and "/webhooks/123456/***" in text and "SceneSecret" not in text
    page.run("document.getElementById('logout').click();")
    page.wait("!document.getElementById('login').hidden", what="back at the login form")
    status = page.run_async("const done = arguments[arguments.length - 1];"
                            "fetch('/api/logs').then(r => done(r.status));")
    assert status == 401
