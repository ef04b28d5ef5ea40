"""CafeSentinel monitor: python sentinel_app.py --help"""

import sys

from sentinel.app import main

if __name__ == "__main__":
    sys.exit(main())
