"""CafeSentinel guard entry point: python sentinel_guard.py [--config PATH] [--data-dir DIR] [--app-cmd ...]"""

import sys

from sentinel.guard import main

if __name__ == "__main__":
    sys.exit(main())
