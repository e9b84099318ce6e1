"""A supervisor coroutine that has ended is seen: /health answers 503 unhealthy and the systemd watchdog
ping is withheld (a real Daemon object, a real notify socket, the real health route)."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from maied.api.app import create_app
from maied.api.changes import ChangeNotifier
from maied.api.context import ApiContext, DaemonFacts
from maied.daemon import Daemon
from maied.settings import Settings


async def _scenario(tmp_path: Path, notify: socket.socket) -> tuple[int, str, list[str]]:
    daemon = Daemon(Settings(DATA_DIR=tmp_path, LLM_BACKEND="none"))
    ended = asyncio.get_running_loop().create_future()
    ended.set_result(None)
    daemon.supervising = ended  # the supervisor coroutine has returned
    ctx = ApiContext(daemon.settings, daemon.store, ChangeNotifier(asyncio.get_running_loop()),
                     DaemonFacts(supervisor_alive=daemon._supervisor_alive))
    sock = Path(tempfile.gettempdir()) / f"maie-dead-{uuid.uuid4().hex[:8]}.sock"
    runner = web.AppRunner(create_app(ctx))
    await runner.setup()
    await web.UnixSite(runner, str(sock)).start()
    watchdog = asyncio.ensure_future(daemon._watchdog())
    try:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))) as client, \
                client.get("http://maied/health") as r:
            status, state = r.status, (await r.json())["status"]
        await asyncio.sleep(0.3)  # three watchdog rounds
    finally:
        watchdog.cancel()
        await runner.cleanup()
        daemon.store.close()
        sock.unlink(missing_ok=True)
    pings = []
    while True:
        try:
            pings.append(notify.recv(4096).decode())
        except BlockingIOError:
            break
    return status, state, pings


def test_a_dead_supervisor_is_unhealthy_and_gets_no_watchdog_ping(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(tempfile.gettempdir()) / f"maie-notify-{uuid.uuid4().hex[:8]}.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(path))
    notify.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    try:
        status, state, pings = asyncio.run(_scenario(tmp_path, notify))
    finally:
        notify.close()
        path.unlink(missing_ok=True)
    assert (status, state) == (503, "unhealthy")
    assert not any("WATCHDOG=1" in p for p in pings), pings
