"""Disk full for real: DATA_DIR on a size-limited tmpfs that fills during an upload. The upload fails
cleanly (507 DISK_FULL), nothing half-written is left, the database stays consistent and the daemon goes
on serving once there is room."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import TERMINAL, Daemon
from tests.reliability.helpers import audio_folders, daemon_on_tmpfs, integrity, read_rows, tone_wav

pytestmark = pytest.mark.slow

SIZE_MB = 6


@pytest.fixture
def small_disk_daemon() -> Iterator[Daemon]:
    yield from daemon_on_tmpfs(SIZE_MB, DISK_THRESHOLD="100")


def test_an_upload_that_fills_the_disk_fails_cleanly(small_disk_daemon: Daemon, tmp_path: Path) -> None:
    daemon = small_disk_daemon
    small = tone_wav(tmp_path / "fake0.01-small.wav")
    first = daemon.submit(small).json()["task_id"]
    assert daemon.wait_for(first, TERMINAL)["status"] == "COMPLETE"
    big = tmp_path / "fake0.01-big.wav"
    big.write_bytes(small.read_bytes()[:44] + os.urandom((SIZE_MB + 2) * 1024 * 1024))
    response = daemon.submit(big)
    assert response.status_code == 507, response.text
    assert response.json()["error"]["code"] == "DISK_FULL"
    assert audio_folders(daemon.data_dir) == {first}, "the half-written upload was removed"
    with daemon.client() as c:
        assert c.get("/health").json()["db_ok"] is True
    after = daemon.submit(small)
    assert after.status_code == 202, after.text
    assert daemon.wait_for(after.json()["task_id"], TERMINAL)["status"] == "COMPLETE"
    daemon.terminate()
    assert integrity(daemon.data_dir / "maie.db") == "ok"
    assert set(read_rows(daemon.data_dir / "maie.db")) == {first, after.json()["task_id"]}
