"""The 507 path through the real daemon: above DISK_THRESHOLD, an upload is refused and says why."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from maied.diskusage import disk_used_percent
from tests.e2e.daemon_harness import running_daemon


@pytest.mark.slow
def test_upload_is_refused_with_507_above_the_threshold(sample_wav: Path) -> None:
    used = disk_used_percent(tempfile.gettempdir())
    threshold = max(round(used - 1, 2), 0.01)
    with running_daemon(DISK_THRESHOLD=str(threshold), LLM_BACKEND="none") as daemon:
        response = daemon.submit(sample_wav)
        assert response.status_code == 507, response.text
        error = response.json()["error"]
        assert error["code"] == "DISK_FULL"
        assert "DISK_THRESHOLD" in error["message"] and "%" in error["message"]
        with daemon.client() as client:
            health = client.get("/health").json()
            assert health["disk_used_percent"] == pytest.approx(used, abs=1)
            assert client.get("/v1/tasks").json()["tasks"] == [], "nothing was queued"
