"""The disk fills while a task runs (a real SQLite on a real, tiny tmpfs): the supervisor keeps the
result, /health says unhealthy while the store refuses writes, and once space is freed the task is
recorded COMPLETE by itself and later tasks run. Several uploads at once cannot pass DISK_THRESHOLD
together: each reserves what it may write."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import TERMINAL, Daemon
from tests.reliability.helpers import daemon_on_tmpfs, integrity, tone_wav
from tests.reliability.hostile import HealthMonitor, later_task_completes

pytestmark = pytest.mark.slow

SIZE_MB = 8


@pytest.fixture
def full_disk_daemon() -> Iterator[Daemon]:
    yield from daemon_on_tmpfs(SIZE_MB, DISK_THRESHOLD="100")


def _fill(path: Path) -> None:
    """Write until the filesystem says ENOSPC."""
    with open(path, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _health(daemon: Daemon) -> dict:
    with daemon.client() as c:
        return c.get("/health").json()


def test_store_full_while_a_task_finishes_keeps_the_result_and_resumes(full_disk_daemon: Daemon,
                                                                       tmp_path: Path) -> None:
    daemon = full_disk_daemon
    filler = daemon.data_dir / "filler"
    with HealthMonitor(daemon) as monitor:
        task_id = daemon.submit(tone_wav(tmp_path / "fake2-fills.wav")).json()["task_id"]
        daemon.wait_for(task_id, {"PROCESSING_ASR"}, timeout=60)
        _fill(filler)
        deadline = time.monotonic() + 30
        while _health(daemon)["status"] != "unhealthy":
            assert time.monotonic() < deadline, "/health never said the store cannot be written"
            time.sleep(0.25)
        health = _health(daemon)
        assert health["db_ok"] is False
        assert daemon.status(task_id)["status"] != "COMPLETE"
        filler.unlink()  # space returns: the kept result is written by itself
        body = daemon.wait_for(task_id, TERMINAL, timeout=90)
        assert body["status"] == "COMPLETE", body
        assert _health(daemon)["status"] == "healthy"
        later_task_completes(daemon, tmp_path)
    assert "unhealthy" in monitor.statuses
    monitor.assert_responsive()
    daemon.terminate()
    assert integrity(daemon.data_dir / "maie.db") == "ok"


@pytest.fixture
def threshold_daemon() -> Iterator[Daemon]:
    yield from daemon_on_tmpfs(SIZE_MB, DISK_THRESHOLD="60", MAX_FILE_SIZE_MB="1")


def _open_upload(daemon: Daemon, size: int) -> socket.socket:
    """An upload that announces `size` bytes and sends only its headers and the first bytes."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(daemon.socket))
    head = (b"POST /v1/process HTTP/1.1\r\nHost: maied\r\nContent-Length: %d\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
            b"Content-Disposition: form-data; name=\"file\"; filename=\"fake-x.wav\"\r\n\r\nRIFF" % size)
    sock.sendall(head)
    return sock


def _answer(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    try:
        return sock.recv(4096)
    except TimeoutError:
        return b""


def test_uploads_in_flight_reserve_their_size(threshold_daemon: Daemon) -> None:
    daemon = threshold_daemon
    size = 1024 * 1024 - 4096  # under MAX_FILE_SIZE_MB: each may write about 1 MB of the 8 MB disk
    socks = [_open_upload(daemon, size) for _ in range(8)]
    try:
        answers = [_answer(s, 2.0) for s in socks]
    finally:
        for s in socks:
            s.close()
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 507")]
    waiting = [a for a in answers if a == b""]
    print(f"\n8 uploads of 1 MB in flight on an {SIZE_MB} MB disk at DISK_THRESHOLD=60: "
          f"{len(waiting)} admitted, {len(refused)} refused 507")
    assert refused and waiting, answers
    assert len(waiting) <= 0.6 * SIZE_MB, "more uploads admitted than the threshold leaves room for"
