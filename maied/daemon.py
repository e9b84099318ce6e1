"""`maied serve`: the store, the API on its sockets, the supervisor, systemd readiness and watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import grp
import logging
import os
import shutil
import signal
import socket
import stat
import time
from pathlib import Path
from typing import IO

from aiohttp import web

from maied import systemd
from maied.api.app import create_app
from maied.api.changes import ChangeNotifier
from maied.api.connections import cap_connections, runner_options
from maied.api.context import ApiContext, DaemonFacts
from maied.audio_marker import AudioDirMismatch, check_audio_dir
from maied.llm.factory import llm_startup_notes
from maied.logs import TaskEventLogger
from maied.pipeline.run import builtin_templates_dir
from maied.settings import Settings
from maied.store import TaskQueue, open_store
from maied.worker.supervisor import Supervisor

log = logging.getLogger(__name__)
SOCKET_MODE = 0o660
SWEEP_SECONDS = 60.0
SHARED_UPLOAD_GRACE_SECONDS = 3600.0
"""With a shared AUDIO_DIR, a folder without a row may be an upload another host is receiving: only
folders older than this are removed at start-up."""


class DaemonError(RuntimeError):
    """Start-up cannot go on (socket in use, another daemon on this state folder...)."""


def take_state_lock(settings: Settings) -> IO[str]:
    run_dir = settings.DATA_DIR / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / "maied.lock", "a+")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise DaemonError(f"another maied is already running on {settings.DATA_DIR}") from None
    return handle


def bind_unix_socket(path: Path) -> socket.socket:
    """Bind the API socket ourselves (run by hand), mode 0660 and group maie where that group exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or (path.exists() and not stat.S_ISSOCK(path.stat().st_mode)):
        raise DaemonError(f"API_SOCKET {path} exists and is not a socket: refusing to start (the file is left"
                          " as it is; move it or set API_SOCKET to another path)")
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            raise DaemonError(f"{path} is in use by another process (another maied?)")
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink()
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, SOCKET_MODE)
    with contextlib.suppress(KeyError, PermissionError):
        os.chown(path, -1, grp.getgrnam("maie").gr_gid)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def remove_unclaimed_uploads(settings: Settings, store: TaskQueue) -> list[str]:
    """Audio folders with no task row are uploads cut off by a kill of an earlier daemon (the row is
    written after the file): remove them. Run at start-up only, before the API takes any upload."""
    audio_dir = settings.audio_dir
    if not audio_dir.is_dir():
        return []
    known = store.task_ids()
    too_young = time.time() - SHARED_UPLOAD_GRACE_SECONDS if store.shared else None
    removed = []
    for folder in audio_dir.iterdir():
        if not folder.is_dir() or folder.is_symlink() or folder.name in known:
            continue
        if too_young is None or folder.stat().st_mtime < too_young:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    if removed:
        log.warning("removed %d unfinished upload(s) left by an earlier stop", len(removed))
    return removed


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.stopping = asyncio.Event()
        self.store = open_store(settings)
        self.supervisor = Supervisor(self.store, settings, on_status=self._status)
        self.runner: web.AppRunner | None = None
        self.owned_socket: Path | None = None
        self.supervising: asyncio.Future[None] | None = None

    def _status(self, line: str) -> None:
        systemd.notify(f"STATUS={line}")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.store.shared:
            try:
                check_audio_dir(self.store, self.settings.audio_dir)
            except AudioDirMismatch as exc:
                raise DaemonError(str(exc)) from None
        changes = ChangeNotifier(loop)
        self.store.add_listener(changes.on_change)
        self.store.add_listener(TaskEventLogger(self.store), remote=False)  # each host logs its own writes
        self.store.watch(loop)
        self.supervisor.recover()
        for note in llm_startup_notes(self.settings):
            log.warning("LLM: %s", note, extra={"event": "llm_startup_note"})
        remove_unclaimed_uploads(self.settings, self.store)
        self.store.expire_results(self.settings.RESULT_TTL)
        facts = DaemonFacts(
            worker_active=lambda: self.supervisor.running is not None,
            worker_healthy=self.supervisor.healthy,
            shutting_down=self.stopping.is_set,
            model_loads=lambda: dict(self.supervisor.model_loads),
            model_sharing=self.supervisor.sharing.to_dict,
            stopping=self.stopping,
            store_writable=lambda: self.supervisor.store_error is None,
            supervisor_alive=self._supervisor_alive,
        )
        ctx = ApiContext(self.settings, self.store, changes, facts, builtin_templates_dir())
        self.runner = web.AppRunner(create_app(ctx), handle_signals=False, access_log=None,
                                    **runner_options(self.settings))
        await self.runner.setup()
        assert self.runner.server is not None
        cap_connections(self.runner.server, self.settings.MAX_CONNECTIONS)
        await self._open_sites(self.runner)

    async def _open_sites(self, runner: web.AppRunner) -> None:
        activated = systemd.listen_sockets()
        if activated:
            for sock in activated:
                await web.SockSite(runner, sock).start()
            log.info("serving on %d socket(s) from systemd", len(activated))
        else:
            sock = bind_unix_socket(self.settings.API_SOCKET)
            self.owned_socket = self.settings.API_SOCKET
            await web.SockSite(runner, sock).start()
            log.info("serving on %s", self.settings.API_SOCKET)
        if self.settings.API_PORT is not None:
            await web.TCPSite(runner, self.settings.API_HOST, self.settings.API_PORT).start()
            log.info("serving on tcp %s:%d (API key required)", self.settings.API_HOST, self.settings.API_PORT)

    async def run(self) -> None:
        await self.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        worker = self.supervising = asyncio.ensure_future(self.supervisor.run_forever())
        helpers = [asyncio.ensure_future(self._watchdog()), asyncio.ensure_future(self._sweep())]
        systemd.notify("READY=1", "STATUS=" + self.supervisor.status_line())
        log.info("maied ready", extra={"event": "ready", "pid": os.getpid()})
        await self.stopping.wait()
        systemd.notify("STOPPING=1", "STATUS=stopping")
        log.info("stopping: letting the running stage finish (up to %.0f s)", self.settings.SHUTDOWN_GRACE_SECONDS)
        await self.supervisor.shutdown(self.settings.SHUTDOWN_GRACE_SECONDS)
        await worker
        for task in helpers:
            task.cancel()
        await self.close()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.owned_socket is not None:
            with contextlib.suppress(OSError):
                self.owned_socket.unlink()
        self.store.close()
        log.info("maied stopped", extra={"event": "stopped"})

    def _supervisor_alive(self) -> bool:
        return self.supervising is None or not self.supervising.done() or self.stopping.is_set()

    async def _watchdog(self) -> None:
        """WATCHDOG=1 while the event loop runs, the supervisor runs and the worker child answers its
        heartbeat (a store that refuses writes is reported by /health; the supervisor retries by itself)."""
        interval = systemd.watchdog_interval()
        if interval is None:
            return
        while True:
            if not self._supervisor_alive():
                log.error("the supervisor has stopped: withholding the watchdog ping")
            elif self.supervisor.healthy():
                systemd.notify("WATCHDOG=1")
            else:
                log.error("worker child does not answer its heartbeat: withholding the watchdog ping")
            await asyncio.sleep(interval)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            with contextlib.suppress(Exception), self.store.maintenance_lock("expire-results") as mine:
                expired = self.store.expire_results(self.settings.RESULT_TTL) if mine else []
                if expired:
                    log.info("results expired for %d task(s)", len(expired))


def serve(settings: Settings) -> None:
    lock = take_state_lock(settings)
    try:
        asyncio.run(Daemon(settings).run())
    finally:
        lock.close()
