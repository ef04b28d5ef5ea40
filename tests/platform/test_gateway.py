"""Default-gateway parsers: pure text in, address out (nothing is sent anywhere)."""

from __future__ import annotations

from sentinel.platform.gateway import parse_ipconfig, parse_proc_net_route, parse_route_print, subnet_of

PROC_ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0164A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
"""

ROUTE_PRINT = """\
===========================================================================
Interface List
 12...00 15 5d 01 02 03 ......Intel(R) Ethernet Connection
  1...........................Software Loopback Interface 1
===========================================================================

IPv4 Route Table
===========================================================================
Active Routes:
Network Destination        Netmask          Gateway       Interface  Metric
          0.0.0.0          0.0.0.0      192.168.0.1    192.168.0.50     50
          0.0.0.0          0.0.0.0      192.168.1.1    192.168.1.20     25
        127.0.0.0        255.0.0.0         On-link         127.0.0.1    331
      192.168.1.0    255.255.255.0         On-link      192.168.1.20    281
===========================================================================
Persistent Routes:
  Network Address          Netmask  Gateway Address  Metric
          0.0.0.0          0.0.0.0       10.0.0.254  Default
===========================================================================
"""

IPCONFIG = """\
Windows IP Configuration


Ethernet adapter Ethernet:

   Connection-specific DNS Suffix  . :
   Link-local IPv6 Address . . . . . : fe80::1c2b:3d4e:5f60:7a8b%12
   IPv4 Address. . . . . . . . . . . : 192.168.1.20
   Subnet Mask . . . . . . . . . . . : 255.255.255.0
   Default Gateway . . . . . . . . . : fe80::1%12
                                       192.168.1.1
"""

IPCONFIG_GERMAN = """\
Ethernet-Adapter Ethernet:

   Verbindungsspezifisches DNS-Suffix:
   IPv4-Adresse  . . . . . . . . . . : 10.1.2.30
   Subnetzmaske  . . . . . . . . . . : 255.255.255.0
   Standardgateway . . . . . . . . . : 10.1.2.1
"""


def test_proc_net_route_lowest_metric_default():
    assert parse_proc_net_route(PROC_ROUTE) == "192.168.1.1"


def test_proc_net_route_without_default():
    lines = PROC_ROUTE.splitlines()
    assert parse_proc_net_route("\n".join([lines[0], lines[3]])) is None
    assert parse_proc_net_route("") is None
    assert parse_proc_net_route("garbage\nmore garbage here x y z w v u") is None


def test_route_print_active_routes_only():
    assert parse_route_print(ROUTE_PRINT) == "192.168.1.1"
    persistent_only = ROUTE_PRINT.replace("192.168.0.1    192.168.0.50     50", "").replace(
        "192.168.1.1    192.168.1.20     25", "")
    assert parse_route_print(persistent_only) is None


def test_ipconfig_skips_ipv6_gateway():
    assert parse_ipconfig(IPCONFIG) == "192.168.1.1"
    assert parse_ipconfig(IPCONFIG_GERMAN) == "10.1.2.1"
    assert parse_ipconfig("Default Gateway . . . . . . . . . :\n") is None


def test_subnet_of():
    assert subnet_of("192.168.1.1") == "192.168.1"
    assert subnet_of("fe80::1") is None
    assert subnet_of(None) is None
