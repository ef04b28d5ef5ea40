"""Hand-built MonitorStatus values (a fake network) for GUI tests, screenshots and benchmarks."""

from __future__ import annotations

from sentinel.events import Component, Health, MonitorStatus, PcState, PcStatus, TargetStatus

NOW = 1_715_000_000.0  # a fixed wall time; tests pass it as "now"

ADDRESSES = {Component.ROUTER: "198.51.100.1", Component.SERVER: "198.51.100.2",
             Component.INTERNET: "203.0.113.53"}


def targets(router=Health.UP, server=Health.UP, internet=Health.UP, *, now=NOW, down_for=0.0):
    """Three TargetStatus rows; failing ones have been failing for `down_for` seconds."""
    out = []
    for component, health, latency in ((Component.ROUTER, router, 1.2), (Component.SERVER, server, 0.8),
                                       (Component.INTERNET, internet, 23.6)):
        if health is Health.UP:
            since, lat = now - 3 * 3600, latency
        elif health is Health.UNCONFIGURED:
            since, lat = None, None
        else:
            since, lat = now - down_for, None
        address = "" if health is Health.UNCONFIGURED else ADDRESSES[component]
        out.append(TargetStatus(component, address, health, since, lat))
    return tuple(out)


def pcs(count, *, in_session=(), seen=(), now=NOW, names=None, session_minutes=None):
    """`count` PCs 198.51.100.110..; indexes (1-based) in `in_session` / `seen`, others off."""
    in_session, seen = set(in_session), set(seen)
    out = []
    for n in range(1, count + 1):
        ip = f"198.51.100.{109 + n}" if n <= 145 else f"198.51.101.{n - 145}"
        name = (names or {}).get(n, f"PC-{n}")
        if n in in_session:
            minutes = session_minutes(n) if session_minutes else 7 + 13 * n
            state, since, last = PcState.IN_SESSION, now - minutes * 60, now
        elif n in seen:
            state, since, last = PcState.SEEN, now - 60, now
        else:
            state, since, last = PcState.OFF, now - 7200, now - 7200
        out.append(PcStatus(n, name, ip, state, since, 1.0 if state is not PcState.OFF else None, last))
    return tuple(out)


def status(*, at=NOW, configured=True, frozen=False, link_up=True, blips=0, targets_=None, pcs_=()):
    return MonitorStatus(at_wall=at, configured=configured, link_up=link_up, frozen=frozen,
                         targets=targets_ if targets_ is not None else targets(now=at), pcs=pcs_, blips=blips)


def normal(at=NOW):
    return status(at=at, blips=2, pcs_=pcs(12, in_session=(1, 2, 3, 5, 8, 9), seen=(4,), now=at), )


def outage(at=NOW):
    """Router down for 3.5 minutes, internet unknown behind it, sessions frozen."""
    return status(at=at, frozen=True, blips=3,
                  targets_=targets(Health.DOWN, Health.UP, Health.UNKNOWN, now=at, down_for=210),
                  pcs_=pcs(12, in_session=(1, 2, 3, 5, 8, 9), seen=(4,), now=at))


def twenty_in_session(at=NOW):
    names = {1: "VIP-1", 2: "VIP-2", 3: "VIP-3", 4: "VIP-4", 20: "Streaming-Booth"}
    return status(at=at, blips=1, pcs_=pcs(20, in_session=range(1, 21), now=at, names=names))


def many(count=254, at=NOW, in_session=(), seen=()):
    return status(at=at, pcs_=pcs(count, in_session=in_session, seen=seen, now=at))
