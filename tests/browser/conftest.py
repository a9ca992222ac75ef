"""Fixtures of the browser tests: Chromium, or a reason why not."""

from __future__ import annotations

import os

import pytest
from cdp import Chromium


@pytest.fixture
def chromium_available() -> None:
    """Skip with a reason when Chromium is absent on a developer machine; with ``CI`` set its absence
    is a failure (CI installs it, see ``.ci/run``)."""
    if Chromium.path() is not None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("chromium is not installed (CI must install it: apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")
