"""Checks against a REAL tenant: skipped unless ZOOMAUDIT_LIVE=1 and credentials are configured.

Run them by hand with credentials in the environment or .env (never in CI):
``ZOOMAUDIT_LIVE=1 .venv/bin/pytest -m live tests/test_live.py``. They only read.
"""

from __future__ import annotations

import os

import pytest

from zoomaudit import snapshot
from zoomaudit.config import Settings

pytestmark = pytest.mark.live


@pytest.fixture
def live_settings():
    if os.environ.get("ZOOMAUDIT_LIVE") != "1":
        pytest.skip("live-tenant test: set ZOOMAUDIT_LIVE=1 and real credentials to run it")
    settings = Settings.from_env()
    if not (settings.has_graph_credentials and settings.has_zoom_credentials):
        pytest.skip("live-tenant test: Graph and Zoom credentials are not configured")
    return settings


def test_live_check_reaches_both_services(live_settings):
    from zoomaudit.check import check

    results = check(live_settings)
    assert results, "check returned nothing"


def test_live_pull_is_complete_and_loads(live_settings, tmp_path):
    from zoomaudit.pull import pull

    path = pull(live_settings, out=tmp_path, since_days=7)
    snap = snapshot.load(path)
    assert snap.complete
    for table, counts in snap.manifest["counts"].items():
        if counts.get("expected") is not None:
            assert counts["expected"] == counts["received"], table
