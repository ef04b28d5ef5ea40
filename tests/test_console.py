"""The --headless lines for the round-2 alerts."""

from sentinel.console import describe
from sentinel.events import Component, ComponentUnstable, IncidentReminder


def test_reminder_and_unstable_lines():
    reminder = IncidentReminder("k", Component.INTERNET, 1000.0, 4600.4, 3600.4)
    assert describe(reminder) == "Internet still DOWN (1:00:00)"
    unstable = ComponentUnstable(Component.ROUTER, 3, 600.0, 1000.0, 1400.0)
    assert describe(unstable) == "Router UNSTABLE: 3 blips within 10 min"
