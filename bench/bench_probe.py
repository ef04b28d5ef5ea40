"""Prober.probe() and the tick's presence sweep over a whole /24 in a namespace cafe, against
fping on the same addresses, in the same run.

Run as root: python3 bench/bench_probe.py [--runs 5] [--timeout 1.0]
The cafe answers ping on 20 of the 254 addresses (switch .2, monitor .50, 18 PCs) and ARP only
on 10 more (PCs in namespaces of their own that drop echo requests, like Windows' firewall);
the other 224 are silent on-link hosts (ARP never resolves), the worst case for a sweep.
The sweep is Monitor.read() with the /24 as its PC range: ping and the ARP sweep at once.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

ADDRESSES = [f"198.51.100.{n}" for n in range(1, 255)]
ANSWERING_PCS = 18
ARP_ONLY_PCS = 10
INNER_TIMEOUT_S = 120.0


def measure_probe(runs: int, timeout: float) -> dict:
    from sentinel.monitor.probe import Prober

    prober = Prober.create()
    samples = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        results = prober.probe_sync(ADDRESSES, timeout)
        samples.append((time.perf_counter() - wall, time.process_time() - cpu,
                        sum(r.is_alive for r in results.values())))
    return {"privileged": prober.privileged, "samples": samples}


def measure_sweep(runs: int, timeout: float) -> dict:
    import asyncio

    from sentinel.bus import EventBus
    from sentinel.config.model import config_from_dict
    from sentinel.monitor import core
    from sentinel.monitor.engine import Monitor
    from sentinel.monitor.probe import Prober
    from sentinel.platform import arp_seen

    config, problems = config_from_dict({
        "monitor_settings": {"pc_subnet": "198.51.100", "pc_start_range": 1, "pc_count": 254,
                             "ping_timeout_seconds": timeout}})
    assert not problems, problems
    monitor = Monitor(config, Prober.create(), EventBus(), core.State(), arp=arp_seen)
    samples = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        reading = asyncio.run(monitor.read())
        samples.append((time.perf_counter() - wall, time.process_time() - cpu,
                        len(reading.pcs_alive), len(reading.pcs_arp)))
    return {"samples": samples}


def measure_fping(runs: int, timeout: float, extra: list[str]) -> dict:
    argv = ["fping", "-q", "-c1", f"-t{int(timeout * 1000)}", *extra, *ADDRESSES]
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=INNER_TIMEOUT_S, check=False)
        elapsed = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        alive = sum(1 for line in proc.stderr.splitlines() if "1/1/0%" in line)
        samples.append((elapsed, cpu, alive))
    return {"argv": " ".join(argv[:5 + len(extra)]) + " <254 addresses>", "samples": samples}


def run_inner(cafe, what: str, runs: int, timeout: float, unprivileged: bool = False) -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--inner", what,
            "--runs", str(runs), "--timeout", str(timeout)]
    proc = cafe.run_in_mon(argv, unprivileged=unprivileged, cwd=REPO_ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=INNER_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"inner {what} failed:\n{stderr}")
    return json.loads(stdout.strip().splitlines()[-1])


def summary(label: str, samples: list) -> tuple[float, str]:
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    alive = sorted({s[2] for s in samples})
    wall = statistics.median(walls)
    return wall, (f"{label:<34} wall median {wall:6.3f} s (min {min(walls):.3f}, max {max(walls):.3f})"
                  f"  cpu median {statistics.median(cpus):.3f} s  alive {alive}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--inner", choices=["probe", "sweep", "fping", "fping-i0"])
    args = parser.parse_args()

    if args.inner == "probe":
        print(json.dumps(measure_probe(args.runs, args.timeout)))
        return 0
    if args.inner == "sweep":
        print(json.dumps(measure_sweep(args.runs, args.timeout)))
        return 0
    if args.inner in ("fping", "fping-i0"):
        extra = ["-i", "0"] if args.inner == "fping-i0" else []
        print(json.dumps(measure_fping(args.runs, args.timeout, extra)))
        return 0

    from tests.helpers import netns

    reason = netns.netns_unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    arp_only = range(ANSWERING_PCS + 1, ANSWERING_PCS + ARP_ONLY_PCS + 1)
    with netns.Cafe.create("bench", pcs=ANSWERING_PCS + ARP_ONLY_PCS, own_namespace_pcs=arp_only) as cafe:
        cafe.set_up(netns.ROUTER, False)
        cafe.set_up(netns.SERVER, False)
        for n in arp_only:
            cafe.set_echo_ignored(n, True)
        print(f"{len(ADDRESSES)} addresses, {ANSWERING_PCS + 2} answering ping, {ARP_ONLY_PCS} ARP only, "
              f"timeout {args.timeout} s, median of {args.runs} runs, inside namespace {cafe.mon}")
        sweep = run_inner(cafe, "sweep", args.runs, args.timeout)
        raw = run_inner(cafe, "probe", args.runs, args.timeout)
        dgram = run_inner(cafe, "probe", args.runs, args.timeout, unprivileged=True)
        fping = run_inner(cafe, "fping", args.runs, args.timeout)
        fping_i0 = run_inner(cafe, "fping-i0", args.runs, args.timeout)
        sweep_wall, line = summary("sweep: read() ping+ARP", [s[:3] for s in sweep["samples"]])
        print(line + f"  seen by ARP only {sorted({s[3] for s in sweep['samples']})}")
        raw_wall, line = summary(f"probe() privileged={raw['privileged']}", raw["samples"])
        print(line)
        dgram_wall, line = summary(f"probe() privileged={dgram['privileged']}", dgram["samples"])
        print(line)
        fping_wall, line = summary("fping -c1 -t1000", fping["samples"])
        print(line)
        fping_i0_wall, line = summary("fping -c1 -t1000 -i 0", fping_i0["samples"])
        print(line)
        ratio = sweep_wall / fping_wall
        print(f"sweep / fping -c1 -t1000: {ratio:.2f}x (target <= 0.40: {'met' if ratio <= 0.4 else 'MISSED'})")
        print(f"ratio fping / probe(): privileged {fping_wall / raw_wall:.2f}x, "
              f"unprivileged {fping_wall / dgram_wall:.2f}x; "
              f"fping -i 0 / probe() privileged {fping_i0_wall / raw_wall:.2f}x")
        target = 1.3 * args.timeout
        worst = max(raw_wall, dgram_wall)
        print(f"target probe() <= {target:.2f} s wall: {'met' if worst <= target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
