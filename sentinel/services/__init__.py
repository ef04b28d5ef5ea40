"""Everything that consumes the monitor's events or runs beside it: storage, Discord, screenshots, vault, API."""
