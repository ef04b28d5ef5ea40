"""CafeSentinel: network and occupancy monitor for internet cafes and LAN centers."""

__version__ = "1.0.0"
