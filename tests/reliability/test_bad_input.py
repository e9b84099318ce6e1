"""Malformed media against the real daemon: every file gets a 4xx at upload or a FAILED task with the
right error_code within a bounded time, no local file is opened through a playlist, an over-size upload
sent slowly is cut off early, and the daemon keeps serving others meanwhile."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from maied.worker.test_hooks import fake_transcript
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.reliability.corpus import build_corpus, make_fifo
from tests.reliability.helpers import audio_folders, tone_wav
from tests.reliability.hostile import HealthMonitor

pytestmark = pytest.mark.slow

BOUND_SECONDS = 30.0  # upload answer + task end, per file
ENV = {"MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none", "MAX_FILE_SIZE_MB": "1", "JOB_TIMEOUT": "60"}


def _fifo_has_reader(fifo: Path) -> bool:
    """Opening a FIFO for writing without blocking fails with ENXIO unless someone holds it open to read."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


def _outcome(daemon: Daemon, path: Path) -> str:
    response = daemon.submit(path)
    if response.status_code != 202:
        assert 400 <= response.status_code < 500, (path.name, response.status_code, response.text)
        assert response.json()["error"]["code"], response.text
        return str(response.status_code)
    body = daemon.wait_for(response.json()["task_id"], TERMINAL, timeout=BOUND_SECONDS)
    if body["status"] == "COMPLETE":
        assert body["results"]["raw_transcript"] == fake_transcript(body["task_id"])
        return "COMPLETE"
    return f"{body['status']}:{body['error_code']}"


def test_malformed_media_corpus(tmp_path: Path) -> None:
    fifo = make_fifo(Path(str(tmp_path)) / "never-read.fifo")
    corpus = build_corpus(tmp_path, fifo)
    wrong: dict[str, str] = {}
    with running_daemon(**ENV) as daemon, HealthMonitor(daemon) as monitor:
        for case in corpus:
            path = tmp_path / f"fake0.01-{case.name}"
            path.write_bytes(case.data)
            started = time.monotonic()
            outcome = _outcome(daemon, path)
            assert time.monotonic() - started < BOUND_SECONDS, case.name
            if outcome not in case.allowed:
                wrong[case.name] = outcome
            assert not _fifo_has_reader(fifo), f"{case.name}: something opened the playlist's target"
        with daemon.client() as c:
            assert c.get("/health").json()["db_ok"] is True
            tasks = c.get("/v1/tasks", params={"limit": 500}).json()["tasks"]
        assert audio_folders(daemon.data_dir) <= {t["task_id"] for t in tasks}, "refused uploads leave no file"
    assert not wrong, f"unexpected outcomes: {wrong}"
    monitor.assert_responsive()
    print(f"\nbad input: {len(corpus)} malformed files, every one refused (4xx) or FAILED with its code")


def _slow_upload(sock_path: Path, total: int, chunk: int, pause: float) -> tuple[int, bytes]:
    """Send a chunked multipart upload slowly over a raw socket; return (bytes sent when the daemon
    answered, the answer). Stops sending as soon as an answer is readable."""
    head = (b"POST /v1/process HTTP/1.1\r\nHost: maied\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=maieboundary\r\n\r\n")
    part = (b"--maieboundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fake-big.wav\"\r\n"
            b"Content-Type: audio/wav\r\n\r\nRIFF\x00\x00\x00\x00WAVE")
    sent = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(sock_path))
        sock.sendall(head + b"%x\r\n%s\r\n" % (len(part), part))
        while sent < total:
            readable, _, _ = select.select([sock], [], [], pause)  # the pause of a slow client
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (chunk, b"\x00" * chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += chunk
        sock.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < 200:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return sent, answer


def test_oversize_upload_sent_slowly_is_cut_off_and_others_are_served(tmp_path: Path) -> None:
    other = tone_wav(tmp_path / "fake0.01-other.wav")
    total, chunk = 8 * 1024 * 1024, 64 * 1024  # 8 MB against MAX_FILE_SIZE_MB=1, 64 KB each 20 ms
    result: dict[str, tuple[int, bytes]] = {}
    with running_daemon(**ENV) as daemon:
        thread = threading.Thread(target=lambda: result.setdefault(
            "r", _slow_upload(daemon.socket, total, chunk, 0.02)))
        thread.start()
        with daemon.client() as c:  # served while the slow upload streams
            t0 = time.monotonic()
            assert c.get("/health").status_code == 200
            assert time.monotonic() - t0 < 2.0
        task_id = daemon.submit(other).json()["task_id"]
        assert daemon.wait_for(task_id, TERMINAL, timeout=30)["status"] == "COMPLETE"
        thread.join(timeout=120)
        assert not thread.is_alive()
        sent, answer = result["r"]
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert b"FILE_TOO_LARGE" in answer
        assert sent < 2 * 1024 * 1024, f"the daemon let {sent} bytes of an over-size upload in before refusing"
        assert audio_folders(daemon.data_dir) == {task_id}, "the refused upload left nothing on disk"
