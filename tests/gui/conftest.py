"""Display tests in this folder use the session's one Xvfb (tests/conftest.py explains why)."""

import pytest


@pytest.fixture
def gui_display(xvfb_display):
    yield xvfb_display
