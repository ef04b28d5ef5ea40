"""The live status board against the fake Discord: one message, edited in place, reposted when deleted."""

from __future__ import annotations

import pytest

from sentinel.config.model import DiscordSettings
from sentinel.events import Component, Health, MonitorStatus, PcState, PcStatus, TargetStatus
from sentinel.services.discord.delivery import Delivery
from sentinel.services.discord.messages import Message
from sentinel.services.discord.notifier import Notifier
from sentinel.services.discord.outbox import Outbox
from tests.helpers.apprun import wait_until
from tests.helpers.fake_discord import FakeDiscord

pytestmark = pytest.mark.timeout(60)

T0 = 1_700_000_000.0


def status(in_session: int, internet: Health = Health.UP) -> MonitorStatus:
    targets = (TargetStatus(Component.ROUTER, "r", Health.UP, T0 - 60, 1.0),
               TargetStatus(Component.INTERNET, "i", internet, T0 - 60, 5.0))
    pcs = tuple(PcStatus(n, f"PC-{n}", f"ip{n}", PcState.IN_SESSION if n <= in_session else PcState.OFF, None, None)
                for n in range(1, 11))
    return MonitorStatus(T0, True, True, False, targets, pcs, 0)


class Cafe:
    """A notifier on a fake clock feeding a real Delivery (real outbox, real senders)."""

    def __init__(self, db, url: str, clock: list):
        self.clock = clock
        self.delivery = Delivery(Outbox(db), DiscordSettings(enabled=True, shop_name="Board Cafe", webhook_alerts=url),
                                 timeout=(1.0, 1.0), wall_clock=lambda: T0 + clock[0])
        self.notifier = Notifier(self.delivery, clock=lambda: clock[0], wall_clock=lambda: T0 + clock[0])
        self.delivery.start()

    def show(self, event: MonitorStatus, at: float) -> None:
        self.clock[0] = at
        self.notifier.on_event(event)
        self.notifier.flush_due()

    def settled(self) -> None:
        wait_until(lambda: not self.delivery.board().dirty, timeout=10, what="board sent", interval=0.01)

    def close(self) -> None:
        self.delivery.stop()
        self.delivery.close()


def test_board_is_created_once_edited_on_change_at_most_once_a_minute_and_reposted(tmp_path):
    clock = [0.0]
    with FakeDiscord(limit=5, period=2.0) as fake:
        url = fake.url("1")
        cafe = Cafe(tmp_path / "sentinel.db", url, clock)
        try:
            cafe.show(status(1), 0.0)
            (created,) = fake.wait_for(1)  # posted with ?wait=true: we learn its id
            assert created.titles == ["Now: all OK"]
            cafe.settled()
            board_id = cafe.delivery.board().message_id
            assert board_id in fake.posted
            for second in range(1, 60):  # a change every second for a minute: no edit yet
                cafe.show(status(1 + second % 4), float(second))
            assert fake.edits == []
            cafe.show(status(5), 60.0)
            wait_until(lambda: len(fake.edits) == 1, timeout=10, what="first edit", interval=0.01)
            edit = fake.edits[0]
            assert edit.message_id == board_id and edit.payload["allowed_mentions"] == {"parse": []}
            assert "5 / 10" in str(edit.payload["embeds"][0]["fields"])
            for second in range(61, 240):  # nothing changes: nothing is sent
                cafe.show(status(5), float(second))
            assert len(fake.edits) == 1
            fake.delete_message(board_id)  # the owner deletes the board message in Discord
            for i in range(8):  # alerts go first; the board waits its turn in the same bucket
                cafe.delivery.enqueue(Message("alerts", T0 + 240, content=f"alert {i}"))
            cafe.show(status(5, Health.DOWN), 240.0)
            reposted = fake.wait_for(10)[-1]
            assert reposted.titles == ["Now: Internet DOWN"]
            assert [m.content for m in fake.messages()[1:9]] == [f"alert {i}" for i in range(8)]
            cafe.settled()
            new_id = cafe.delivery.board().message_id
            assert new_id != board_id and new_id in fake.posted
        finally:
            cafe.close()
        # A restart keeps editing the same message: its id is in the database.
        cafe = Cafe(tmp_path / "sentinel.db", url, clock)
        try:
            cafe.show(status(2), 400.0)
            wait_until(lambda: len(fake.edits) == 2, timeout=10, what="edit after restart", interval=0.01)
            assert fake.edits[-1].message_id == new_id
        finally:
            cafe.close()
        boards = [m for m in fake.messages() if m.titles and m.titles[0].startswith("Now:")]
        assert len(boards) == 2  # created once, reposted once, never duplicated
        assert fake.stats.rate_limited == 0  # posts and edits share the webhook's bucket, read from its headers


def test_board_off_sends_nothing(tmp_path):
    clock = [0.0]
    with FakeDiscord(limit=5, period=2.0) as fake:
        cafe = Cafe(tmp_path / "sentinel.db", fake.url("1"), clock)
        try:
            cafe.delivery.reconfigure(DiscordSettings(enabled=True, shop_name="Board Cafe",
                                                      webhook_alerts=fake.url("1"), status_board=False))
            cafe.show(status(1), 0.0)
            assert cafe.delivery.board() is None
        finally:
            cafe.close()
        assert fake.messages() == []
