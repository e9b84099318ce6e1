"""Hostile HTTP against the real daemon while /health is read every 0.25 s: compressed bodies (auth
first on TCP, then 415, never inflated), half-sent heads and stalled bodies (closed by their timeouts),
more connections than MAX_CONNECTIONS, a huge cursor and JSON nested thousands deep (4xx). The daemon
stays responsive and a real task completes afterwards."""

from __future__ import annotations

import select
import socket
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.daemon_harness import Daemon, running_daemon
from tests.reliability.hostile import HealthMonitor, later_task_completes

pytestmark = pytest.mark.slow

KEY = "k" * 40
ENV = {"MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none", "SECRET_API_KEY": KEY, "HTTP_HEADER_TIMEOUT": "2",
       "HTTP_BODY_IDLE_TIMEOUT": "2", "MAX_CONNECTIONS": "40"}
INFLATED_BYTES = 1024**3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(INFLATED_BYTES // len(block))) + packer.flush()


def _post_bomb(url: str, bomb: bytes, headers: dict[str, str], transport: httpx.HTTPTransport | None = None) -> int:
    with httpx.Client(transport=transport, timeout=60) as c:
        r = c.post(url, content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json",
                                               **headers})
    return r.status_code


def test_compressed_bodies_are_refused_without_inflating(tmp_path: Path) -> None:
    bomb = _gzip_bomb()
    port = _free_port()
    tcp = f"http://127.0.0.1:{port}/v1/process_text"
    with running_daemon(**ENV, API_PORT=str(port)) as daemon, HealthMonitor(daemon) as monitor:
        with ThreadPoolExecutor(max_workers=20) as pool:
            no_key = list(pool.map(lambda _: _post_bomb(tcp, bomb, {}), range(20)))
            keyed = list(pool.map(lambda _: _post_bomb(tcp, bomb, {"X-API-Key": KEY}), range(20)))
            on_socket = list(pool.map(lambda _: _post_bomb(
                "http://maied/v1/process_text", bomb, {}, httpx.HTTPTransport(uds=str(daemon.socket))), range(20)))
        later_task_completes(daemon, tmp_path)
    print(f"\n{len(bomb)} bytes of gzip (1 GB inflated) x 20 x 3: TCP without key {set(no_key)}, "
          f"TCP with key {set(keyed)}, socket {set(on_socket)}")
    assert set(no_key) == {401} and set(keyed) == {415} and set(on_socket) == {415}
    monitor.assert_responsive()
    assert monitor.peak_rss_mb < 400, "nothing was inflated in the daemon"


def _raw(daemon: Daemon, data: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(daemon.socket))
    if data:
        sock.sendall(data)
    return sock


def _closed_or_answered(sock: socket.socket, timeout: float) -> bytes | None:
    """What the daemon sent before closing (b'' for a bare close); None if it still holds the socket."""
    sock.settimeout(timeout)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return got


def test_connections_that_never_end_are_closed(tmp_path: Path) -> None:
    upload_head = (b"POST /v1/process HTTP/1.1\r\nHost: maied\r\nContent-Length: 100000\r\n"
                   b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\nContent-Disposition: form-data;"
                   b" name=\"file\"; filename=\"fake-x.wav\"\r\n\r\nRIFF")
    with running_daemon(**ENV) as daemon, HealthMonitor(daemon) as monitor:
        half_heads = [_raw(daemon, b"GET /v1/tasks HTTP/1.1\r\nHost: maied\r\nX-Slow: ") for _ in range(10)]
        stalled = [_raw(daemon, upload_head) for _ in range(10)]
        started = time.monotonic()
        heads = [_closed_or_answered(s, 10) for s in half_heads]
        bodies = [_closed_or_answered(s, 10) for s in stalled]
        closed_in = time.monotonic() - started
        flood = [_raw(daemon, b"") for _ in range(60)]  # past MAX_CONNECTIONS=40: the extra ones are closed
        time.sleep(0.5)  # within HTTP_HEADER_TIMEOUT: only the cap can have closed any of them
        readable, _, _ = select.select(flood, [], [], 0)
        refused = sum(1 for s in readable if s.recv(1) == b"")
        for s in [*half_heads, *stalled, *flood]:
            s.close()
        later_task_completes(daemon, tmp_path)
    print(f"\nhalf-sent heads closed: {sum(h is not None for h in heads)}/10, stalled bodies answered: "
          f"{sum(b is not None and b.startswith(b'HTTP/1.1 408') for b in bodies)}/10 within {closed_in:.1f} s; "
          f"60 idle connections over a cap of 40: {refused} closed at once")
    assert all(h is not None for h in heads), "a half-sent head was held past HTTP_HEADER_TIMEOUT"
    assert all(b is not None and b.startswith(b"HTTP/1.1 408") for b in bodies), bodies
    assert 15 <= refused <= 25, "about 20 of 60 connections are past the cap of 40"
    monitor.assert_responsive()


def test_huge_cursor_and_deep_json_are_4xx(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with running_daemon(**ENV) as daemon, HealthMonitor(daemon) as monitor, daemon.client() as c:
        answers = {
            "cursor 10**30": c.get("/v1/tasks", params={"cursor": str(10**30)}).status_code,
            "cursor -1": c.get("/v1/tasks", params={"cursor": "-1"}).status_code,
            "cursor 5000 digits": c.get("/v1/tasks", params={"cursor": "9" * 5000}).status_code,
            "process_text deep": c.post("/v1/process_text", content=deep,
                                        headers={"Content-Type": "application/json"}).status_code,
            "templates deep": c.post("/v1/templates", content=deep,
                                     headers={"Content-Type": "application/json"}).status_code,
            "features deep": c.post("/v1/process_text", json={"text": "x", "features": deep[:5000]}).status_code,
        }
        later_task_completes(daemon, tmp_path)
    print(f"\n{answers}")
    assert all(400 <= s < 500 for s in answers.values()), answers
    monitor.assert_responsive()
