"""The one exception tree. Errors meant for the owner carry a message built here."""


class SentinelError(Exception):
    """Root of every error CafeSentinel raises on purpose."""


class UserError(SentinelError):
    """Something the owner can fix (bad flag, unreadable path); shown without a traceback."""


class ConfigError(UserError):
    """A config file that cannot be used; `problems` lists (json_path, message)."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = [f"{path}: {message}" if path else message for path, message in self.problems]
        super().__init__("invalid config:\n  " + "\n  ".join(lines))


class PingPermissionError(UserError):
    """Neither raw nor datagram ICMP sockets can be opened by this process."""


class AlreadyRunningError(UserError):
    """Another instance of the same role holds the single-instance lock."""
